import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import Markdown, { renderMarkdown } from './markdown';

describe('Markdown from users', () => {
  it('renders headings, lists and code blocks, keeping indentation', () => {
    const html = renderMarkdown('# Title\n\n- one\n- two\n\nThen:\n\n    $ pip install coursegraph\n');
    // Under the page's own h1.
    expect(html).toContain('<h2>Title</h2>');
    expect(html).toContain('<li>one</li>');
    expect(html).toContain('<pre><code>$ pip install coursegraph');
  });

  it('never runs scripts or event handlers from content', () => {
    const source = [
      '<script>window.pwned = 1</script>',
      '<img src="x" onerror="window.pwned = 2">',
      '[click](javascript:window.pwned=3)',
      '<a href="#" onclick="window.pwned=4">a</a>',
      '<iframe src="https://example.com"></iframe>',
      '<svg><script>window.pwned = 5</script></svg>',
    ].join('\n\n');
    const { container } = render(<Markdown source={source} />);
    const html = container.innerHTML;
    expect(html).not.toMatch(/<script|onerror|onclick|javascript:|<iframe/i);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('drops a leading heading that repeats the page title, and renders prompts inline', () => {
    expect(renderMarkdown('# Loops\n\nA `for` loop.', { title: 'Loops' })).toBe('<p>A <code>for</code> loop.</p>\n');
    expect(renderMarkdown('# Other\n\ntext', { title: 'Loops' })).toContain('<h2>Other</h2>');
    expect(renderMarkdown('What does `area(2)` return?', { inline: true })).toBe('What does <code>area(2)</code> return?');
  });

  it('opens links in a new tab without handing over the window', () => {
    const html = renderMarkdown('[docs](https://example.com/docs)');
    expect(html).toContain('target="_blank"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
  });
});

import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { MarkdownEditor } from './MarkdownEditor';
import { moved, ReorderList } from './ReorderList';

// Vitest runs without globals, so Testing Library cannot unmount between tests by itself.
afterEach(cleanup);

interface Item {
  id: string;
  title: string;
}

const start: Item[] = [
  { id: 'a', title: 'Variables' },
  { id: 'b', title: 'Loops' },
  { id: 'c', title: 'Functions' },
];

/** The list as a page holds it: the order it saves is the order it shows. */
function Lessons({ saved }: { saved: string[][] }) {
  const [items, setItems] = useState(start);
  return (
    <ReorderList
      items={items}
      noun="lesson"
      keyOf={(i) => i.id}
      labelOf={(i) => i.title}
      onReorder={(next) => {
        saved.push(next.map((i) => i.id));
        setItems(next);
      }}
      renderItem={(i) => <span>{i.title}</span>}
    />
  );
}

const order = () => screen.getAllByRole('listitem').map((li) => li.textContent?.replace(/[^A-Za-z]/g, ''));

describe('Reordering', () => {
  it('moves an item with the keyboard and announces where it went', async () => {
    const user = userEvent.setup({ delay: null });
    const saved: string[][] = [];
    render(<Lessons saved={saved} />);
    // The first item cannot go up, the last cannot go down.
    expect(screen.getByRole('button', { name: 'Move lesson “Variables” up' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Move lesson “Functions” down' })).toBeDisabled();

    screen.getByRole('button', { name: 'Move lesson “Functions” up' }).focus();
    await user.keyboard('{Enter}');
    expect(saved).toEqual([['a', 'c', 'b']]);
    expect(order()).toEqual(['Variables', 'Functions', 'Loops']);
    expect(screen.getByText('Functions moved to position 2 of 3.')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Move lesson “Variables” down' }));
    expect(saved.at(-1)).toEqual(['c', 'a', 'b']);
  });

  it('moves an item by drag and drop', () => {
    const saved: string[][] = [];
    render(<Lessons saved={saved} />);
    const [first, , last] = screen.getAllByRole('listitem');
    fireEvent.dragStart(first, { dataTransfer: { effectAllowed: '', setData: () => {} } });
    fireEvent.dragOver(last);
    fireEvent.drop(last);
    expect(saved).toEqual([['b', 'c', 'a']]);
    expect(order()).toEqual(['Loops', 'Functions', 'Variables']);
  });

  it('keeps the list when a move goes nowhere', () => {
    expect(moved(start, 0, -1)).toBe(start);
    expect(moved(start, 2, 3)).toBe(start);
    expect(moved(start, 1, 1)).toBe(start);
    expect(moved(start, 0, 2).map((i) => i.id)).toEqual(['b', 'c', 'a']);
  });
});

function Editor({ initial = '' }: { initial?: string }) {
  const [value, setValue] = useState(initial);
  return <MarkdownEditor label="Lesson text" value={value} onChange={setValue} />;
}

describe('The Markdown editor', () => {
  it('previews as you type, sanitized', async () => {
    const user = userEvent.setup({ delay: null });
    render(<Editor />);
    const preview = screen.getByRole('region', { name: 'Lesson text: preview' });
    expect(preview).toHaveTextContent('The preview appears here as you type.');

    const textarea = screen.getByRole('textbox', { name: 'Lesson text' });
    await user.type(textarea, '## Loops{enter}{enter}A **for** loop.');
    // Content headings sit under the page's own (## becomes h3).
    expect(await within(preview).findByRole('heading', { name: 'Loops', level: 3 })).toBeInTheDocument();
    expect(preview.querySelector('strong')).toHaveTextContent('for');

    // Markup from an author never runs in the preview.
    fireEvent.change(textarea, {
      target: { value: '<img src="x" onerror="window.pwned = 1">\n\n<script>window.pwned = 2</script>\n\n[x](javascript:window.pwned=3)' },
    });
    await waitFor(() => expect(preview.querySelector('img')).not.toBeNull());
    expect(preview.innerHTML).not.toMatch(/onerror|<script|javascript:/i);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('shows a field error beside the text', () => {
    render(<MarkdownEditor label="Lesson text" value="x" onChange={() => {}} error="Too long." />);
    expect(screen.getByRole('textbox', { name: 'Lesson text' })).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByRole('textbox', { name: 'Lesson text' })).toHaveAccessibleDescription('Too long.');
  });
});

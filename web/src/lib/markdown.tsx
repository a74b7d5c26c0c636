// Markdown from users (lessons, exercises, feedback) rendered sanitized: DOMPurify removes every script,
// event handler and javascript: URL that the Markdown could carry. Loaded lazily with the pages using it.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const marked = new Marked({ gfm: true, breaks: false, async: false });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Links open in a new tab without handing our window to the target.
  if (node.tagName === 'A' && node.getAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

export interface RenderOptions {
  /** Inline text (a question's prompt): no wrapping paragraph. */
  inline?: boolean;
  /** Drop a leading heading that repeats this title (the page shows it already as its h1). */
  title?: string;
}

export function renderMarkdown(source: string, { inline = false, title }: RenderOptions = {}): string {
  let text = source;
  if (title) text = text.replace(new RegExp(`^\\s*#{1,2}\\s+${escapeRegExp(title.trim())}\\s*(\\n|$)`), '');
  const html = (inline ? marked.parseInline(text) : marked.parse(text)) as string;
  // Content headings sit under the page's own h1: # becomes h2, and so on.
  const demoted = html.replace(/<(\/?)h([1-5])(\s|>)/g, (_, slash, level, rest) => `<${slash}h${Number(level) + 1}${rest}`);
  return DOMPurify.sanitize(demoted, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'] });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export default function Markdown({ source, className, inline, title }: { source: string; className?: string } & RenderOptions) {
  const html = renderMarkdown(source, { inline, title });
  if (inline) return <span className={`markdown ${className ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
  return <div className={`markdown ${className ?? ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}

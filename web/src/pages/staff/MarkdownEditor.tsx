// A Markdown field with a live preview beside it (below it on a phone), rendered exactly as students see
// it: sanitized by src/lib/markdown.
import { lazy, Suspense, useId } from 'react';

// Its own chunk, as on the student pages (marked and DOMPurify load with the first preview).
const Markdown = lazy(() => import('../../lib/markdown'));

export interface MarkdownEditorProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  rows?: number;
}

export function MarkdownEditor({ label, value, onChange, error, rows = 12 }: MarkdownEditorProps) {
  const id = useId();
  return (
    <div className={`field markdown-editor${error ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <div className="markdown-editor__panes">
        <textarea
          id={id}
          rows={rows}
          value={value}
          spellCheck
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(event) => onChange(event.target.value)}
        />
        <section className="markdown-editor__preview" aria-label={`${label}: preview`}>
          {value.trim() ? (
            <Suspense fallback={<p className="muted">Loading the preview…</p>}>
              <Markdown source={value} />
            </Suspense>
          ) : (
            <p className="muted">The preview appears here as you type.</p>
          )}
        </section>
      </div>
      {error && (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

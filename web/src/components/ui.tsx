// Small building blocks shared by every page: fields with their errors, banners, skeletons, empty states.
import { useId, type InputHTMLAttributes, type ReactNode, type TextareaHTMLAttributes } from 'react';
import { Link, useRouteError } from 'react-router';
import type { Problem } from '../lib/errors';

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  error?: string;
  hint?: string;
}

export function Field({ label, error, hint, id, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const describedBy = [hint && `${inputId}-hint`, error && `${inputId}-error`].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      {hint && (
        <p className="field__hint" id={`${inputId}-hint`}>
          {hint}
        </p>
      )}
      <input id={inputId} aria-invalid={error ? true : undefined} aria-describedby={describedBy || undefined} {...input} />
      {error && (
        <p className="field__error" id={`${inputId}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

interface TextAreaFieldProps extends TextareaHTMLAttributes<HTMLTextAreaElement> {
  label: string;
  error?: string;
}

export function TextAreaField({ label, error, id, ...textarea }: TextAreaFieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  return (
    <div className={`field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <textarea
        id={inputId}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${inputId}-error` : undefined}
        {...textarea}
      />
      {error && (
        <p className="field__error" id={`${inputId}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Banner({ tone = 'error', children }: { tone?: 'error' | 'info' | 'success' | 'warning'; children: ReactNode }) {
  return (
    <div className={`banner banner--${tone}`} role={tone === 'error' || tone === 'warning' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function Skeleton({ lines = 3, label = 'Loading' }: { lines?: number; label?: string }) {
  return (
    <div className="skeleton" role="status" aria-label={label} aria-busy="true">
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton__line" style={{ width: `${90 - ((i * 17) % 40)}%` }} />
      ))}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty__title">{title}</p>
      {children}
    </div>
  );
}

/** A failed page load: a clear page for no access, the request id for anything unexpected. */
export function ProblemView({ problem, retry }: { problem: Problem; retry?: () => void }) {
  if (problem.kind === 'forbidden') {
    return (
      <section className="problem" aria-labelledby="problem-title">
        <h1 id="problem-title">You don’t have access to this page</h1>
        <p>{problem.message}</p>
        <p>
          If you think you should, ask an administrator of your organization. <Link to="/">Back to your dashboard</Link>
        </p>
      </section>
    );
  }
  if (problem.kind === 'not-found') return <NotFound />;
  return (
    <section className="problem" aria-labelledby="problem-title">
      <h1 id="problem-title">{problem.kind === 'network' ? 'Can’t reach CourseGraph' : 'Something went wrong'}</h1>
      <p>{problem.message}</p>
      {problem.requestId && (
        <p className="problem__request">
          Request id: <code>{problem.requestId}</code> (quote it if you contact support)
        </p>
      )}
      {retry && (
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      )}
    </section>
  );
}

export function NotFound() {
  return (
    <section className="problem" aria-labelledby="problem-title">
      <h1 id="problem-title">Page not found</h1>
      <p>
        There is nothing here. <Link to="/">Go to your dashboard</Link>
      </p>
    </section>
  );
}

export function Progress({ value, label }: { value: number; label: string }) {
  return (
    <div className="progress">
      <div
        className="progress__bar"
        role="progressbar"
        aria-label={label}
        aria-valuenow={value}
        aria-valuemin={0}
        aria-valuemax={100}
      >
        <div className="progress__fill" style={{ width: `${value}%` }} />
      </div>
      <span className="progress__text">{value}%</span>
    </div>
  );
}

/** Shown when a page throws while rendering: a way back, never the framework's developer page. */
export function PageCrashed() {
  const error = useRouteError();
  console.error(error);
  return (
    <main id="main" className="page">
      <ProblemView
        problem={{ kind: 'unexpected', message: 'This page ran into a problem it could not handle. Reloading usually helps.' }}
        retry={() => window.location.reload()}
      />
    </main>
  );
}

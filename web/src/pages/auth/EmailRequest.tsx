// One page shape for "mail me a link": forgot password and resend confirmation.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { Banner, Field } from '../../components/ui';
import { fieldErrorMap, problemOf, retryText, typedError } from '../../lib/errors';
import type { CombinedError } from 'urql';

interface Answer {
  __typename?: string;
  message?: string;
}

export function EmailRequest({
  title,
  intro,
  sentText,
  submitLabel,
  send,
  result,
}: {
  title: string;
  intro: string;
  sentText: string;
  submitLabel: string;
  send: (email: string) => void;
  result: { fetching: boolean; data?: Answer | null; error?: CombinedError };
}) {
  const [email, setEmail] = useState('');
  const error = typedError(result.data);
  const fields = fieldErrorMap(error);
  const problem = problemOf(result.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send(email.trim());
  };
  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">{title}</h1>
      {result.data?.__typename === 'MessageSuccess' ? (
        <Banner tone="success">{sentText}</Banner>
      ) : (
        <>
          <p>{intro}</p>
          {error?.__typename === 'RateLimitedError' && <Banner>{`${error.message} ${retryText(error.retryAfterSeconds)}`}</Banner>}
          {problem && <Banner>{problem.message}</Banner>}
          <form onSubmit={submit} noValidate>
            <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
            <button type="submit" className="button button--primary button--block" disabled={result.fetching}>
              {submitLabel}
            </button>
          </form>
        </>
      )}
      <p className="auth__links">
        <Link to="/sign-in">Back to sign in</Link>
      </p>
    </section>
  );
}

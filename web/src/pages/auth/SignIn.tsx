import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { safeNext } from '../../app/layouts';
import { Banner, Field } from '../../components/ui';
import { fieldErrorMap, retryText, type TypedError } from '../../lib/errors';
import { session, SessionError } from '../../lib/session';
import { useTitle } from '../../lib/useTitle';

export default function SignIn() {
  useTitle('Sign in');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<TypedError | null>(null);
  const [busy, setBusy] = useState(false);
  const fields = fieldErrorMap(error);
  const next = safeNext(params.get('next'));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(
        err instanceof SessionError
          ? err.error
          : { __typename: 'UnexpectedError', code: 'NETWORK', message: 'The server could not be reached.' },
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">Sign in</h1>
      {params.get('ended') && !error && <Banner tone="info">Your session ended. Sign in again to continue.</Banner>}
      {error && error.__typename !== 'ValidationError' && (
        <Banner>
          {error.__typename === 'InvalidCredentialsError'
            ? 'That email and password do not match an active account.'
            : error.__typename === 'RateLimitedError'
              ? `Too many attempts. ${retryText(error.retryAfterSeconds)}`
              : error.message}
        </Banner>
      )}
      <form onSubmit={submit} noValidate>
        <Field label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.password}
        />
        <button type="submit" className="button button--primary button--block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="auth__links">
        <Link to="/forgot-password">Forgot your password?</Link>
        <Link to={`/register${params.get('next') ? `?next=${encodeURIComponent(next)}` : ''}`}>Create an account</Link>
        <Link to="/resend-verification">Resend the confirmation email</Link>
      </p>
    </section>
  );
}

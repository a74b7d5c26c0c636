import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { Banner, Field } from '../../components/ui';
import { graphql } from '../../gql';
import { fieldErrorMap, problemOf, retryText, typedError } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';

const RegisterMutation = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      __typename
      ... on MessageSuccess { message }
      ...ErrorFields
    }
  }
`);

export default function Register() {
  useTitle('Create an account');
  const [params] = useSearchParams();
  const [fullName, setFullName] = useState('');
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [result, register] = useMutation(RegisterMutation);
  const answer = result.data?.register;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const problem = problemOf(result.error);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void register({ input: { fullName: fullName.trim(), email: email.trim(), password } });
  };

  if (answer?.__typename === 'MessageSuccess') {
    return (
      <section className="card auth" aria-labelledby="title">
        <h1 id="title">Check your inbox</h1>
        <p>
          We sent a confirmation link to <strong>{email}</strong>. Open it to confirm your address, then sign in.
        </p>
        <p className="auth__links">
          <Link to={`/sign-in?email=${encodeURIComponent(email)}${params.get('next') ? `&next=${encodeURIComponent(params.get('next')!)}` : ''}`}>
            Go to sign in
          </Link>
          <Link to="/resend-verification">Didn’t get it? Send it again</Link>
        </p>
      </section>
    );
  }

  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">Create your account</h1>
      {error?.__typename === 'RateLimitedError' && <Banner>Too many sign-ups from here. {retryText(error.retryAfterSeconds)}</Banner>}
      {error?.__typename === 'ValidationError' && fields[''] && <Banner>{fields['']}</Banner>}
      {problem && <Banner>{problem.message}</Banner>}
      <form onSubmit={submit} noValidate>
        <Field label="Full name" autoComplete="name" required value={fullName} onChange={(e) => setFullName(e.target.value)} error={fields.fullName} />
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 10 characters. A long passphrase is best."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.password}
        />
        <button type="submit" className="button button--primary button--block" disabled={result.fetching}>
          {result.fetching ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p className="auth__links">
        <Link to="/sign-in">I already have an account</Link>
      </p>
    </section>
  );
}

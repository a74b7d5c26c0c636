import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { Banner, Field } from '../../components/ui';
import { graphql } from '../../gql';
import { fieldErrorMap, problemOf, typedError } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';

const ResetPasswordMutation = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      __typename
      ... on MessageSuccess { message }
      ...ErrorFields
    }
  }
`);

export default function ResetPassword() {
  useTitle('Choose a new password');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const [result, reset] = useMutation(ResetPasswordMutation);
  const answer = result.data?.resetPassword;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const problem = problemOf(result.error);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMismatch(password !== confirm);
    if (password === confirm) void reset({ input: { token, newPassword: password } });
  };

  if (answer?.__typename === 'MessageSuccess') {
    return (
      <section className="card auth" aria-labelledby="title">
        <h1 id="title">Password changed</h1>
        <Banner tone="success">Your password is changed and every other session was signed out.</Banner>
        <p className="auth__links">
          <Link to="/sign-in">Sign in with your new password</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">Choose a new password</h1>
      {!token && <Banner>This link is incomplete. Open the link from the mail again.</Banner>}
      {error?.__typename === 'InvalidTokenError' && (
        <Banner>
          This reset link has expired or was already used. <Link to="/forgot-password">Ask for a new one</Link>.
        </Banner>
      )}
      {problem && <Banner>{problem.message}</Banner>}
      <form onSubmit={submit} noValidate>
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 10 characters. A long passphrase is best."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.newPassword}
        />
        <Field
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          required
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          error={mismatch ? 'The two passwords differ.' : undefined}
        />
        <button type="submit" className="button button--primary button--block" disabled={result.fetching || !token}>
          Change password
        </button>
      </form>
    </section>
  );
}

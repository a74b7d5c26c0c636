import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { Banner, Field, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import { fieldErrorMap, problemOf, retryText, typedError } from '../../lib/errors';
import { session } from '../../lib/session';
import { useTitle } from '../../lib/useTitle';

const AccountQuery = graphql(`
  query Account {
    me { id fullName email emailVerified role createdAt lastLoginAt }
  }
`);

const ChangePasswordMutation = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      __typename
      ... on MessageSuccess { message }
      ...ErrorFields
    }
  }
`);

export default function Account() {
  useTitle('Your account');
  const navigate = useNavigate();
  const [{ data }] = useQuery({ query: AccountQuery });
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [result, change] = useMutation(ChangePasswordMutation);
  const answer = result.data?.changePassword;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const problem = problemOf(result.error);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await change({ input: { currentPassword: current, newPassword: next } });
    if (done.data?.changePassword.__typename === 'MessageSuccess') {
      setCurrent('');
      setNext('');
    }
  };
  const signOutEverywhere = async () => {
    await session.signOut(true);
    navigate('/sign-in', { replace: true });
  };

  return (
    <div className="stack-lg">
      <h1>Your account</h1>
      <section className="card" aria-labelledby="profile">
        <h2 id="profile">Profile</h2>
        {!data?.me ? (
          <Skeleton lines={3} />
        ) : (
          <dl className="facts">
            <dt>Name</dt>
            <dd>{data.me.fullName}</dd>
            <dt>Email</dt>
            <dd>
              {data.me.email} {data.me.emailVerified ? '(confirmed)' : '(not confirmed yet)'}
            </dd>
            <dt>Platform role</dt>
            <dd>{data.me.role.toLowerCase().replace('_', ' ')}</dd>
          </dl>
        )}
      </section>
      <section className="card" aria-labelledby="password">
        <h2 id="password">Change your password</h2>
        {answer?.__typename === 'MessageSuccess' && <Banner tone="success">Password changed. Your other sessions were signed out.</Banner>}
        {error?.__typename === 'InvalidCredentialsError' && <Banner>Your current password is not right.</Banner>}
        {error?.__typename === 'RateLimitedError' && <Banner>{`Too many attempts. ${retryText(error.retryAfterSeconds)}`}</Banner>}
        {problem && <Banner>{problem.message}</Banner>}
        <form onSubmit={submit} noValidate className="narrow">
          <Field
            label="Current password"
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            error={fields.currentPassword}
          />
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            hint="At least 10 characters. A long passphrase is best."
            value={next}
            onChange={(e) => setNext(e.target.value)}
            error={fields.newPassword}
          />
          <button type="submit" className="button button--primary" disabled={result.fetching}>
            Change password
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="sessions">
        <h2 id="sessions">Sessions</h2>
        <p>Signed in on a shared or lost device? Sign out everywhere, this browser included.</p>
        <button type="button" className="button" onClick={signOutEverywhere}>
          Sign out everywhere
        </button>
      </section>
    </div>
  );
}

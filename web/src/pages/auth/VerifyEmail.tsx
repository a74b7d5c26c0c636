import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { useSession } from '../../app/session-context';
import { Banner, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import { problemOf } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';

const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      __typename
      ... on UserSuccess { user { id email emailVerified } }
      ...ErrorFields
    }
  }
`);

export default function VerifyEmail() {
  useTitle('Confirm your email');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const state = useSession();
  const [result, verify] = useMutation(VerifyEmailMutation);
  const sent = useRef(false);
  useEffect(() => {
    // Once: the token is single-use (StrictMode runs effects twice in development).
    if (token && !sent.current) {
      sent.current = true;
      void verify({ input: { token } });
    }
  }, [token, verify]);
  const answer = result.data?.verifyEmail;
  const problem = problemOf(result.error);

  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">Confirm your email</h1>
      {!token && <Banner>This link is incomplete. Open the link from the mail again, or ask for a new one.</Banner>}
      {token && !answer && !problem && <Skeleton lines={2} label="Confirming your address" />}
      {answer?.__typename === 'UserSuccess' && <Banner tone="success">Your email address is confirmed. Welcome to CourseGraph!</Banner>}
      {answer && answer.__typename !== 'UserSuccess' && (
        <Banner>This confirmation link has expired or was already used. Ask for a new one below.</Banner>
      )}
      {problem && <Banner>{problem.message}</Banner>}
      <p className="auth__links">
        {state.status === 'signed-in' ? <Link to="/">Go to your dashboard</Link> : <Link to="/sign-in">Sign in</Link>}
        {answer?.__typename !== 'UserSuccess' && <Link to="/resend-verification">Send a new confirmation link</Link>}
      </p>
    </section>
  );
}

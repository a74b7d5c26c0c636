import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { useSession } from '../../app/session-context';
import { Banner } from '../../components/ui';
import { graphql } from '../../gql';
import { problemOf, typedError } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';

const AcceptInvitationMutation = graphql(`
  mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      __typename
      ... on MembershipSuccess { membership { id role organization { id name slug } } }
      ...ErrorFields
    }
  }
`);

const ROLE_NAMES: Record<string, string> = {
  STUDENT: 'a student',
  INSTRUCTOR: 'an instructor',
  ORGANIZATION_ADMIN: 'an organization admin',
};

export default function AcceptInvitation() {
  useTitle('Accept your invitation');
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const email = params.get('email') ?? '';
  const state = useSession();
  const [result, accept] = useMutation(AcceptInvitationMutation);
  const answer = result.data?.acceptInvitation;
  const error = typedError(answer);
  const problem = problemOf(result.error);
  const here = `/invitations/accept?${params.toString()}`;
  const withEmail = email ? `&email=${encodeURIComponent(email)}` : '';

  if (!token) {
    return (
      <section className="card auth" aria-labelledby="title">
        <h1 id="title">Invitation</h1>
        <Banner>This invitation link is incomplete. Open the link from the mail again.</Banner>
      </section>
    );
  }
  if (state.status !== 'signed-in') {
    return (
      <section className="card auth" aria-labelledby="title">
        <h1 id="title">You’re invited to CourseGraph</h1>
        <p>
          Sign in{email && <> as <strong>{email}</strong></>} to accept the invitation, or create an account first. New
          accounts confirm their email address before joining.
        </p>
        <div className="stack">
          <Link className="button button--primary button--block" to={`/sign-in?next=${encodeURIComponent(here)}${withEmail}`}>
            Sign in to accept
          </Link>
          <Link className="button button--block" to={`/register?next=${encodeURIComponent(here)}${withEmail}`}>
            Create an account
          </Link>
        </div>
      </section>
    );
  }
  if (answer?.__typename === 'MembershipSuccess') {
    const { membership } = answer;
    return (
      <section className="card auth" aria-labelledby="title">
        <h1 id="title">Welcome to {membership.organization.name}</h1>
        <Banner tone="success">
          You joined {membership.organization.name} as {ROLE_NAMES[membership.role] ?? membership.role}.
        </Banner>
        <p className="auth__links">
          <Link to="/catalog">Browse its courses</Link>
          <Link to="/">Go to your dashboard</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="card auth" aria-labelledby="title">
      <h1 id="title">Join an organization</h1>
      <p>Someone invited you to join their organization on CourseGraph.</p>
      {error && (
        <Banner>
          {error.__typename === 'InvalidInvitationError'
            ? 'This invitation has expired, was replaced by a newer one, or was already used. Ask for a new invitation.'
            : error.message}
        </Banner>
      )}
      {problem && <Banner>{problem.message}</Banner>}
      <button
        type="button"
        className="button button--primary button--block"
        disabled={result.fetching}
        onClick={() => void accept({ input: { token } })}
      >
        Accept the invitation
      </button>
    </section>
  );
}

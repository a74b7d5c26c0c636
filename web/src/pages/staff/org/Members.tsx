// An organization's members: filter by role, invite with a role, resend or cancel pending invitations, change
// a role, remove (the server refuses to remove or demote the last admin, and says so here).
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { MembershipRole } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type TypedError } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { organizationLinks, SectionNav } from '../StaffNav';
import { useOrganization } from './useOrganization';

const MembersQuery = graphql(`
  query OrganizationMembers($organizationId: ID!, $role: MembershipRole, $after: String) {
    members(organizationId: $organizationId, first: 50, after: $after, filter: { role: $role }) {
      nodes { id role joinedAt user { id fullName email } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const InviteMember = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      __typename
      ... on InviteMemberSuccess { invitation { id email role expiresAt } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

const UpdateMemberRole = graphql(`
  mutation UpdateMemberRole($input: UpdateMemberRoleInput!) {
    updateMemberRole(input: $input) {
      __typename
      ... on MembershipSuccess { membership { id role } }
      ... on Error { code message }
    }
  }
`);

const RemoveMember = graphql(`
  mutation RemoveMember($input: RemoveMemberInput!) {
    removeMember(input: $input) {
      __typename
      ... on MembershipSuccess { membership { id } }
      ... on Error { code message }
    }
  }
`);

const PendingInvitations = graphql(`
  query PendingInvitations($organizationId: ID!) {
    invitations(organizationId: $organizationId, first: 100) { nodes { id email role createdAt expiresAt } }
  }
`);

const ResendInvitation = graphql(`
  mutation ResendInvitation($input: InvitationIdInput!) {
    resendInvitation(input: $input) {
      __typename
      ... on InviteMemberSuccess { invitation { id email expiresAt } }
      ...ErrorFields
    }
  }
`);

const CancelInvitation = graphql(`
  mutation CancelInvitation($input: InvitationIdInput!) {
    cancelInvitation(input: $input) {
      __typename
      ... on InviteMemberSuccess { invitation { id email } }
      ...ErrorFields
    }
  }
`);

export const MEMBERSHIP_ROLES: { value: MembershipRole; label: string }[] = [
  { value: 'STUDENT', label: 'Student' },
  { value: 'INSTRUCTOR', label: 'Instructor' },
  { value: 'ORGANIZATION_ADMIN', label: 'Organization admin' },
];

export default function MembersPage() {
  const { slug = '' } = useParams();
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <Members slug={slug} />
    </RequireAccess>
  );
}

function Members({ slug }: { slug: string }) {
  const organization = useOrganization(slug);
  const [invited, setInvited] = useState(0);
  useTitle(organization.data ? `Members of ${organization.data.name}` : 'Members');
  if (!organization.data) return organization.fallback;
  return (
    <div className="stack-lg">
      <h1>Members of {organization.data.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <Invite organizationId={organization.data.id} onInvited={() => setInvited((n) => n + 1)} />
      <Invitations organizationId={organization.data.id} version={invited} />
      <MemberList organizationId={organization.data.id} />
    </div>
  );
}

function MemberList({ organizationId }: { organizationId: string }) {
  const [role, setRole] = useState<MembershipRole | ''>('');
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: MembersQuery, variables: { organizationId, role: role || null, after } });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const problem = problemOf(error);
  const members = data?.members;
  return (
    <section className="card" aria-labelledby="member-list">
      <h2 id="member-list">Members</h2>
      <div className="filters">
        <div className="field">
          <label htmlFor="member-role-filter">Filter by role</label>
          <select
            id="member-role-filter"
            value={role}
            onChange={(e) => {
              setRole(e.target.value as MembershipRole | '');
              setAfter(null);
            }}
          >
            <option value="">Every role</option>
            {MEMBERSHIP_ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {!members ? (
        problem && !fetching ? <ProblemView problem={problem} retry={reload} /> : <Skeleton lines={6} label="Loading the members" />
      ) : members.nodes.length === 0 ? (
        <Empty title="No member with this role." />
      ) : (
        <div className="table-scroll">
<table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Joined</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.nodes.map((member) => (
              <MemberRow key={member.id} organizationId={organizationId} member={member} onRemoved={reload} />
            ))}
          </tbody>
        </table>
</div>
      )}
      {members && (
        <div className="pager">
          {after && (
            <button type="button" className="button button--small" onClick={() => setAfter(null)}>
              First page
            </button>
          )}
          {members.pageInfo.hasNextPage && (
            <button type="button" className="button button--small" onClick={() => setAfter(members.pageInfo.endCursor ?? null)}>
              Next page
            </button>
          )}
        </div>
      )}
    </section>
  );
}

type Member = import('../../../gql/graphql').OrganizationMembersQuery['members']['nodes'][number];

function MemberRow({ organizationId, member, onRemoved }: { organizationId: string; member: Member; onRemoved: () => void }) {
  const toast = useToast();
  const [role, setRole] = useState<MembershipRole>(member.role);
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const [updating, update] = useMutation(UpdateMemberRole);
  const [removing, remove] = useMutation(RemoveMember);
  const name = member.user.fullName;
  const changeRole = async () => {
    const done = await update({ input: { organizationId, userId: member.user.id, role } });
    const error = typedError(done.data?.updateMemberRole) ?? problemAsError(done.error);
    setRefusal(error);
    if (error) setRole(member.role);
    else toast(`${name} is now ${MEMBERSHIP_ROLES.find((r) => r.value === role)?.label.toLowerCase()}.`, 'success');
  };
  const removeMember = async () => {
    if (!window.confirm(`Remove ${name} from the organization?`)) return;
    const done = await remove({ input: { organizationId, userId: member.user.id } });
    const error = typedError(done.data?.removeMember) ?? problemAsError(done.error);
    setRefusal(error);
    if (!error) {
      toast(`${name} was removed.`, 'success');
      onRemoved();
    }
  };
  return (
    <tr>
      <td>
        {name}
        {member.user.email && <span className="muted"> {member.user.email}</span>}
        {refusal && (
          <div className="field__error" role="alert">
            {refusal.message}
          </div>
        )}
      </td>
      <td>{dateTime(member.joinedAt)}</td>
      <td>
        <div className="inline">
          <label className="sr-only" htmlFor={`role-${member.id}`}>
            Role of {name}
          </label>
          <select id={`role-${member.id}`} value={role} onChange={(e) => setRole(e.target.value as MembershipRole)}>
            {MEMBERSHIP_ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          {role !== member.role && (
            <button type="button" className="button button--small" disabled={updating.fetching} onClick={changeRole}>
              Save role
            </button>
          )}
        </div>
      </td>
      <td>
        <button type="button" className="button button--small button--danger" disabled={removing.fetching} onClick={removeMember} aria-label={`Remove ${name}`}>
          Remove
        </button>
      </td>
    </tr>
  );
}

function problemAsError(error: Parameters<typeof problemOf>[0]): TypedError | null {
  const problem = problemOf(error);
  return problem ? { __typename: 'Problem', code: problem.kind, message: problem.message } : null;
}

function Invite({ organizationId, onInvited }: { organizationId: string; onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MembershipRole>('STUDENT');
  const [result, invite] = useMutation(InviteMember);
  const answer = result.data?.inviteMember;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await invite({ input: { organizationId, email, role } });
    if (done.data?.inviteMember.__typename === 'InviteMemberSuccess') {
      setEmail('');
      onInvited();
    }
  };
  return (
    <section className="card" aria-labelledby="invite">
      <h2 id="invite">Invite someone</h2>
      {answer?.__typename === 'InviteMemberSuccess' && (
        <Banner tone="success">
          Invitation mailed to {answer.invitation.email}; the link works until {dateTime(answer.invitation.expiresAt)}. Inviting the
          same address again mails a new link.
        </Banner>
      )}
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="inline">
        <Field label="Email" type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as MembershipRole)}>
            {MEMBERSHIP_ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button--primary" disabled={result.fetching || !email.trim()}>
          Send invitation
        </button>
      </form>
    </section>
  );
}

/** Invitations not accepted yet: resend (a new link; the old one stops working) or cancel. */
function Invitations({ organizationId, version }: { organizationId: string; version: number }) {
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: PendingInvitations, variables: { organizationId } });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useEffect(() => {
    if (version) reload();
  }, [version, reload]);
  const [resending, resend] = useMutation(ResendInvitation);
  const [cancelling, cancel] = useMutation(CancelInvitation);
  const [refusal, setRefusal] = useState<string | null>(null);
  const now = Date.now();
  const act = async (kind: 'resend' | 'cancel', id: string, email: string) => {
    if (kind === 'cancel' && !window.confirm(`Cancel the invitation of ${email}?`)) return;
    const done = kind === 'resend' ? await resend({ input: { invitationId: id } }) : await cancel({ input: { invitationId: id } });
    const answer = done.data ? (Object.values(done.data)[0] as { __typename: string }) : null;
    const failed = typedError(answer) ?? problemAsError(done.error);
    setRefusal(failed?.message ?? null);
    if (!failed) {
      toast(kind === 'resend' ? `A new link was mailed to ${email}.` : `The invitation of ${email} was cancelled.`, 'success');
      reload();
    }
  };
  const invitations = data?.invitations.nodes;
  return (
    <section className="card" aria-labelledby="pending-invitations">
      <h2 id="pending-invitations">Pending invitations</h2>
      {refusal && <Banner>{refusal}</Banner>}
      {!invitations ? (
        error && !fetching ? <ProblemView problem={problemOf(error)!} retry={reload} /> : <Skeleton lines={3} label="Loading the invitations" />
      ) : invitations.length === 0 ? (
        <p className="muted">No invitation is waiting for an answer.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Sent</th>
                <th scope="col">Link works until</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invitations.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{MEMBERSHIP_ROLES.find((r) => r.value === i.role)?.label}</td>
                  <td>{dateTime(i.createdAt)}</td>
                  <td>{Date.parse(i.expiresAt) < now ? <span className="badge badge--risk-medium">Expired</span> : dateTime(i.expiresAt)}</td>
                  <td>
                    <div className="inline">
                      <button type="button" className="button button--small" disabled={resending.fetching} onClick={() => act('resend', i.id, i.email)} aria-label={`Resend the invitation of ${i.email}`}>
                        Resend
                      </button>
                      <button type="button" className="button button--small button--danger" disabled={cancelling.fetching} onClick={() => act('cancel', i.id, i.email)} aria-label={`Cancel the invitation of ${i.email}`}>
                        Cancel
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

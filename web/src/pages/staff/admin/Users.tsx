// Site admins: every account, searched and filtered; create, deactivate, reactivate, change platform role.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { AdminUsersQuery, Role } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type TypedError } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { adminLinks, SectionNav } from '../StaffNav';

const UsersQuery = graphql(`
  query AdminUsers($filter: UserFilter, $after: String) {
    users(first: 50, after: $after, filter: $filter) {
      nodes { id fullName email role isActive emailVerified createdAt lastLoginAt }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

// Every admin mutation answers AdminUserResult: the user as it is now, or a typed error.
const DeactivateUser = graphql(`
  mutation DeactivateUser($input: UserIdInput!) {
    deactivateUser(input: $input) {
      __typename
      ... on UserSuccess { user { id role isActive } }
      ... on Error { code message }
    }
  }
`);
const ReactivateUser = graphql(`
  mutation ReactivateUser($input: UserIdInput!) {
    reactivateUser(input: $input) {
      __typename
      ... on UserSuccess { user { id role isActive } }
      ... on Error { code message }
    }
  }
`);
const ChangeUserRole = graphql(`
  mutation ChangeUserRole($input: ChangeUserRoleInput!) {
    changeUserRole(input: $input) {
      __typename
      ... on UserSuccess { user { id role isActive } }
      ... on Error { code message }
    }
  }
`);
const CreateUser = graphql(`
  mutation AdminCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      __typename
      ... on UserSuccess { user { id fullName email role } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

export const ROLES: { value: Role; label: string }[] = [
  { value: 'STUDENT', label: 'Student' },
  { value: 'INSTRUCTOR', label: 'Instructor' },
  { value: 'ORGANIZATION_ADMIN', label: 'Organization admin' },
  { value: 'SITE_ADMIN', label: 'Site admin' },
];

export default function UsersPage() {
  useTitle('Users');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin}>
      <Users />
    </RequireAccess>
  );
}

function Users() {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [active, setActive] = useState<'' | 'true' | 'false'>('');
  const [after, setAfter] = useState<string | null>(null);
  const filter = { search: applied || null, role: role || null, isActive: active === '' ? null : active === 'true' };
  const [{ data, fetching, error }, refetch] = useQuery({ query: UsersQuery, variables: { filter, after } });
  const problem = problemOf(error);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <div className="stack-lg">
      <h1>Users</h1>
      <SectionNav label="Site administration" links={adminLinks} />
      <NewUser onCreated={reload} />
      <section className="card" aria-labelledby="user-list">
        <h2 id="user-list">Accounts</h2>
        <form
          className="filters"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            setApplied(search.trim());
            setAfter(null);
          }}
        >
          <Field label="Name or email" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
          <div className="field">
            <label htmlFor="users-role">Platform role</label>
            <select id="users-role" value={role} onChange={(e) => (setRole(e.target.value as Role | ''), setAfter(null))}>
              <option value="">Every role</option>
              {ROLES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="users-active">State</label>
            <select id="users-active" value={active} onChange={(e) => (setActive(e.target.value as '' | 'true' | 'false'), setAfter(null))}>
              <option value="">Active and deactivated</option>
              <option value="true">Active</option>
              <option value="false">Deactivated</option>
            </select>
          </div>
          <button type="submit" className="button">
            Search
          </button>
        </form>
        {!data ? (
          problem && !fetching ? <ProblemView problem={problem} retry={reload} /> : <Skeleton lines={8} label="Loading the users" />
        ) : data.users.nodes.length === 0 ? (
          <Empty title="No account matches." />
        ) : (
          <div className="table-scroll">
<table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Platform role</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {data.users.nodes.map((user) => (
                <UserRow key={user.id} user={user} />
              ))}
            </tbody>
          </table>
</div>
        )}
        {data && (
          <div className="pager">
            {after && (
              <button type="button" className="button button--small" onClick={() => setAfter(null)}>
                First page
              </button>
            )}
            {data.users.pageInfo.hasNextPage && (
              <button type="button" className="button button--small" onClick={() => setAfter(data.users.pageInfo.endCursor ?? null)}>
                Next page
              </button>
            )}
          </div>
        )}
      </section>
    </div>
  );
}

type User = AdminUsersQuery['users']['nodes'][number];

function UserRow({ user }: { user: User }) {
  const toast = useToast();
  const [role, setRole] = useState<Role>(user.role);
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const [changing, changeRole] = useMutation(ChangeUserRole);
  const [deactivating, deactivate] = useMutation(DeactivateUser);
  const [reactivating, reactivate] = useMutation(ReactivateUser);
  const settle = (done: { data?: Record<string, { __typename?: string }> | null; error?: Parameters<typeof problemOf>[0] }, success: string) => {
    const answer = done.data ? Object.values(done.data)[0] : null;
    const problem = problemOf(done.error);
    const error = typedError(answer) ?? (problem ? { __typename: 'Problem', code: problem.kind, message: problem.message } : null);
    setRefusal(error);
    if (!error) toast(success, 'success');
    return error;
  };
  const saveRole = async () => {
    if (settle(await changeRole({ input: { userId: user.id, role } }), `${user.fullName}’s role changed.`)) setRole(user.role);
  };
  const toggle = async () => {
    if (user.isActive) {
      if (!window.confirm(`Deactivate ${user.fullName}? They are signed out everywhere and cannot sign in.`)) return;
      settle(await deactivate({ input: { userId: user.id } }), `${user.fullName} was deactivated.`);
    } else settle(await reactivate({ input: { userId: user.id } }), `${user.fullName} can sign in again.`);
  };
  return (
    <tr>
      <td>
        {user.fullName}
        <div className="muted">
          {user.email}
          {user.emailVerified === false && ' (not confirmed)'}
        </div>
        {refusal && (
          <div className="field__error" role="alert">
            {refusal.message}
          </div>
        )}
      </td>
      <td>{user.lastLoginAt ? dateTime(user.lastLoginAt) : 'never'}</td>
      <td>
        <div className="inline">
          <label className="sr-only" htmlFor={`user-role-${user.id}`}>
            Platform role of {user.fullName}
          </label>
          <select id={`user-role-${user.id}`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          {role !== user.role && (
            <button type="button" className="button button--small" disabled={changing.fetching} onClick={saveRole}>
              Save role
            </button>
          )}
        </div>
      </td>
      <td>
        <div className="inline">
          <span className={`badge${user.isActive ? ' badge--success' : ''}`}>{user.isActive ? 'Active' : 'Deactivated'}</span>
          <button
            type="button"
            className={`button button--small${user.isActive ? ' button--danger' : ''}`}
            disabled={deactivating.fetching || reactivating.fetching}
            onClick={toggle}
            aria-label={`${user.isActive ? 'Deactivate' : 'Reactivate'} ${user.fullName}`}
          >
            {user.isActive ? 'Deactivate' : 'Reactivate'}
          </button>
        </div>
      </td>
    </tr>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [fullName, setFullName] = useState('');
  const [role, setRole] = useState<Role>('STUDENT');
  const [result, create] = useMutation(CreateUser);
  const answer = result.data?.createUser;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await create({ input: { email, fullName, role } });
    if (done.data?.createUser.__typename === 'UserSuccess') {
      setEmail('');
      setFullName('');
      onCreated();
    }
  };
  return (
    <section className="card" aria-labelledby="new-user">
      <h2 id="new-user">Create an account</h2>
      {answer?.__typename === 'UserSuccess' && (
        <Banner tone="success">Account created for {answer.user.email}; they set their password from the mailed link.</Banner>
      )}
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="inline">
        <Field label="Full name" value={fullName} onChange={(e) => setFullName(e.target.value)} error={fields.fullName} />
        <Field label="Email" type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
        <div className="field">
          <label htmlFor="new-user-role">Platform role</label>
          <select id="new-user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button--primary" disabled={result.fetching || !email.trim() || !fullName.trim()}>
          Create account
        </button>
      </form>
    </section>
  );
}

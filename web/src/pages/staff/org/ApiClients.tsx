// API clients for integrations: create one with scopes (its secret is shown once, with a copy button),
// revoke one.
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import { fieldErrorMap, problemOf, typedError } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { organizationLinks, SectionNav } from '../StaffNav';
import { useOrganization } from './useOrganization';

const ApiClientsQuery = graphql(`
  query ApiClients($organizationId: ID!) {
    apiClients(organizationId: $organizationId) { id clientId name scopes createdAt revokedAt lastUsedAt }
  }
`);

const CreateApiClient = graphql(`
  mutation CreateApiClient($input: CreateApiClientInput!) {
    createApiClient(input: $input) {
      __typename
      ... on CreateApiClientSuccess { clientSecret apiClient { id clientId name scopes createdAt revokedAt lastUsedAt } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

const RevokeApiClient = graphql(`
  mutation RevokeApiClient($input: RevokeApiClientInput!) {
    revokeApiClient(input: $input) {
      __typename
      ... on ApiClientSuccess { apiClient { id revokedAt } }
      ... on Error { code message }
    }
  }
`);

// The scopes the server grants (core/rbac.py GRANTABLE_SCOPES); the graph does not list them.
const SCOPES: { value: string; label: string }[] = [
  { value: 'view_courses', label: 'Read courses' },
  { value: 'create_courses', label: 'Create courses' },
  { value: 'update_courses', label: 'Edit courses' },
  { value: 'publish_courses', label: 'Publish courses' },
  { value: 'view_analytics', label: 'Read analytics' },
  { value: 'view_all_analytics', label: 'Read all analytics' },
  { value: 'view_all_labs', label: 'See all labs' },
  { value: 'manage_labs', label: 'Manage labs' },
  { value: 'view_audit_logs', label: 'Read the audit log' },
  { value: 'manage_organization', label: 'Manage the organization' },
  { value: 'view_users', label: 'Read users' },
  { value: 'schema:read', label: 'Read the schema (GraphiQL)' },
];

export default function ApiClientsPage() {
  const { slug = '' } = useParams();
  useTitle('API clients');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <ApiClients slug={slug} />
    </RequireAccess>
  );
}

function ApiClients({ slug }: { slug: string }) {
  const organization = useOrganization(slug);
  if (!organization.data) return organization.fallback;
  return (
    <div className="stack-lg">
      <h1>API clients of {organization.data.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <p className="muted">Integrations sign in with OAuth2 client credentials and act only within the scopes you grant.</p>
      <ClientList organizationId={organization.data.id} />
    </div>
  );
}

function ClientList({ organizationId }: { organizationId: string }) {
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ApiClientsQuery, variables: { organizationId } });
  const [, revoke] = useMutation(RevokeApiClient);
  const problem = problemOf(error);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const revokeClient = async (id: string, name: string) => {
    if (!window.confirm(`Revoke “${name}”? Its tokens stop working.`)) return;
    const done = await revoke({ input: { id } });
    const refusal = typedError(done.data?.revokeApiClient) ?? problemOf(done.error);
    if (refusal) toast(refusal.message, 'error');
    else toast(`“${name}” was revoked.`, 'success');
  };
  return (
    <>
      <NewClient organizationId={organizationId} onCreated={reload} />
      <section className="card" aria-labelledby="client-list">
        <h2 id="client-list">Clients</h2>
        {!data ? (
          problem && !fetching ? <ProblemView problem={problem} retry={reload} /> : <Skeleton lines={4} label="Loading the API clients" />
        ) : data.apiClients.length === 0 ? (
          <Empty title="No API client yet." />
        ) : (
          <ul className="list">
            {data.apiClients.map((client) => (
              <li key={client.id} className="list__item">
                <strong>{client.name}</strong>
                <code>{client.clientId}</code>
                <span className="muted">{client.scopes.join(', ')}</span>
                <span className="muted">
                  created {dateTime(client.createdAt)} · {client.lastUsedAt ? `last used ${dateTime(client.lastUsedAt)}` : 'never used'}
                </span>
                {client.revokedAt ? (
                  <span className="badge">Revoked {dateTime(client.revokedAt)}</span>
                ) : (
                  <button type="button" className="button button--small button--danger" onClick={() => revokeClient(client.id, client.name)} aria-label={`Revoke ${client.name}`}>
                    Revoke
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function NewClient({ organizationId, onCreated }: { organizationId: string; onCreated: () => void }) {
  const toast = useToast();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [copied, setCopied] = useState(false);
  const [result, create] = useMutation(CreateApiClient);
  const answer = result.data?.createApiClient;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setCopied(false);
    const done = await create({ input: { organizationId, name, scopes } });
    if (done.data?.createApiClient.__typename === 'CreateApiClientSuccess') {
      setName('');
      setScopes([]);
      onCreated();
    }
  };
  const copy = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      toast('Copying is not allowed here: select the secret and copy it.', 'error');
    }
  };
  return (
    <section className="card" aria-labelledby="new-client">
      <h2 id="new-client">New API client</h2>
      {answer?.__typename === 'CreateApiClientSuccess' && (
        <Banner tone="warning">
          <p>
            The secret of “{answer.apiClient.name}” (client id <code>{answer.apiClient.clientId}</code>) is shown only now: store it in
            your integration.
          </p>
          <p className="inline">
            <code className="secret">{answer.clientSecret}</code>
            <button type="button" className="button button--small" onClick={() => copy(answer.clientSecret)}>
              {copied ? 'Copied' : 'Copy the secret'}
            </button>
          </p>
        </Banner>
      )}
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
        <fieldset className={fields.scopes ? 'field--invalid' : undefined} aria-describedby={fields.scopes ? 'scopes-error' : undefined}>
          <legend>Scopes</legend>
          <div className="scopes">
            {SCOPES.map((scope) => (
              <label key={scope.value} className="choice">
                <input
                  type="checkbox"
                  checked={scopes.includes(scope.value)}
                  onChange={(e) => setScopes(e.target.checked ? [...scopes, scope.value] : scopes.filter((s) => s !== scope.value))}
                />{' '}
                {scope.label} <code>{scope.value}</code>
              </label>
            ))}
          </div>
          {fields.scopes && (
            <p className="field__error" id="scopes-error">
              {fields.scopes}
            </p>
          )}
        </fieldset>
        <div>
          <button type="submit" className="button button--primary" disabled={result.fetching || !name.trim()}>
            Create API client
          </button>
        </div>
      </form>
    </section>
  );
}

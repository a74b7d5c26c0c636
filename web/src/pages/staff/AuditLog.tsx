// The audit log with filters (actor, action or prefix, time range) and paging: an organization's entries,
// or without an organization every entry of the platform (site admins).
import { useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { Empty, Field, ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import type { AuditLogFilter } from '../../gql/graphql';
import { problemOf } from '../../lib/errors';
import { dateTime } from '../../lib/time';

const AuditLogQuery = graphql(`
  query AuditLog($organizationId: ID, $filter: AuditLogFilter, $after: String) {
    auditLog(organizationId: $organizationId, filter: $filter, first: 25, after: $after) {
      nodes { id occurredAt actorId action subjectIds requestId sourceIp detail actor { id fullName } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** A `datetime-local` value (the browser's local time) as an ISO instant, or null when empty. */
export function instant(local: string): string | null {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function AuditLog({ organizationId }: { organizationId: string | null }) {
  const [form, setForm] = useState({ actor: '', action: '', since: '', until: '' });
  const [filter, setFilter] = useState<AuditLogFilter>({});
  // Cursors of the pages before this one, for "Previous page".
  const [cursors, setCursors] = useState<(string | null)[]>([]);
  const after = cursors.at(-1) ?? null;
  const [{ data, fetching, error }, refetch] = useQuery({ query: AuditLogQuery, variables: { organizationId, filter, after } });
  const problem = problemOf(error);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter({
      actor: form.actor.trim() || null,
      action: form.action.trim() || null,
      since: instant(form.since),
      until: instant(form.until),
    });
    setCursors([]);
  };
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value });
  const log = data?.auditLog;
  return (
    <section className="card" aria-labelledby="audit-entries">
      <h2 id="audit-entries">Entries</h2>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <Field label="Actor id" value={form.actor} onChange={set('actor')} hint="A user or API client id." />
        <Field label="Action" value={form.action} onChange={set('action')} hint="An event type, or a prefix like users.auth.*" />
        <Field label="From" type="datetime-local" value={form.since} onChange={set('since')} />
        <Field label="Until" type="datetime-local" value={form.until} onChange={set('until')} />
        <button type="submit" className="button">
          Apply filters
        </button>
        {/* Entries arrive from events a moment after the change: look again without leaving the page. */}
        <button type="button" className="button button--ghost" onClick={() => refetch({ requestPolicy: 'network-only' })}>
          Refresh
        </button>
      </form>
      {!log ? (
        problem && !fetching ? <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} /> : <Skeleton lines={8} label="Loading the audit log" />
      ) : log.nodes.length === 0 ? (
        <Empty title="No entry matches." />
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {log.nodes.map((entry) => (
                <tr key={entry.id}>
                  <td>{dateTime(entry.occurredAt)}</td>
                  <td>{entry.actor?.fullName ?? (entry.actorId ? <code>{entry.actorId}</code> : 'system')}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td>
                    <details>
                      <summary>Show</summary>
                      <pre className="audit-detail">{JSON.stringify({ subjects: entry.subjectIds, detail: entry.detail, requestId: entry.requestId, sourceIp: entry.sourceIp }, null, 2)}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        {cursors.length > 0 && (
          <button type="button" className="button button--small" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        )}
        {log?.pageInfo.hasNextPage && (
          <button type="button" className="button button--small" onClick={() => setCursors([...cursors, log.pageInfo.endCursor ?? null])}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}

// Site admins: every organization, searched by name or slug, with a way into each one's admin pages.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useQuery } from 'urql';
import { Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import { problemOf } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { adminLinks, SectionNav } from '../StaffNav';

const OrganizationsQuery = graphql(`
  query AdminOrganizations($search: String, $after: String) {
    organizations(search: $search, first: 50, after: $after) {
      nodes { id name slug description createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export default function OrganizationsPage() {
  useTitle('Organizations');
  return (
    <RequireAccess allowed={(a) => a.siteAdmin}>
      <div className="stack-lg">
        <h1>Organizations</h1>
        <SectionNav label="Site administration" links={adminLinks} />
        <OrganizationList />
      </div>
    </RequireAccess>
  );
}

function OrganizationList() {
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: OrganizationsQuery, variables: { search: search || null, after } });
  const organizations = data?.organizations;
  const problem = problemOf(error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSearch(text.trim());
    setAfter(null);
  };
  return (
    <section className="card" aria-labelledby="organization-list">
      <h2 id="organization-list">Every organization</h2>
      <form onSubmit={submit} className="inline" role="search">
        <Field label="Name or slug" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="button">
          Search
        </button>
      </form>
      {!organizations ? (
        problem && !fetching ? <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} /> : <Skeleton lines={6} label="Loading the organizations" />
      ) : organizations.nodes.length === 0 ? (
        <Empty title={search ? 'No organization matches.' : 'No organization yet.'} />
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Slug</th>
                <th scope="col">Created</th>
                <th scope="col">Manage</th>
              </tr>
            </thead>
            <tbody>
              {organizations.nodes.map((o) => (
                <tr key={o.id}>
                  <td>
                    {o.name}
                    {o.description && <div className="muted">{o.description}</div>}
                  </td>
                  <td>{o.slug}</td>
                  <td>{dateTime(o.createdAt)}</td>
                  <td>
                    <div className="inline">
                      <Link to={`/organizations/${o.slug}/members`} aria-label={`Members of ${o.name}`}>
                        Members
                      </Link>
                      <Link to={`/organizations/${o.slug}/report`} aria-label={`Report of ${o.name}`}>
                        Report
                      </Link>
                      <Link to={`/organizations/${o.slug}/audit-log`} aria-label={`Audit log of ${o.name}`}>
                        Audit log
                      </Link>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {organizations && (
        <div className="pager">
          {after && (
            <button type="button" className="button button--small" onClick={() => setAfter(null)}>
              First page
            </button>
          )}
          {organizations.pageInfo.hasNextPage && (
            <button type="button" className="button button--small" onClick={() => setAfter(organizations.pageInfo.endCursor ?? null)}>
              Next page
            </button>
          )}
        </div>
      )}
    </section>
  );
}

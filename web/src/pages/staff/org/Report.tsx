// The organization report: every course over a period, its totals, the days as charts, and the CSV.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { BarChart } from '../../../components/charts';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import { downloadWithToken } from '../../../lib/download';
import { problemOf } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { organizationLinks, SectionNav } from '../StaffNav';
import { useOrganization } from './useOrganization';

const ReportQuery = graphql(`
  query OrganizationReport($organizationId: ID!, $since: Date, $until: Date) {
    organizationReport(organizationId: $organizationId, since: $since, until: $until) {
      since
      until
      enrollments
      activeStudents
      atRiskCount
      labHours
      generationJobs
      csvUrl
      courses { course { id } title stats { enrollments activeStudents completionRate averageQuizScore averageProgress labHours atRiskCount } }
      series { day activeStudents submissions labHours lessonCompletions }
    }
  }
`);

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const pct = (v: number | null | undefined) => (v == null ? '—' : `${Math.round(v)}%`);

export default function ReportPage() {
  const { slug = '' } = useParams();
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <Report slug={slug} />
    </RequireAccess>
  );
}

function Report({ slug }: { slug: string }) {
  const organization = useOrganization(slug);
  useTitle(organization.data ? `Report of ${organization.data.name}` : 'Organization report');
  if (!organization.data) return organization.fallback;
  return (
    <div className="stack-lg">
      <h1>Report of {organization.data.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <ReportBody organizationId={organization.data.id} name={organization.data.name} />
    </div>
  );
}

function ReportBody({ organizationId, name }: { organizationId: string; name: string }) {
  const [range, setRange] = useState(() => ({ since: isoDay(new Date(Date.now() - 29 * 86_400_000)), until: isoDay(new Date()) }));
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: ReportQuery, variables: { organizationId, ...range } });
  const report = data?.organizationReport;
  if (!report) {
    const problem = problemOf(error);
    return problem && !fetching ? <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} /> : <Skeleton lines={8} label="Loading the report" />;
  }
  const download = async () => {
    setDownloadError(null);
    try {
      await downloadWithToken(report.csvUrl, `${name} report ${report.since} to ${report.until}.csv`);
    } catch (e) {
      setDownloadError((e as Error).message);
    }
  };
  const facts: [string, string][] = [
    ['Enrollments', String(report.enrollments)],
    ['Active students', String(report.activeStudents)],
    ['At high risk', String(report.atRiskCount)],
    ['Lab hours', report.labHours.toFixed(1)],
    ['AI generation jobs', String(report.generationJobs)],
  ];
  return (
    <>
      <section className="card" aria-labelledby="report-range">
        <h2 id="report-range">Period</h2>
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            setRange({ since: String(form.get('since')), until: String(form.get('until')) });
          }}
        >
          <Field label="From" name="since" type="date" defaultValue={range.since} />
          <Field label="To" name="until" type="date" defaultValue={range.until} />
          <button type="submit" className="button">
            Show
          </button>
          <button type="button" className="button button--ghost" onClick={download}>
            Download the report (CSV)
          </button>
        </form>
        {downloadError && <Banner>{downloadError}</Banner>}
      </section>
      <section className="card" aria-labelledby="report-totals">
        <h2 id="report-totals">
          {report.since} to {report.until}
        </h2>
        <dl className="facts">
          {facts.map(([term, value]) => (
            <div key={term}>
              <dt>{term}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
        <div className="charts">
          <BarChart title="Active students" points={report.series.map((p) => ({ label: p.day, value: p.activeStudents }))} />
          <BarChart title="Quiz submissions" points={report.series.map((p) => ({ label: p.day, value: p.submissions }))} />
          <BarChart title="Lessons completed" points={report.series.map((p) => ({ label: p.day, value: p.lessonCompletions }))} />
          <BarChart title="Lab hours" unit=" h" points={report.series.map((p) => ({ label: p.day, value: p.labHours }))} />
        </div>
      </section>
      <section className="card" aria-labelledby="report-courses">
        <h2 id="report-courses">Courses</h2>
        {report.courses.length === 0 ? (
          <Empty title="No course in this organization yet." />
        ) : (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Course</th>
                  <th scope="col">Enrolled</th>
                  <th scope="col">Active (7 days)</th>
                  <th scope="col">Completion</th>
                  <th scope="col">Average progress</th>
                  <th scope="col">Average quiz score</th>
                  <th scope="col">Lab hours</th>
                  <th scope="col">At high risk</th>
                </tr>
              </thead>
              <tbody>
                {report.courses.map((line) => (
                  <tr key={line.course.id}>
                    <td>
                      <Link to={`/teach/courses/${line.course.id}/analytics`}>{line.title}</Link>
                    </td>
                    <td>{line.stats.enrollments}</td>
                    <td>{line.stats.activeStudents}</td>
                    <td>{pct(line.stats.completionRate)}</td>
                    <td>{pct(line.stats.averageProgress)}</td>
                    <td>{pct(line.stats.averageQuizScore)}</td>
                    <td>{line.stats.labHours.toFixed(1)}</td>
                    <td>{line.stats.atRiskCount}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

// A course's analytics: stats, daily series as charts, every student's engagement, proficiency and risk with
// their explanations and recommendations, CSV downloads, and risk alerts arriving live while the page is open.
import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { BarChart } from '../../../components/charts';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { CourseAnalyticsQuery, RiskAlertsSubscription, RiskLevel } from '../../../gql/graphql';
import { downloadWithToken } from '../../../lib/download';
import { problemOf } from '../../../lib/errors';
import { useEventStream } from '../../../lib/stream';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { courseLinks, SectionNav } from '../StaffNav';

const ReportQuery = graphql(`
  query CourseAnalytics($courseId: ID!, $since: Date, $until: Date) {
    course(id: $courseId) { id title }
    courseReport(courseId: $courseId, since: $since, until: $until) {
      since
      until
      csvUrl
      dailyCsvUrl
      stats { enrollments activeStudents activeToday completionRate averageQuizScore averageProgress labHours atRiskCount computedAt }
      series { day activeStudents submissions labHours lessonCompletions }
      students {
        user { id fullName email }
        enrollmentId
        status
        progressPercent
        lessonsCompleted
        quizAttempts
        averageQuizScore
        labHours
        engagement {
          engagementScore
          proficiencyScore
          riskLevel
          lastActivityAt
          recommendations
          indicators { name value threshold contributes }
        }
      }
    }
  }
`);

const RiskAlerts = graphql(`
  subscription RiskAlerts($courseId: ID!, $after: Int) {
    riskAlerts(courseId: $courseId, after: $after) {
      seq
      at
      level
      previousLevel
      engagementScore
      proficiencyScore
      recommendations
      user { id fullName }
      indicators { name value threshold contributes }
    }
  }
`);

type Report = CourseAnalyticsQuery['courseReport'];
type Student = Report['students'][number];
type Indicator = Student['engagement']['indicators'][number];
type Alert = RiskAlertsSubscription['riskAlerts'];

const pickAlert = (data: RiskAlertsSubscription) => data.riskAlerts;

const INDICATORS: Record<string, { label: string; unit: string; above: boolean }> = {
  days_inactive: { label: 'Days inactive', unit: ' days', above: true },
  engagement_score: { label: 'Engagement', unit: '', above: false },
  proficiency_score: { label: 'Proficiency', unit: '', above: false },
  failed_quiz_attempts: { label: 'Failed quiz attempts', unit: '', above: true },
};

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const pct = (v: number | null | undefined) => (v == null ? '—' : `${Math.round(v)}%`);
const score = (v: number | null | undefined) => (v == null ? '—' : String(Math.round(v)));

export default function AnalyticsPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <Analytics />
    </RequireAccess>
  );
}

function Analytics() {
  const { courseId = '' } = useParams();
  const toast = useToast();
  const [range, setRange] = useState(() => ({ since: isoDay(new Date(Date.now() - 29 * 86_400_000)), until: isoDay(new Date()) }));
  const [{ data, fetching, error }, refetch] = useQuery({ query: ReportQuery, variables: { courseId, ...range } });
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const onAlert = useCallback(
    (alert: Alert) => {
      setAlerts((all) => [alert, ...all]);
      toast(`${alert.user.fullName} is now at high risk.`, 'error');
      reload();
    },
    [toast, reload],
  );
  // Only new alerts (no `after` at first); a reconnect resumes after the last one shown.
  const stream = useEventStream(RiskAlerts, { courseId }, pickAlert, { onEvent: onAlert });
  const course = data?.course;
  const report = data?.courseReport;
  useTitle(course ? `Analytics of ${course.title}` : 'Analytics');
  if (!course || !report) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={10} label="Loading the analytics" />;
  }
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${course.id}`}>{course.title}</Link> / <span>Analytics</span>
      </nav>
      <h1>Analytics of {course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      <section className="card" aria-labelledby="alerts">
        <h2 id="alerts">Risk alerts</h2>
        <p className="muted" role="status">
          {stream.status === 'live' || stream.status === 'connecting'
            ? 'Students whose risk rises to high while this page is open appear here.'
            : stream.status === 'reconnecting'
              ? 'Reconnecting to the live alerts…'
              : `Live alerts stopped${stream.error ? `: ${stream.error}` : '.'} Reload the page to follow them again.`}
        </p>
        <ul className="list" aria-live="polite" aria-label="Live risk alerts">
          {alerts.map((a) => (
            <li key={a.seq} className="list__item list__item--block alert-item">
              <strong>{a.user.fullName}</strong> is now <RiskBadge level={a.level} /> (was {a.previousLevel.toLowerCase()}), engagement {score(a.engagementScore)}
              <span className="muted"> · {dateTime(a.at)}</span>
              {a.recommendations.length > 0 && <p>{a.recommendations.join(' ')}</p>}
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="range">
        <h2 id="range">Period</h2>
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
          <button type="button" className="button button--ghost" onClick={() => download(report.csvUrl, `${course.title} students.csv`)}>
            Download students (CSV)
          </button>
          <button type="button" className="button button--ghost" onClick={() => download(report.dailyCsvUrl, `${course.title} daily.csv`)}>
            Download daily figures (CSV)
          </button>
        </form>
        {downloadError && <Banner>{downloadError}</Banner>}
      </section>
      <Stats report={report} />
      <section className="card" aria-labelledby="series">
        <h2 id="series">
          Day by day, {report.since} to {report.until}
        </h2>
        <div className="charts">
          <BarChart title="Active students" points={report.series.map((p) => ({ label: p.day, value: p.activeStudents }))} />
          <BarChart title="Quiz submissions" points={report.series.map((p) => ({ label: p.day, value: p.submissions }))} />
          <BarChart title="Lessons completed" points={report.series.map((p) => ({ label: p.day, value: p.lessonCompletions }))} />
          <BarChart title="Lab hours" unit=" h" points={report.series.map((p) => ({ label: p.day, value: p.labHours }))} />
        </div>
      </section>
      <Students students={report.students} />
    </div>
  );

  async function download(url: string, filename: string) {
    setDownloadError(null);
    try {
      await downloadWithToken(url, filename);
    } catch (e) {
      setDownloadError((e as Error).message);
    }
  }
}

function RiskBadge({ level }: { level: RiskLevel }) {
  const tone = level === 'HIGH' ? ' badge--risk-high' : level === 'MEDIUM' ? ' badge--risk-medium' : '';
  return <span className={`badge${tone}`}>{level.toLowerCase()} risk</span>;
}

function Stats({ report }: { report: Report }) {
  const s = report.stats;
  const facts: [string, string][] = [
    ['Enrolled', String(s.enrollments)],
    ['Active in the last 7 days', String(s.activeStudents)],
    ['Active today', String(s.activeToday)],
    ['Completion rate', pct(s.completionRate)],
    ['Average progress', pct(s.averageProgress)],
    ['Average quiz score', pct(s.averageQuizScore)],
    ['Lab hours', s.labHours.toFixed(1)],
    ['At high risk', String(s.atRiskCount)],
  ];
  return (
    <section className="card" aria-labelledby="stats">
      <h2 id="stats">Course stats</h2>
      <dl className="facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <p className="muted">Computed {dateTime(s.computedAt)}.</p>
    </section>
  );
}

function Students({ students }: { students: Student[] }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="students">
      <h2 id="students">Students (least engaged first)</h2>
      {students.length === 0 ? (
        <Empty title="No student in this course yet." />
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Student</th>
                <th scope="col">Progress</th>
                <th scope="col">Engagement</th>
                <th scope="col">Proficiency</th>
                <th scope="col">Risk</th>
                <th scope="col">Quiz attempts</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span className="sr-only">Explanation</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {students.map((st) => {
                const e = st.engagement;
                const expanded = open === st.user.id;
                return (
                  <StudentRows key={st.user.id} student={st} expanded={expanded} toggle={() => setOpen(expanded ? null : st.user.id)}>
                    <td>
                      {st.user.fullName}
                      {st.user.email && <span className="muted"> {st.user.email}</span>}
                    </td>
                    <td>{st.progressPercent}%</td>
                    <td>{score(e.engagementScore)}</td>
                    <td>{score(e.proficiencyScore)}</td>
                    <td>
                      <RiskBadge level={e.riskLevel} />
                    </td>
                    <td>{st.quizAttempts}</td>
                    <td>{e.lastActivityAt ? dateTime(e.lastActivityAt) : '—'}</td>
                  </StudentRows>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function StudentRows({ student, expanded, toggle, children }: { student: Student; expanded: boolean; toggle: () => void; children: React.ReactNode }) {
  const detailId = `why-${student.user.id}`;
  return (
    <>
      <tr>
        {children}
        <td>
          <button type="button" className="button button--small" aria-expanded={expanded} aria-controls={detailId} onClick={toggle} aria-label={`Why: ${student.user.fullName}`}>
            Why?
          </button>
        </td>
      </tr>
      <tr id={detailId} hidden={!expanded}>
        <td colSpan={8}>
          {expanded && <Explanation indicators={student.engagement.indicators} recommendations={student.engagement.recommendations} />}
        </td>
      </tr>
    </>
  );
}

function Explanation({ indicators, recommendations }: { indicators: Indicator[]; recommendations: string[] }) {
  return (
    <div className="columns">
      <div>
        <h3>What the risk is made of</h3>
        <ul>
          {indicators.map((i) => {
            const known = INDICATORS[i.name] ?? { label: i.name, unit: '', above: true };
            return (
              <li key={i.name}>
                {known.label}: {i.value == null ? 'no evidence yet' : `${score(i.value)}${known.unit}`} (counts when {known.above ? 'at or above' : 'below'}{' '}
                {score(i.threshold)}
                {known.unit}) — {i.contributes ? <strong>counts</strong> : 'does not count'}
              </li>
            );
          })}
        </ul>
      </div>
      <div>
        <h3>Recommendations</h3>
        {recommendations.length ? (
          <ul>
            {recommendations.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        ) : (
          <p className="muted">None: this student is doing fine.</p>
        )}
      </div>
    </div>
  );
}

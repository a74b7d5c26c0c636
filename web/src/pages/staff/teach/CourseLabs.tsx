// Labs of a course's students: each live lab's status as it changes (its event stream), CPU and memory now,
// and when it pauses or stops.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { Empty, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { CourseLabsQuery, LabStatus } from '../../../gql/graphql';
import { problemOf } from '../../../lib/errors';
import { dateTime, relative } from '../../../lib/time';
import { useNow } from '../../../lib/useNow';
import { useTitle } from '../../../lib/useTitle';
import { ACTIVE_LAB_STATUSES, LabStatusBadge, useLiveLab } from '../../student/lab-live';
import { RequireAccess } from '../access';
import { courseLinks, SectionNav } from '../StaffNav';

const CourseLabsQueryDoc = graphql(`
  query CourseLabs($courseId: ID!, $status: [LabStatus!]) {
    course(id: $courseId) { id title }
    labSessions(filter: { courseId: $courseId, status: $status }, first: 100) {
      nodes {
        id
        status
        ide
        failureReason
        createdAt
        startedAt
        lastActivityAt
        idleDeadline
        stopDeadline
        user { id fullName }
        exercise { id title }
        resources { memoryMb cpus }
        usage { cpuPercent memoryBytes pids }
      }
    }
  }
`);

type Lab = CourseLabsQuery['labSessions']['nodes'][number];
/** CPU and memory are read again this often while the page is open (they have no event stream). */
const USAGE_REFRESH_MS = 15_000;
const IDE_NAMES: Record<string, string> = { VSCODE: 'VS Code', JUPYTER: 'JupyterLab', TERMINAL: 'Terminal' };

export default function CourseLabsPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <CourseLabs />
    </RequireAccess>
  );
}

function CourseLabs() {
  const { courseId = '' } = useParams();
  const [all, setAll] = useState(false);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: CourseLabsQueryDoc,
    variables: { courseId, status: all ? null : (ACTIVE_LAB_STATUSES as LabStatus[]) },
  });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useEffect(() => {
    const timer = setInterval(reload, USAGE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const course = data?.course;
  useTitle(course ? `Labs in ${course.title}` : 'Labs');
  if (!course) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={8} label="Loading the labs" />;
  }
  const labs = data.labSessions.nodes;
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${course.id}`}>{course.title}</Link> / <span>Labs</span>
      </nav>
      <h1>Labs in {course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      <section className="card" aria-labelledby="labs">
        <h2 id="labs">{all ? 'Every lab' : 'Labs open now'}</h2>
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show stopped and failed labs too
        </label>
        {labs.length === 0 ? (
          <Empty title={all ? 'No student has started a lab in this course.' : 'No lab is open in this course now.'} />
        ) : (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Student</th>
                  <th scope="col">Exercise</th>
                  <th scope="col">Status</th>
                  <th scope="col">CPU / memory</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">Deadlines</th>
                </tr>
              </thead>
              <tbody>
                {labs.map((lab) => (
                  <LabRow key={lab.id} lab={lab} onChanged={reload} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function LabRow({ lab, onChanged }: { lab: Lab; onChanged: () => void }) {
  const now = useNow(5_000);
  const lastStatus = useRef(lab.status);
  const onEvent = useCallback(
    (event: { status: LabStatus }) => {
      // Deadlines and usage come with the session: read the list again on each transition (not on every
      // progress step while it starts).
      if (event.status === lastStatus.current) return;
      lastStatus.current = event.status;
      onChanged();
    },
    [onChanged],
  );
  const live = useLiveLab(lab.id, { status: lab.status }, onEvent);
  const usage = lab.usage;
  return (
    <tr>
      <td>{lab.user.fullName}</td>
      <td>
        {lab.exercise.title} <span className="muted">({IDE_NAMES[lab.ide] ?? lab.ide})</span>
      </td>
      <td>
        <LabStatusBadge status={live.status} />
        {live.latest && live.latest.progress < 100 && <span className="muted"> {live.latest.progress}%</span>}
        {lab.failureReason && <div className="muted">{lab.failureReason}</div>}
      </td>
      <td>
        {usage ? (
          <>
            {Math.round(usage.cpuPercent)}% CPU · {Math.round(usage.memoryBytes / 1_048_576)} of {lab.resources.memoryMb} MB
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>{lab.lastActivityAt ? relative(lab.lastActivityAt, now) : '—'}</td>
      <td>
        {lab.idleDeadline && <div>Pauses {relative(lab.idleDeadline, now)} unless active</div>}
        {lab.stopDeadline && <div>Stops {relative(lab.stopDeadline, now)}</div>}
        {!lab.idleDeadline && !lab.stopDeadline && <span className="muted">{lab.startedAt ? `Started ${dateTime(lab.startedAt)}` : '—'}</span>}
      </td>
    </tr>
  );
}

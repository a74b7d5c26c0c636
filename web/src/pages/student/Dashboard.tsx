import { Link } from 'react-router';
import { useQuery } from 'urql';
import { Empty, ProblemView, Progress, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import type { StudentDashboardQuery } from '../../gql/graphql';
import { problemOf } from '../../lib/errors';
import { relative } from '../../lib/time';
import { useNow } from '../../lib/useNow';
import { useTitle } from '../../lib/useTitle';
import { ACTIVE_LAB_STATUSES, LabStatusBadge, useLiveLab } from './lab-live';

// The whole dashboard in one query (one round trip; the router fans it out to the subgraphs).
const StudentDashboardDoc = graphql(`
  query StudentDashboard {
    me {
      id
      fullName
      enrollments(first: 20) {
        nodes {
          id
          status
          progressPercent
          lastActivityAt
          engagement { engagementScore proficiencyScore riskLevel recommendations }
          course {
            id
            title
            category
            difficulty
            modules(first: 30) { nodes { id title lessons(first: 50) { nodes { id title completed } } } }
            quizzes(first: 20) {
              nodes {
                id
                title
                status
                attemptsAllowed
                timeLimitSeconds
                myAttempts(first: 20) { nodes { id submittedAt score maxScore passed } }
              }
            }
          }
        }
      }
      labSessions(first: 20) {
        nodes { id status ide idleDeadline stopDeadline createdAt exercise { id title } course { id title } }
      }
      taughtCourses(first: 10) { nodes { id title status } }
    }
  }
`);

type Me = NonNullable<StudentDashboardQuery['me']>;
type Enrollment = Me['enrollments']['nodes'][number];
type Quiz = Enrollment['course']['quizzes']['nodes'][number];

/** The first lesson not completed yet, in course order. */
export function nextLesson(enrollment: Pick<Enrollment, 'course'>) {
  for (const module of enrollment.course.modules.nodes) {
    for (const lesson of module.lessons.nodes) if (!lesson.completed) return { module, lesson };
  }
  return null;
}

/** A published quiz the student has not passed and may still attempt. */
export function isWaiting(quiz: Quiz): boolean {
  if (quiz.status !== 'PUBLISHED') return false;
  const attempts = quiz.myAttempts.nodes;
  if (attempts.some((a) => a.passed)) return false;
  if (attempts.some((a) => !a.submittedAt)) return true;
  return quiz.attemptsAllowed == null || attempts.length < quiz.attemptsAllowed;
}

export default function Dashboard() {
  useTitle('Dashboard');
  const [{ data, fetching, error }, refetch] = useQuery({ query: StudentDashboardDoc });
  const problem = problemOf(error);
  if (!data?.me) {
    if (problem && !fetching) return <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    return (
      <>
        <h1>Dashboard</h1>
        <Skeleton lines={8} label="Loading your dashboard" />
      </>
    );
  }
  const me = data.me;
  const enrollments = me.enrollments.nodes.filter((e) => e.status !== 'DROPPED');
  const waiting = enrollments.flatMap((e) => e.course.quizzes.nodes.filter(isWaiting).map((quiz) => ({ quiz, course: e.course })));
  const labs = me.labSessions.nodes.filter((lab) => ACTIVE_LAB_STATUSES.includes(lab.status));

  return (
    <div className="stack-lg">
      <h1>Welcome back, {me.fullName.split(' ')[0]}</h1>

      <section aria-labelledby="learning">
        <h2 id="learning">Your courses</h2>
        {enrollments.length === 0 ? (
          <Empty title="You are not enrolled in any course yet.">
            <Link className="button button--primary" to="/catalog">
              Find a course
            </Link>
          </Empty>
        ) : (
          <ul className="cards">
            {enrollments.map((enrollment) => (
              <EnrollmentCard key={enrollment.id} enrollment={enrollment} />
            ))}
          </ul>
        )}
      </section>

      <div className="columns">
        <section aria-labelledby="quizzes">
          <h2 id="quizzes">Quizzes waiting</h2>
          {waiting.length === 0 ? (
            <Empty title="No quiz is waiting for you." />
          ) : (
            <ul className="list">
              {waiting.map(({ quiz, course }) => (
                <li key={quiz.id} className="list__item">
                  <Link to={`/quizzes/${quiz.id}`}>{quiz.title}</Link>
                  <span className="muted">
                    {course.title}
                    {quiz.myAttempts.nodes.some((a) => !a.submittedAt) ? ' · attempt in progress' : ''}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section aria-labelledby="labs">
          <h2 id="labs">Your labs</h2>
          {labs.length === 0 ? (
            <Empty title="No lab is running or paused." />
          ) : (
            <ul className="list">
              {labs.map((lab) => (
                <LabRow key={lab.id} lab={lab} />
              ))}
            </ul>
          )}
        </section>
      </div>

      {me.taughtCourses.nodes.length > 0 && (
        <section aria-labelledby="teaching">
          <h2 id="teaching">Courses you teach</h2>
          <ul className="list">
            {me.taughtCourses.nodes.map((course) => (
              <li key={course.id} className="list__item">
                <Link to={`/courses/${course.id}`}>{course.title}</Link>
                <span className="badge">{course.status.toLowerCase()}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

function EnrollmentCard({ enrollment }: { enrollment: Enrollment }) {
  const next = nextLesson(enrollment);
  const engagement = enrollment.engagement;
  return (
    <li className="card course-card">
      <h3>
        <Link to={`/courses/${enrollment.course.id}`}>{enrollment.course.title}</Link>
      </h3>
      <p className="muted">
        {enrollment.course.category} · {enrollment.course.difficulty.toLowerCase()}
      </p>
      <Progress value={enrollment.progressPercent} label={`Progress in ${enrollment.course.title}`} />
      {next ? (
        <Link className="button button--primary" to={`/courses/${enrollment.course.id}/lessons/${next.lesson.id}`}>
          Continue: {next.lesson.title}
        </Link>
      ) : (
        <p className="muted">Every lesson is done. Well done!</p>
      )}
      {engagement && (
        <details className="engagement">
          <summary>
            Engagement {Math.round(engagement.engagementScore)}/100
            {engagement.riskLevel !== 'LOW' && (
              <span className={`badge badge--risk-${engagement.riskLevel.toLowerCase()}`}>{engagement.riskLevel.toLowerCase()} risk</span>
            )}
          </summary>
          {engagement.proficiencyScore != null && <p>Proficiency {Math.round(engagement.proficiencyScore)}/100</p>}
          {engagement.recommendations.length > 0 && (
            <ul>
              {engagement.recommendations.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
        </details>
      )}
    </li>
  );
}

function LabRow({ lab }: { lab: Me['labSessions']['nodes'][number] }) {
  const live = useLiveLab(lab.id, { status: lab.status });
  const now = useNow(30_000);
  return (
    <li className="list__item">
      <Link to={`/labs/${lab.id}`}>{lab.exercise.title}</Link>
      <LabStatusBadge status={live.status} />
      <span className="muted">
        {lab.course.title}
        {live.status === 'RUNNING' && lab.idleDeadline ? ` · pauses when idle ${relative(lab.idleDeadline, now)}` : ''}
      </span>
    </li>
  );
}

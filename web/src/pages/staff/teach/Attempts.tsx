// Quiz attempts of a course's students, filtered by quiz, student and outcome; one attempt opens with its
// answers beside the questions' right answers.
import { useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { Empty, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { AttemptAnswersQuery, CourseAttemptsQuery } from '../../../gql/graphql';
import { problemOf } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { courseLinks, SectionNav } from '../StaffNav';

const CourseAttemptsQueryDoc = graphql(`
  query CourseAttempts($id: ID!) {
    course(id: $id) {
      id
      title
      quizzes(first: 100) { nodes { id title } }
      enrollments(first: 100) { nodes { id user { id fullName email } } }
    }
  }
`);

const AttemptsQuery = graphql(`
  query QuizAttemptsReview($quizId: ID!, $filter: AttemptFilter, $after: String) {
    quizAttempts(quizId: $quizId, filter: $filter, first: 50, after: $after) {
      nodes { id number startedAt submittedAt score maxScore passed late user { id fullName email } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const AnswersQuery = graphql(`
  query AttemptAnswers($quizId: ID!, $filter: AttemptFilter) {
    quiz(id: $quizId) {
      id
      passingScore
      questions(first: 100) {
        nodes { id type prompt options points correctAnswer { choices boolean acceptedAnswers number tolerance } explanation }
      }
    }
    quizAttempts(quizId: $quizId, filter: $filter, first: 100) {
      nodes {
        id
        number
        answers(first: 100) { nodes { questionId choices boolean text number correct pointsAwarded timeSpentSeconds } }
      }
    }
  }
`);

type Course = NonNullable<CourseAttemptsQuery['course']>;
type Question = NonNullable<AttemptAnswersQuery['quiz']>['questions']['nodes'][number];
type Answer = AttemptAnswersQuery['quizAttempts']['nodes'][number]['answers']['nodes'][number];

export default function AttemptsPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <Attempts />
    </RequireAccess>
  );
}

function Attempts() {
  const { courseId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: CourseAttemptsQueryDoc, variables: { id: courseId } });
  const course = data?.course;
  useTitle(course ? `Quiz attempts in ${course.title}` : 'Quiz attempts');
  if (!course) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    return <Skeleton lines={8} label="Loading the course" />;
  }
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${course.id}`}>{course.title}</Link> / <span>Quiz attempts</span>
      </nav>
      <h1>Quiz attempts in {course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      {course.quizzes.nodes.length === 0 ? <Empty title="This course has no quiz yet." /> : <AttemptList course={course} />}
    </div>
  );
}

function AttemptList({ course }: { course: Course }) {
  const [search, setSearch] = useSearchParams();
  const quizId = search.get('quiz') ?? course.quizzes.nodes[0].id;
  const userId = search.get('student') ?? '';
  const passed = search.get('passed') ?? '';
  const open = search.get('attempt');
  const [after, setAfter] = useState<string | null>(null);
  const filter = { userId: userId || null, passed: passed === '' ? null : passed === 'yes', submitted: passed === '' ? null : true };
  const [{ data, fetching, error }, refetch] = useQuery({ query: AttemptsQuery, variables: { quizId, filter, after } });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    next.delete('attempt');
    setSearch(next);
    setAfter(null);
  };
  const students = new Map(course.enrollments.nodes.map((e) => [e.user.id, e.user]));
  const attempts = data?.quizAttempts;
  const problem = problemOf(error);
  const openAttempt = attempts?.nodes.find((a) => a.id === open);
  return (
    <>
      <section className="card" aria-labelledby="attempts">
        <h2 id="attempts">Attempts</h2>
        <div className="filters">
          <div className="field">
            <label htmlFor="attempt-quiz">Quiz</label>
            <select id="attempt-quiz" value={quizId} onChange={(e) => set('quiz', e.target.value)}>
              {course.quizzes.nodes.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.title}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="attempt-student">Student</label>
            <select id="attempt-student" value={userId} onChange={(e) => set('student', e.target.value)}>
              <option value="">Every student</option>
              {[...students.values()].map((u) => (
                <option key={u.id} value={u.id}>
                  {u.fullName}
                  {u.email ? ` (${u.email})` : ''}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="attempt-passed">Outcome</label>
            <select id="attempt-passed" value={passed} onChange={(e) => set('passed', e.target.value)}>
              <option value="">Any (in progress too)</option>
              <option value="yes">Passed</option>
              <option value="no">Not passed</option>
            </select>
          </div>
        </div>
        {!attempts ? (
          problem && !fetching ? <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} /> : <Skeleton lines={5} label="Loading the attempts" />
        ) : attempts.nodes.length === 0 ? (
          <Empty title="No attempt matches." />
        ) : (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Student</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Started</th>
                  <th scope="col">Submitted</th>
                  <th scope="col">Score</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">
                    <span className="sr-only">Answers</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {attempts.nodes.map((a) => (
                  <tr key={a.id} aria-current={a.id === open ? 'true' : undefined}>
                    <td>{a.user.fullName}</td>
                    <td>{a.number}</td>
                    <td>{dateTime(a.startedAt)}</td>
                    <td>
                      {a.submittedAt ? dateTime(a.submittedAt) : <span className="muted">In progress</span>}
                      {a.late && <span className="badge badge--risk-medium"> Late</span>}
                    </td>
                    <td>{a.score != null && a.maxScore ? `${a.score} / ${a.maxScore} (${Math.round((100 * a.score) / a.maxScore)}%)` : '—'}</td>
                    <td>{a.passed == null ? '—' : a.passed ? <span className="badge badge--success">Passed</span> : <span className="badge badge--risk-high">Not passed</span>}</td>
                    <td>
                      <button
                        type="button"
                        className="button button--small"
                        onClick={() => {
                          const next = new URLSearchParams(search);
                          next.set('attempt', a.id);
                          setSearch(next);
                        }}
                        aria-label={`Answers of ${a.user.fullName}, attempt ${a.number}`}
                      >
                        Answers
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {attempts && (
          <div className="pager">
            {after && (
              <button type="button" className="button button--small" onClick={() => setAfter(null)}>
                First page
              </button>
            )}
            {attempts.pageInfo.hasNextPage && (
              <button type="button" className="button button--small" onClick={() => setAfter(attempts.pageInfo.endCursor ?? null)}>
                Next page
              </button>
            )}
          </div>
        )}
      </section>
      {openAttempt && <AttemptView key={openAttempt.id} quizId={quizId} attempt={openAttempt} />}
    </>
  );
}

type AttemptRow = CourseAttemptsQueryAttempt;
type CourseAttemptsQueryAttempt = import('../../../gql/graphql').QuizAttemptsReviewQuery['quizAttempts']['nodes'][number];

function AttemptView({ quizId, attempt }: { quizId: string; attempt: AttemptRow }) {
  // The attempts of this student (the list has no single-attempt query); this one is picked by id.
  const [{ data, fetching, error }] = useQuery({ query: AnswersQuery, variables: { quizId, filter: { userId: attempt.user.id } } });
  const answers = data?.quizAttempts.nodes.find((a) => a.id === attempt.id)?.answers.nodes;
  const questions = data?.quiz?.questions.nodes ?? [];
  return (
    <section className="card" aria-labelledby="attempt-answers">
      <h2 id="attempt-answers">
        {attempt.user.fullName}, attempt {attempt.number}
      </h2>
      {!answers ? (
        fetching ? <Skeleton lines={4} label="Loading the answers" /> : <ProblemView problem={problemOf(error) ?? { kind: 'not-found', message: '' }} />
      ) : (
        <ol className="questions">
          {questions.map((q) => {
            const answer = answers.find((a) => a.questionId === q.id);
            return (
              <li key={q.id} className={`question${answer?.correct === true ? ' question--right' : answer?.correct === false ? ' question--wrong' : ''}`}>
                <p>
                  <strong>{q.prompt}</strong> <span className="muted">({q.points} points)</span>
                </p>
                <p>Answer: {answer ? answerText(q, answer) : <span className="muted">not answered</span>}</p>
                <p>
                  Right answer: {rightText(q)}
                  {answer && answer.pointsAwarded != null && (
                    <>
                      {' '}
                      · {answer.correct ? 'Right' : 'Wrong'}, {answer.pointsAwarded} of {q.points} points
                    </>
                  )}
                  {answer && <span className="muted"> · {answer.timeSpentSeconds} s spent</span>}
                </p>
                {q.explanation && <p className="muted">{q.explanation}</p>}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

function answerText(q: Question, a: Answer): string {
  if (a.choices) return a.choices.map((i) => q.options[i] ?? `#${i + 1}`).join(', ') || '—';
  if (a.boolean != null) return a.boolean ? 'True' : 'False';
  if (a.text != null) return a.text || '—';
  if (a.number != null) return String(a.number);
  return '—';
}

function rightText(q: Question): string {
  const c = q.correctAnswer;
  if (!c) return '—';
  if (c.choices) return c.choices.map((i) => q.options[i] ?? `#${i + 1}`).join(', ');
  if (c.boolean != null) return c.boolean ? 'True' : 'False';
  if (c.acceptedAnswers) return c.acceptedAnswers.join(' or ');
  if (c.number != null) return `${c.number}${c.tolerance ? ` ± ${c.tolerance}` : ''}`;
  return '—';
}

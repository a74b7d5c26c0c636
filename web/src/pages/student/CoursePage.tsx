import { lazy, Suspense, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../components/toasts';
import { Banner, ProblemView, Progress, Skeleton, TextAreaField } from '../../components/ui';
import { graphql } from '../../gql';
import { fieldErrorMap, problemOf, typedError } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';
import { startLabMessage, useStartLab } from './startLab';

const Markdown = lazy(() => import('../../lib/markdown'));

const CourseQuery = graphql(`
  query CoursePage($id: ID!) {
    course(id: $id) {
      id
      title
      description
      category
      difficulty
      estimatedDurationHours
      status
      instructor { id fullName }
      organization { id name }
      viewerEnrollment { id status progressPercent }
      modules(first: 50) { nodes { id title position lessons(first: 100) { nodes { id title position completed } } } }
      exercises(first: 50) { nodes { id title language labIde instructions } }
      quizzes(first: 50) { nodes { id title status timeLimitSeconds attemptsAllowed passingScore } }
    }
  }
`);

const EnrollMutation = graphql(`
  mutation Enroll($input: EnrollInput!) {
    enroll(input: $input) {
      __typename
      ... on EnrollmentSuccess { enrollment { id status progressPercent course { id viewerEnrollment { id status progressPercent } } } }
      ...ErrorFields
    }
  }
`);

const DropMutation = graphql(`
  mutation DropEnrollment($input: DropEnrollmentInput!) {
    dropEnrollment(input: $input) {
      __typename
      ... on EnrollmentSuccess { enrollment { id status progressPercent } }
      ...ErrorFields
    }
  }
`);

const FeedbackMutation = graphql(`
  mutation SubmitFeedback($input: SubmitFeedbackInput!) {
    submitFeedback(input: $input) {
      __typename
      ... on FeedbackSuccess { feedback { id rating comment } }
      ...ErrorFields
    }
  }
`);

const IDE_NAMES: Record<string, string> = { VSCODE: 'VS Code', JUPYTER: 'JupyterLab', TERMINAL: 'Terminal' };

export default function CoursePage() {
  const { courseId = '' } = useParams();
  const navigate = useNavigate();
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: CourseQuery, variables: { id: courseId } });
  const [enrollResult, enroll] = useMutation(EnrollMutation);
  const [dropResult, drop] = useMutation(DropMutation);
  const [confirmDrop, setConfirmDrop] = useState(false);
  const lab = useStartLab();
  const course = data?.course;
  useTitle(course?.title ?? 'Course');
  const problem = problemOf(error);

  if (!course) {
    if (fetching) return <Skeleton lines={8} label="Loading the course" />;
    return <ProblemView problem={problem ?? { kind: 'not-found', message: 'No such course.' }} retry={() => refetch({ requestPolicy: 'network-only' })} />;
  }
  const enrolled = course.viewerEnrollment && course.viewerEnrollment.status !== 'DROPPED' ? course.viewerEnrollment : null;
  const enrollError = typedError(enrollResult.data?.enroll) ?? typedError(dropResult.data?.dropEnrollment);
  const firstOpen = course.modules.nodes.flatMap((m) => m.lessons.nodes).find((l) => !l.completed);

  const doEnroll = async () => {
    const done = await enroll({ input: { courseId: course.id } });
    if (done.data?.enroll.__typename === 'EnrollmentSuccess') toast(`You are enrolled in ${course.title}.`, 'success');
    refetch({ requestPolicy: 'network-only' });
  };
  const doDrop = async () => {
    if (!enrolled) return;
    const done = await drop({ input: { enrollmentId: enrolled.id } });
    setConfirmDrop(false);
    if (done.data?.dropEnrollment.__typename === 'EnrollmentSuccess') toast(`You left ${course.title}.`, 'info');
    refetch({ requestPolicy: 'network-only' });
  };
  const startLab = async (exerciseId: string) => {
    const id = await lab.start(exerciseId);
    if (id) navigate(`/labs/${id}`);
  };

  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/catalog">Catalog</Link> <span aria-hidden="true">/</span> <span>{course.title}</span>
      </nav>
      <header className="course-header">
        <h1>{course.title}</h1>
        <p className="muted">
          {course.organization?.name ? `${course.organization.name} · ` : ''}
          {course.instructor?.fullName ? `taught by ${course.instructor.fullName} · ` : ''}
          {course.difficulty.toLowerCase()}
          {course.estimatedDurationHours != null ? ` · about ${course.estimatedDurationHours} h` : ''}
        </p>
        {course.status !== 'PUBLISHED' && <Banner tone="warning">This course is {course.status.toLowerCase()}.</Banner>}
        <Suspense fallback={<p>{course.description}</p>}>
          <Markdown source={course.description} />
        </Suspense>
        {enrollError && <Banner>{enrollError.message}</Banner>}
        {enrolled ? (
          <div className="stack">
            <Progress value={enrolled.progressPercent} label="Your progress" />
            <div className="inline">
              {firstOpen && (
                <Link className="button button--primary" to={`/courses/${course.id}/lessons/${firstOpen.id}`}>
                  {enrolled.progressPercent > 0 ? 'Continue' : 'Start the course'}
                </Link>
              )}
              {confirmDrop ? (
                <span className="inline" role="group" aria-label="Confirm leaving the course">
                  <span>Leave this course? Your progress is kept if you come back.</span>
                  <button type="button" className="button button--danger" onClick={doDrop} disabled={dropResult.fetching}>
                    Yes, leave
                  </button>
                  <button type="button" className="button" onClick={() => setConfirmDrop(false)}>
                    Stay
                  </button>
                </span>
              ) : (
                <button type="button" className="button button--ghost" onClick={() => setConfirmDrop(true)}>
                  Leave course
                </button>
              )}
            </div>
          </div>
        ) : (
          course.status === 'PUBLISHED' && (
            <button type="button" className="button button--primary" onClick={doEnroll} disabled={enrollResult.fetching}>
              {enrollResult.fetching ? 'Enrolling…' : 'Enroll'}
            </button>
          )
        )}
      </header>

      <section aria-labelledby="modules">
        <h2 id="modules">Modules</h2>
        {course.modules.nodes.length === 0 ? (
          <p className="muted">No module yet.</p>
        ) : (
          <ol className="modules">
            {course.modules.nodes.map((module) => (
              <li key={module.id} className="card">
                <h3>{module.title}</h3>
                <ol className="lessons">
                  {module.lessons.nodes.map((lesson) => (
                    <li key={lesson.id}>
                      {enrolled ? <Link to={`/courses/${course.id}/lessons/${lesson.id}`}>{lesson.title}</Link> : <span>{lesson.title}</span>}
                      {lesson.completed && <span className="badge badge--success">done</span>}
                    </li>
                  ))}
                </ol>
              </li>
            ))}
          </ol>
        )}
      </section>

      {course.exercises.nodes.length > 0 && (
        <section aria-labelledby="exercises">
          <h2 id="exercises">Exercises</h2>
          {lab.error && <Banner>{startLabMessage(lab.error)}</Banner>}
          <ul className="cards">
            {course.exercises.nodes.map((exercise) => (
              <li key={exercise.id} className="card">
                <h3>{exercise.title}</h3>
                <p className="muted">
                  {exercise.language} · {IDE_NAMES[exercise.labIde] ?? exercise.labIde}
                </p>
                <Suspense fallback={null}>
                  <Markdown source={exercise.instructions} />
                </Suspense>
                {enrolled && (
                  <button type="button" className="button button--primary" onClick={() => startLab(exercise.id)} disabled={lab.fetching}>
                    Start a lab
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}

      {course.quizzes.nodes.length > 0 && (
        <section aria-labelledby="quizzes">
          <h2 id="quizzes">Quizzes</h2>
          <ul className="list">
            {course.quizzes.nodes.map((quiz) => (
              <li key={quiz.id} className="list__item">
                {enrolled ? <Link to={`/quizzes/${quiz.id}`}>{quiz.title}</Link> : <span>{quiz.title}</span>}
                <span className="muted">
                  pass at {quiz.passingScore}%
                  {quiz.timeLimitSeconds ? ` · ${Math.round(quiz.timeLimitSeconds / 60)} min` : ''}
                  {quiz.attemptsAllowed ? ` · ${quiz.attemptsAllowed} attempt${quiz.attemptsAllowed === 1 ? '' : 's'}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {enrolled && <FeedbackForm courseId={course.id} />}
    </div>
  );
}

function FeedbackForm({ courseId }: { courseId: string }) {
  const [rating, setRating] = useState(0);
  const [comment, setComment] = useState('');
  const [result, submit] = useMutation(FeedbackMutation);
  const answer = result.data?.submitFeedback;
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const send = (event: FormEvent) => {
    event.preventDefault();
    void submit({ input: { courseId, rating, comment: comment.trim() || null } });
  };
  return (
    <section className="card" aria-labelledby="feedback">
      <h2 id="feedback">Your feedback</h2>
      {answer?.__typename === 'FeedbackSuccess' && <Banner tone="success">Thank you! Your feedback was saved.</Banner>}
      {error && error.__typename !== 'ValidationError' && <Banner>{error.message}</Banner>}
      <form onSubmit={send} noValidate className="narrow">
        <fieldset className={`rating${fields.rating ? ' field--invalid' : ''}`} aria-describedby={fields.rating ? 'rating-error' : undefined}>
          <legend>How would you rate this course?</legend>
          {[1, 2, 3, 4, 5].map((value) => (
            <label key={value} className="rating__option">
              <input type="radio" name="rating" value={value} checked={rating === value} onChange={() => setRating(value)} />
              <span>
                {value} <span className="sr-only">out of 5</span>
              </span>
            </label>
          ))}
          {fields.rating && (
            <p className="field__error" id="rating-error">
              {fields.rating}
            </p>
          )}
        </fieldset>
        <TextAreaField label="Comment (optional)" rows={3} value={comment} onChange={(e) => setComment(e.target.value)} error={fields.comment} />
        <button type="submit" className="button button--primary" disabled={result.fetching || rating === 0}>
          Send feedback
        </button>
      </form>
    </section>
  );
}

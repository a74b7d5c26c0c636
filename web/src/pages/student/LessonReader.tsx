import { lazy, Suspense, useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../components/toasts';
import { Banner, ProblemView, Progress, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import { problemOf, typedError } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';
import { LessonAttachments } from './LessonAttachments';

const Markdown = lazy(() => import('../../lib/markdown'));

const LessonQuery = graphql(`
  query LessonReader($courseId: ID!) {
    course(id: $courseId) {
      id
      title
      viewerEnrollment { id status progressPercent }
      modules(first: 50) { nodes { id title lessons(first: 100) { nodes { id title body completed } } } }
    }
  }
`);

const CompleteLesson = graphql(`
  mutation CompleteLesson($input: CompleteLessonInput!) {
    completeLesson(input: $input) {
      __typename
      ... on EnrollmentSuccess { enrollment { id progressPercent completedLessonIds status } }
      ...ErrorFields
    }
  }
`);

const TrackView = graphql(`
  mutation TrackLessonView($input: TrackActivityInput!) {
    trackActivity(input: $input) { __typename }
  }
`);

export default function LessonReader() {
  const { courseId = '', lessonId = '' } = useParams();
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: LessonQuery, variables: { courseId } });
  const [completeResult, complete] = useMutation(CompleteLesson);
  const [, track] = useMutation(TrackView);
  const course = data?.course;
  const lessons = course?.modules.nodes.flatMap((module) => module.lessons.nodes.map((lesson) => ({ ...lesson, module }))) ?? [];
  const index = lessons.findIndex((l) => l.id === lessonId);
  const lesson = index >= 0 ? lessons[index] : null;
  useTitle(lesson?.title ?? 'Lesson');

  useEffect(() => {
    // Reading counts as activity for engagement analytics (best effort: a failure changes nothing here).
    if (lesson) void track({ input: { type: 'PAGE_VIEW', courseId, payload: { lessonId: lesson.id } } });
  }, [lesson?.id, courseId, track]); // eslint-disable-line react-hooks/exhaustive-deps

  if (!course || !lesson) {
    if (fetching && !course) return <Skeleton lines={10} label="Loading the lesson" />;
    return <ProblemView problem={problemOf(error) ?? { kind: 'not-found', message: 'No such lesson.' }} retry={() => refetch({ requestPolicy: 'network-only' })} />;
  }
  const previous = index > 0 ? lessons[index - 1] : null;
  const next = index < lessons.length - 1 ? lessons[index + 1] : null;
  const enrollment = course.viewerEnrollment;
  const completeError = typedError(completeResult.data?.completeLesson);

  const markComplete = async () => {
    const done = await complete({ input: { lessonId: lesson.id } });
    if (done.data?.completeLesson.__typename === 'EnrollmentSuccess') {
      toast('Lesson marked as complete.', 'success');
      refetch({ requestPolicy: 'network-only' });
    }
  };

  return (
    <div className="reader">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/courses/${course.id}`}>{course.title}</Link> <span aria-hidden="true">/</span> <span>{lesson.module.title}</span>
      </nav>
      {enrollment && <Progress value={enrollment.progressPercent} label="Course progress" />}
      <article className="card lesson">
        <h1>{lesson.title}</h1>
        <Suspense fallback={<Skeleton lines={6} />}>
          <Markdown source={lesson.body} title={lesson.title} />
        </Suspense>
      </article>
      <LessonAttachments courseId={course.id} lessonId={lesson.id} />
      {completeError && <Banner>{completeError.message}</Banner>}
      <div className="lesson-actions">
        {previous ? (
          <Link className="button" to={`/courses/${course.id}/lessons/${previous.id}`} rel="prev">
            ← {previous.title}
          </Link>
        ) : (
          <span />
        )}
        {lesson.completed ? (
          <span className="badge badge--success" role="status">
            Completed
          </span>
        ) : (
          <button type="button" className="button button--primary" onClick={markComplete} disabled={completeResult.fetching || !enrollment}>
            Mark as complete
          </button>
        )}
        {next ? (
          <Link className="button" to={`/courses/${course.id}/lessons/${next.id}`} rel="next">
            {next.title} →
          </Link>
        ) : (
          <Link className="button" to={`/courses/${course.id}`}>
            Back to the course
          </Link>
        )}
      </div>
    </div>
  );
}

// The quiz editor: settings (time limit, attempts, passing score, shuffling), publish/unpublish with the
// server's refusals, questions of every type, and a preview as a student sees the questions.
import { lazy, Suspense, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton, TextAreaField } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { QuestionInput, QuizEditorQuery } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type TypedError } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { QUESTION_TYPES, QuestionForm } from './QuestionForm';

const Markdown = lazy(() => import('../../../lib/markdown'));

const QuizEditorQueryDoc = graphql(`
  query QuizEditor($id: ID!) {
    quiz(id: $id) {
      id
      title
      description
      timeLimitSeconds
      attemptsAllowed
      passingScore
      shuffleQuestions
      status
      course { id title }
      questions(first: 100) {
        nodes {
          id type prompt options points position explanation
          correctAnswer { choices boolean acceptedAnswers number tolerance }
        }
      }
    }
  }
`);

type Quiz = NonNullable<QuizEditorQuery['quiz']>;
type Question = Quiz['questions']['nodes'][number];

const UpdateQuiz = graphql(`
  mutation EditorUpdateQuiz($input: UpdateQuizInput!) {
    updateQuiz(input: $input) {
      __typename
      ... on QuizSuccess { quiz { id title description timeLimitSeconds attemptsAllowed passingScore shuffleQuestions } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const PublishQuiz = graphql(`
  mutation EditorPublishQuiz($input: QuizIdInput!) {
    publishQuiz(input: $input) {
      __typename
      ... on QuizSuccess { quiz { id status } }
      ... on Error { code message }
    }
  }
`);
const UnpublishQuiz = graphql(`
  mutation EditorUnpublishQuiz($input: QuizIdInput!) {
    unpublishQuiz(input: $input) {
      __typename
      ... on QuizSuccess { quiz { id status } }
      ... on Error { code message }
    }
  }
`);
const CreateQuestion = graphql(`
  mutation EditorCreateQuestion($input: CreateQuestionInput!) {
    createQuestion(input: $input) {
      __typename
      ... on QuestionSuccess { question { id } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const UpdateQuestion = graphql(`
  mutation EditorUpdateQuestion($input: UpdateQuestionInput!) {
    updateQuestion(input: $input) {
      __typename
      ... on QuestionSuccess {
        question { id type prompt options points explanation correctAnswer { choices boolean acceptedAnswers number tolerance } }
      }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const DeleteQuestion = graphql(`
  mutation EditorDeleteQuestion($input: QuizIdInput!) {
    deleteQuestion(input: $input) {
      __typename
      ... on Error { code message }
    }
  }
`);

const typeLabel = (type: string) => QUESTION_TYPES.find((t) => t.value === type)?.label ?? type;

export default function QuizEditorPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <QuizEditor />
    </RequireAccess>
  );
}

function QuizEditor() {
  const { quizId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: QuizEditorQueryDoc, variables: { id: quizId } });
  const quiz = data?.quiz;
  useTitle(quiz ? `Edit ${quiz.title}` : 'Quiz editor');
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const [preview, setPreview] = useState(false);
  if (!quiz) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={10} label="Loading the quiz" />;
  }
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${quiz.course.id}`}>{quiz.course.title}</Link> / <span>{quiz.title}</span>
      </nav>
      <h1>{quiz.title}</h1>
      <QuizStatus quiz={quiz} />
      <QuizSettings quiz={quiz} />
      <section className="card" aria-labelledby="questions">
        <h2 id="questions">Questions</h2>
        <div className="inline">
          <button type="button" className="button" aria-pressed={preview} onClick={() => setPreview(!preview)}>
            {preview ? 'Back to editing' : 'Preview as a student'}
          </button>
        </div>
        {preview ? (
          <StudentPreview quiz={quiz} />
        ) : (
          <>
            {quiz.questions.nodes.length === 0 && <Empty title="No question yet.">A quiz is published once it has a question.</Empty>}
            <ol className="stack">
              {quiz.questions.nodes.map((question, index) => (
                <QuestionItem key={question.id} question={question} number={index + 1} reload={reload} />
              ))}
            </ol>
            <NewQuestion quizId={quiz.id} reload={reload} />
          </>
        )}
      </section>
    </div>
  );
}

function QuizStatus({ quiz }: { quiz: Quiz }) {
  const toast = useToast();
  const [, publish] = useMutation(PublishQuiz);
  const [, unpublish] = useMutation(UnpublishQuiz);
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const run = async (published: boolean) => {
    const done = published ? await unpublish({ input: { id: quiz.id } }) : await publish({ input: { id: quiz.id } });
    const answer = published ? (done.data as { unpublishQuiz?: { __typename?: string } })?.unpublishQuiz : (done.data as { publishQuiz?: { __typename?: string } })?.publishQuiz;
    const problem = problemOf(done.error);
    const error = typedError(answer) ?? (problem ? { __typename: 'Problem', code: problem.kind, message: problem.message } : null);
    setRefusal(error);
    if (!error) toast(published ? 'Quiz back to draft.' : 'Quiz published.', 'success');
  };
  const published = quiz.status === 'PUBLISHED';
  return (
    <section className="card" aria-labelledby="quiz-status">
      <h2 id="quiz-status">Status</h2>
      <p>
        This quiz is <strong className="badge">{published ? 'Published' : 'Draft'}</strong>
      </p>
      {refusal && <Banner>{refusal.message}</Banner>}
      <button type="button" className={`button${published ? '' : ' button--primary'}`} onClick={() => run(published)}>
        {published ? 'Unpublish quiz' : 'Publish quiz'}
      </button>
    </section>
  );
}

function QuizSettings({ quiz }: { quiz: Quiz }) {
  const toast = useToast();
  const [form, setForm] = useState({
    title: quiz.title,
    description: quiz.description,
    minutes: quiz.timeLimitSeconds ? String(quiz.timeLimitSeconds / 60) : '',
    attempts: quiz.attemptsAllowed?.toString() ?? '',
    passingScore: String(quiz.passingScore),
    shuffle: quiz.shuffleQuestions,
  });
  const [result, update] = useMutation(UpdateQuiz);
  const error = typedError(result.data?.updateQuiz);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await update({
      input: {
        id: quiz.id,
        title: form.title,
        description: form.description,
        // Empty means no limit; the graph's null means "unchanged" here, so a limit once set is kept.
        timeLimitSeconds: form.minutes.trim() ? Math.round(Number(form.minutes) * 60) : null,
        attemptsAllowed: form.attempts.trim() ? Number(form.attempts) : null,
        passingScore: Number(form.passingScore),
        shuffleQuestions: form.shuffle,
      },
    });
    if (done.data?.updateQuiz.__typename === 'QuizSuccess') toast('Quiz settings saved.', 'success');
  };
  const set = (key: 'title' | 'description' | 'minutes' | 'attempts' | 'passingScore') => (event: { target: { value: string } }) =>
    setForm({ ...form, [key]: event.target.value });
  return (
    <section className="card" aria-labelledby="quiz-settings">
      <h2 id="quiz-settings">Settings</h2>
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <Field label="Title" value={form.title} onChange={set('title')} error={fields.title} />
        <TextAreaField label="Description" rows={3} value={form.description} onChange={set('description')} error={fields.description} />
        <div className="columns">
          <Field label="Time limit (minutes)" type="number" min="1" hint="Empty: no limit." value={form.minutes} onChange={set('minutes')} error={fields.timeLimitSeconds} />
          <Field label="Attempts allowed" type="number" min="1" hint="Empty: unlimited." value={form.attempts} onChange={set('attempts')} error={fields.attemptsAllowed} />
          <Field label="Passing score (%)" type="number" min="0" max="100" value={form.passingScore} onChange={set('passingScore')} error={fields.passingScore} />
        </div>
        <label className="choice">
          <input type="checkbox" checked={form.shuffle} onChange={(e) => setForm({ ...form, shuffle: e.target.checked })} /> Shuffle the questions for each
          student
        </label>
        <div>
          <button type="submit" className="button button--primary" disabled={result.fetching}>
            Save settings
          </button>
        </div>
      </form>
    </section>
  );
}

function QuestionItem({ question, number, reload }: { question: Question; number: number; reload: () => void }) {
  const toast = useToast();
  const [editing, setEditing] = useState(false);
  const [result, update] = useMutation(UpdateQuestion);
  const [, remove] = useMutation(DeleteQuestion);
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const error = typedError(result.data?.updateQuestion);
  const save = async (input: QuestionInput) => {
    const done = await update({ input: { id: question.id, question: input } });
    if (done.data?.updateQuestion.__typename === 'QuestionSuccess') {
      setEditing(false);
      toast('Question saved.', 'success');
    }
  };
  const destroy = async () => {
    if (!window.confirm('Delete this question?')) return;
    const done = await remove({ input: { id: question.id } });
    const failed = typedError(done.data?.deleteQuestion);
    setRefusal(failed);
    if (!failed) reload();
  };
  return (
    <li className="list__item list__item--block">
      <p>
        <span className="badge">{typeLabel(question.type)}</span> <span className="muted">{question.points} point{question.points === 1 ? '' : 's'}</span>
      </p>
      {refusal && <Banner>{refusal.message}</Banner>}
      {editing ? (
        <>
          {error && !error.fieldErrors?.length && <Banner>{error.message}</Banner>}
          <QuestionForm initial={question} submitLabel="Save question" busy={result.fetching} errors={fieldErrorMap(error)} onSubmit={save} />
          <button type="button" className="button button--ghost" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </>
      ) : (
        <>
          <Suspense fallback={<p>{question.prompt}</p>}>
            <Markdown source={question.prompt} />
          </Suspense>
          <div className="inline">
            <button type="button" className="button button--small" onClick={() => setEditing(true)}>
              Edit question {number}
            </button>
            <button type="button" className="button button--small button--danger" onClick={destroy}>
              Delete question {number}
            </button>
          </div>
        </>
      )}
    </li>
  );
}

function NewQuestion({ quizId, reload }: { quizId: string; reload: () => void }) {
  const toast = useToast();
  // A fresh form after each question added.
  const [round, setRound] = useState(0);
  const [result, create] = useMutation(CreateQuestion);
  const error = typedError(result.data?.createQuestion);
  const add = async (question: QuestionInput) => {
    const done = await create({ input: { quizId, question } });
    if (done.data?.createQuestion.__typename === 'QuestionSuccess') {
      toast('Question added.', 'success');
      setRound(round + 1);
      reload();
    }
  };
  return (
    <section className="card" aria-labelledby="new-question">
      <h3 id="new-question">New question</h3>
      {error && !error.fieldErrors?.length && <Banner>{error.message}</Banner>}
      <QuestionForm key={round} submitLabel="Add question" busy={result.fetching} errors={fieldErrorMap(error)} onSubmit={add} />
    </section>
  );
}

/** The questions as a student sees them before answering: prompts and options, nothing of the answers. */
function StudentPreview({ quiz }: { quiz: Quiz }) {
  return (
    <div className="stack" aria-label="Student preview">
      <p className="muted">
        {quiz.timeLimitSeconds ? `${Math.round(quiz.timeLimitSeconds / 60)} minutes · ` : 'No time limit · '}
        {quiz.attemptsAllowed ? `${quiz.attemptsAllowed} attempt${quiz.attemptsAllowed === 1 ? '' : 's'}` : 'unlimited attempts'} · pass at{' '}
        {quiz.passingScore}%{quiz.shuffleQuestions ? ' · questions shuffled' : ''}
      </p>
      <ol className="questions">
        {quiz.questions.nodes.map((question, index) => (
          <li key={question.id} className="question">
            <fieldset disabled>
              <legend>
                <span className="question__number">Question {index + 1}</span>{' '}
                <Suspense fallback={question.prompt}>
                  <Markdown source={question.prompt} inline />
                </Suspense>
              </legend>
              {(question.type === 'SINGLE_CHOICE' || question.type === 'MULTIPLE_CHOICE') &&
                question.options.map((option, i) => (
                  <label key={i} className="choice">
                    <input type={question.type === 'SINGLE_CHOICE' ? 'radio' : 'checkbox'} name={`preview-${question.id}`} /> {option}
                  </label>
                ))}
              {question.type === 'TRUE_FALSE' && (
                <>
                  <label className="choice">
                    <input type="radio" name={`preview-${question.id}`} /> True
                  </label>
                  <label className="choice">
                    <input type="radio" name={`preview-${question.id}`} /> False
                  </label>
                </>
              )}
              {(question.type === 'SHORT_ANSWER' || question.type === 'NUMERIC') && (
                <Field label="Your answer" type={question.type === 'NUMERIC' ? 'number' : 'text'} />
              )}
            </fieldset>
          </li>
        ))}
      </ol>
    </div>
  );
}

import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../components/toasts';
import { Banner, ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import type { AnswerInput, QuizPageQuery } from '../../gql/graphql';
import { problemOf, typedError } from '../../lib/errors';
import { clock, dateTime } from '../../lib/time';
import { useTitle } from '../../lib/useTitle';
import { attemptsLeft, isAnswered, toggleChoice, toInput } from './quiz-answers';
import { useCountdown } from './useCountdown';

const QuizQuery = graphql(`
  query QuizPage($id: ID!) {
    quiz(id: $id) {
      id
      title
      description
      timeLimitSeconds
      attemptsAllowed
      passingScore
      status
      course { id title }
      questions(first: 100) {
        nodes {
          id
          type
          prompt
          options
          points
          position
          explanation
          correctAnswer { choices boolean acceptedAnswers number tolerance }
        }
      }
      myAttempts(first: 50) {
        nodes {
          id
          number
          startedAt
          deadlineAt
          submittedAt
          score
          maxScore
          passed
          late
          answers(first: 100) { nodes { questionId choices boolean text number correct pointsAwarded } }
        }
      }
    }
  }
`);

const StartAttempt = graphql(`
  mutation StartQuizAttempt($input: StartQuizAttemptInput!) {
    startQuizAttempt(input: $input) {
      __typename
      ... on QuizAttemptSuccess { attempt { id number deadlineAt } }
      ...ErrorFields
    }
  }
`);

const SaveAnswer = graphql(`
  mutation SaveAnswer($input: SaveAnswerInput!) {
    saveAnswer(input: $input) {
      __typename
      ... on SaveAnswerSuccess { answer { questionId savedAt } }
      ...ErrorFields
    }
  }
`);

const SubmitAttempt = graphql(`
  mutation SubmitQuizAttempt($input: SubmitQuizAttemptInput!) {
    submitQuizAttempt(input: $input) {
      __typename
      ... on QuizAttemptSuccess { attempt { id submittedAt score maxScore passed late } }
      ...ErrorFields
    }
  }
`);

const Markdown = lazy(() => import('../../lib/markdown'));

/** Prompts and explanations may carry Markdown (`code`, emphasis): rendered sanitized, inline. */
function Rich({ text }: { text: string }) {
  return (
    <Suspense fallback={text}>
      <Markdown source={text} inline />
    </Suspense>
  );
}

type Quiz = NonNullable<QuizPageQuery['quiz']>;
type Question = Quiz['questions']['nodes'][number];
type Attempt = Quiz['myAttempts']['nodes'][number];

export default function QuizPage() {
  const { quizId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: QuizQuery, variables: { id: quizId } });
  const [startResult, start] = useMutation(StartAttempt);
  const quiz = data?.quiz;
  useTitle(quiz?.title ?? 'Quiz');
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);

  if (!quiz) {
    if (fetching) return <Skeleton lines={8} label="Loading the quiz" />;
    return <ProblemView problem={problemOf(error) ?? { kind: 'not-found', message: 'No such quiz.' }} retry={reload} />;
  }
  const attempts = [...quiz.myAttempts.nodes].sort((a, b) => a.number - b.number);
  const open = attempts.find((a) => !a.submittedAt);
  if (open) return <AttemptForm quiz={quiz} attempt={open} onDone={reload} />;

  const submitted = attempts.filter((a) => a.submittedAt);
  const latest = submitted[submitted.length - 1];
  const left = attemptsLeft(quiz.attemptsAllowed, attempts.length);
  const startError = typedError(startResult.data?.startQuizAttempt);
  const begin = async () => {
    await start({ input: { quizId: quiz.id } });
    reload();
  };

  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/courses/${quiz.course.id}`}>{quiz.course.title}</Link> <span aria-hidden="true">/</span> <span>Quiz</span>
      </nav>
      <header>
        <h1>{quiz.title}</h1>
        {quiz.description && <p>{quiz.description}</p>}
        <ul className="facts-inline">
          <li>{quiz.questions.nodes.length} questions</li>
          <li>pass at {quiz.passingScore}%</li>
          <li>{quiz.timeLimitSeconds ? `${clock(quiz.timeLimitSeconds)} time limit` : 'no time limit'}</li>
          <li>{left == null ? 'unlimited attempts' : `${left} of ${quiz.attemptsAllowed} attempts left`}</li>
        </ul>
      </header>
      {latest && <AttemptResult quiz={quiz} attempt={latest} />}
      {startError && <Banner>{startError.message}</Banner>}
      {left !== 0 ? (
        <button type="button" className="button button--primary" onClick={begin} disabled={startResult.fetching}>
          {submitted.length ? 'Start another attempt' : 'Start the quiz'}
        </button>
      ) : (
        <Banner tone="info">You have used every attempt of this quiz.</Banner>
      )}
      {submitted.length > 1 && (
        <section aria-labelledby="history">
          <h2 id="history">Your attempts</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Attempt</th>
                <th scope="col">Submitted</th>
                <th scope="col">Score</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {submitted.map((a) => (
                <tr key={a.id}>
                  <td>{a.number}</td>
                  <td>{dateTime(a.submittedAt)}</td>
                  <td>{percent(a)}%</td>
                  <td>{a.passed ? 'passed' : 'not passed'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function percent(attempt: Attempt): number {
  return attempt.maxScore ? Math.round(((attempt.score ?? 0) / attempt.maxScore) * 100) : 0;
}

function AttemptResult({ quiz, attempt }: { quiz: Quiz; attempt: Attempt }) {
  const answers = new Map(attempt.answers.nodes.map((a) => [a.questionId, a]));
  const showsAnswers = quiz.questions.nodes.some((q) => q.correctAnswer != null);
  return (
    <section className="card" aria-labelledby="result">
      <h2 id="result">
        Attempt {attempt.number}: {percent(attempt)}% — {attempt.passed ? 'passed' : 'not passed'}
      </h2>
      <p className="muted">
        {attempt.score ?? 0} of {attempt.maxScore ?? 0} points{attempt.late ? ' · submitted after the time limit' : ''}
      </p>
      {showsAnswers ? (
        <ol className="questions">
          {quiz.questions.nodes.map((question) => {
            const answer = answers.get(question.id);
            return (
              <li key={question.id} className={`question question--${answer?.correct ? 'right' : 'wrong'}`}>
                <p className="question__prompt">
                  <Rich text={question.prompt} />
                </p>
                <p>
                  Your answer: <strong>{describe(question, answer) || 'no answer'}</strong> {answer?.correct ? '✓ correct' : '✗ not correct'}
                </p>
                {question.correctAnswer && !answer?.correct && <p>Correct answer: {describe(question, { ...question.correctAnswer, text: question.correctAnswer.acceptedAnswers?.[0] })}</p>}
                {question.explanation && (
                  <p className="muted">
                    <Rich text={question.explanation} />
                  </p>
                )}
              </li>
            );
          })}
        </ol>
      ) : (
        <p className="muted">The correct answers are shown once you can no longer answer this quiz.</p>
      )}
    </section>
  );
}

function describe(
  question: Question,
  answer: { choices?: number[] | null; boolean?: boolean | null; text?: string | null; number?: number | null } | undefined,
): string {
  if (!answer) return '';
  switch (question.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      return (answer.choices ?? []).map((i) => question.options[i]).join(', ');
    case 'TRUE_FALSE':
      return answer.boolean == null ? '' : answer.boolean ? 'True' : 'False';
    case 'SHORT_ANSWER':
      return answer.text ?? '';
    case 'NUMERIC':
      return answer.number == null ? '' : String(answer.number);
  }
}

type SaveState = 'saving' | 'saved' | 'error';

function AttemptForm({ quiz, attempt, onDone }: { quiz: Quiz; attempt: Attempt; onDone: () => void }) {
  const toast = useToast();
  const [answers, setAnswers] = useState<Record<string, AnswerInput>>(() =>
    Object.fromEntries(attempt.answers.nodes.map((a) => [a.questionId, toInput(a)])),
  );
  const [saveState, setSaveState] = useState<Record<string, SaveState>>({});
  const [saveErrors, setSaveErrors] = useState<Record<string, string>>({});
  const [, save] = useMutation(SaveAnswer);
  const [submitResult, submit] = useMutation(SubmitAttempt);
  const timers = useRef<Record<string, ReturnType<typeof setTimeout>>>({});
  const lastSaveAt = useRef(Date.now());
  const [expired, setExpired] = useState(false);

  const persist = useCallback(
    async (questionId: string, answer: AnswerInput) => {
      setSaveState((s) => ({ ...s, [questionId]: 'saving' }));
      const spent = Math.round((Date.now() - lastSaveAt.current) / 1000);
      lastSaveAt.current = Date.now();
      const done = await save({ input: { attemptId: attempt.id, questionId, answer, timeSpentSeconds: spent } });
      const result = done.data?.saveAnswer;
      const error = typedError(result) ?? (done.error ? { message: 'Not saved: the server could not be reached.' } : null);
      setSaveState((s) => ({ ...s, [questionId]: error ? 'error' : 'saved' }));
      setSaveErrors((s) => ({ ...s, [questionId]: error?.message ?? '' }));
    },
    [attempt.id, save],
  );

  const change = (question: Question, answer: AnswerInput, debounce: boolean) => {
    setAnswers((all) => ({ ...all, [question.id]: answer }));
    clearTimeout(timers.current[question.id]);
    if (!isAnswered(question.type, answer)) return;
    if (debounce) timers.current[question.id] = setTimeout(() => void persist(question.id, answer), 600);
    else void persist(question.id, answer);
  };
  useEffect(() => () => Object.values(timers.current).forEach(clearTimeout), []);

  const finish = useCallback(async () => {
    Object.values(timers.current).forEach(clearTimeout);
    const done = await submit({ input: { attemptId: attempt.id } });
    const result = done.data?.submitQuizAttempt;
    if (result?.__typename === 'QuizAttemptSuccess') onDone();
    else if (result) toast(result.message, 'error');
  }, [attempt.id, onDone, submit, toast]);

  const left = useCountdown(attempt.deadlineAt, () => {
    setExpired(true);
    toast('Time is up: your answers were submitted.', 'info');
    void finish();
  });
  const submitError = typedError(submitResult.data?.submitQuizAttempt);
  const answeredCount = quiz.questions.nodes.filter((q) => isAnswered(q.type, answers[q.id])).length;

  return (
    <form
      className="stack-lg"
      onSubmit={(event) => {
        event.preventDefault();
        void finish();
      }}
    >
      <header className="quiz-header">
        <h1>{quiz.title}</h1>
        <p className="muted">
          Attempt {attempt.number} · answers are saved as you go · {answeredCount} of {quiz.questions.nodes.length} answered
        </p>
        {left != null && (
          <p className={`timer${left <= 60 ? ' timer--low' : ''}`} role="timer" aria-live={left <= 60 ? 'assertive' : 'off'} aria-atomic="true">
            Time left: <strong>{clock(left)}</strong>
          </p>
        )}
      </header>
      {submitError && <Banner>{submitError.message}</Banner>}
      <ol className="questions">
        {quiz.questions.nodes.map((question, i) => (
          <li key={question.id} className="card question">
            <QuestionInputs
              index={i}
              question={question}
              answer={answers[question.id]}
              disabled={expired}
              onChange={(answer, debounce) => change(question, answer, debounce)}
            />
            <p className="save-state" aria-live="polite">
              {saveState[question.id] === 'saving' && 'Saving…'}
              {saveState[question.id] === 'saved' && 'Saved'}
              {saveState[question.id] === 'error' && <span className="field__error">{saveErrors[question.id]}</span>}
            </p>
          </li>
        ))}
      </ol>
      <button type="submit" className="button button--primary" disabled={submitResult.fetching || expired}>
        Submit answers
      </button>
    </form>
  );
}

function QuestionInputs({
  index,
  question,
  answer,
  disabled,
  onChange,
}: {
  index: number;
  question: Question;
  answer: AnswerInput | undefined;
  disabled: boolean;
  onChange: (answer: AnswerInput, debounce: boolean) => void;
}) {
  const name = `q-${question.id}`;
  const legend = (
    <legend>
      <span className="question__number">Question {index + 1}</span> <span className="question__prompt">
        <Rich text={question.prompt} />
      </span>{' '}
      <span className="muted">
        ({question.points} point{question.points === 1 ? '' : 's'})
      </span>
    </legend>
  );
  switch (question.type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE': {
      const multiple = question.type === 'MULTIPLE_CHOICE';
      return (
        <fieldset disabled={disabled}>
          {legend}
          {multiple && <p className="muted">Choose every answer that applies.</p>}
          {question.options.map((option, i) => (
            <label key={i} className="choice">
              <input
                type={multiple ? 'checkbox' : 'radio'}
                name={name}
                checked={answer?.choices?.includes(i) ?? false}
                onChange={() => onChange({ choices: multiple ? toggleChoice(answer?.choices, i) : [i] }, false)}
              />
              <span>{option}</span>
            </label>
          ))}
        </fieldset>
      );
    }
    case 'TRUE_FALSE':
      return (
        <fieldset disabled={disabled}>
          {legend}
          {[true, false].map((value) => (
            <label key={String(value)} className="choice">
              <input type="radio" name={name} checked={answer?.boolean === value} onChange={() => onChange({ boolean: value }, false)} />
              <span>{value ? 'True' : 'False'}</span>
            </label>
          ))}
        </fieldset>
      );
    case 'SHORT_ANSWER':
      return (
        <fieldset disabled={disabled}>
          {legend}
          <label className="sr-only" htmlFor={name}>
            Your answer
          </label>
          <input id={name} type="text" value={answer?.text ?? ''} onChange={(e) => onChange({ text: e.target.value }, true)} />
        </fieldset>
      );
    case 'NUMERIC':
      return (
        <fieldset disabled={disabled}>
          {legend}
          <label className="sr-only" htmlFor={name}>
            Your answer (a number)
          </label>
          <input
            id={name}
            type="number"
            step="any"
            inputMode="decimal"
            value={answer?.number ?? ''}
            onChange={(e) => onChange({ number: e.target.value === '' ? null : Number(e.target.value) }, true)}
          />
        </fieldset>
      );
  }
}

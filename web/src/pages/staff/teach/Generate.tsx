// AI generation for a course: ask for a syllabus, slides, exercises or a quiz; follow the job live (progress
// and the text as the model writes it, resumed after a reconnect); tokens and cost; apply or cancel; the
// organization's daily budget left.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Progress, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { GenerateAnswerFragment, GenerateCourseQuery, GenerationJobEventsSubscription, GenerationJobViewQuery, GenerationKind, SyllabusDifficulty } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type Problem } from '../../../lib/errors';
import { useEventStream } from '../../../lib/stream';
import { dateTime } from '../../../lib/time';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { courseLinks, SectionNav } from '../StaffNav';
import { count, followText, usd, type TextEvent } from './generation-text';

const CourseQuery = graphql(`
  query GenerateCourse($id: ID!) {
    course(id: $id) {
      id
      title
      difficulty
      organization { id name }
      modules(first: 100) { nodes { id title } }
      generationJobs(first: 10) { nodes { id kind status progress createdAt costUsd } }
    }
  }
`);

const BudgetQuery = graphql(`
  query GenerationBudget($organizationId: ID!) {
    generationBudget(organizationId: $organizationId) { dailyTokenBudget tokensUsedToday tokensLeft }
  }
`);

const JobFields = graphql(`
  fragment GenerationJobFields on GenerationJob {
    id
    kind
    status
    progress
    provider
    model
    inputTokens
    outputTokens
    costUsd
    cached
    error
    attempts
    createdAt
    finishedAt
    appliedAt
    result {
      __typename
      ... on Syllabus {
        title
        overview
        learningObjectives
        prerequisites
        assessments
        modules { week title topics durationHours }
      }
      ... on SlideDeck { title slides { title bullets speakerNotes } }
      ... on ExerciseSet { exercises { title instructions language } }
      ... on QuizDraft { title questions { type prompt options correctAnswers explanation } }
    }
  }
`);

const JobQuery = graphql(`
  query GenerationJobView($id: ID!) {
    generationJob(id: $id) { ...GenerationJobFields }
  }
`);

const JobEvents = graphql(`
  subscription GenerationJobEvents($jobId: ID!, $after: Int) {
    generationJobEvents(jobId: $jobId, after: $after) { seq at status progress message partial }
  }
`);

const GenerateFragment = graphql(`
  fragment GenerateAnswer on GenerateResult {
    __typename
    # Just the id (the job view reads the rest; the whole job here would pass the depth limit).
    ... on GenerationJobSuccess { job { id kind status } }
    ... on BudgetExceededError { dailyTokenBudget tokensUsedToday }
    ...ErrorFields
  }
`);
void GenerateFragment;
void JobFields;

const GenerateSyllabus = graphql(`
  mutation GenerateSyllabus($input: GenerateSyllabusInput!) {
    generateSyllabus(input: $input) { ...GenerateAnswer }
  }
`);
const GenerateSlides = graphql(`
  mutation GenerateSlides($input: GenerateSlidesInput!) {
    generateSlides(input: $input) { ...GenerateAnswer }
  }
`);
const GenerateExercises = graphql(`
  mutation GenerateExercises($input: GenerateExercisesInput!) {
    generateExercises(input: $input) { ...GenerateAnswer }
  }
`);
const GenerateQuiz = graphql(`
  mutation GenerateQuiz($input: GenerateQuizInput!) {
    generateQuiz(input: $input) { ...GenerateAnswer }
  }
`);

const ApplyResult = graphql(`
  mutation ApplyGenerationResult($input: GenerationJobIdInput!) {
    applyGenerationResult(input: $input) {
      __typename
      ... on GenerationJobSuccess { job { id appliedAt } }
      ...ErrorFields
    }
  }
`);
const CancelJob = graphql(`
  mutation CancelGenerationJob($input: GenerationJobIdInput!) {
    cancelGenerationJob(input: $input) {
      __typename
      ... on GenerationJobSuccess { job { id status } }
      ...ErrorFields
    }
  }
`);

type Course = NonNullable<GenerateCourseQuery['course']>;
type Job = NonNullable<GenerationJobViewQuery['generationJob']>;
type JobEvent = GenerationJobEventsSubscription['generationJobEvents'];

const KINDS: { value: GenerationKind; label: string }[] = [
  { value: 'SYLLABUS', label: 'Syllabus' },
  { value: 'SLIDES', label: 'Slides for a module' },
  { value: 'EXERCISES', label: 'Exercises for a module' },
  { value: 'QUIZ', label: 'Quiz for a module' },
];
const KIND_NAME: Record<GenerationKind, string> = { SYLLABUS: 'Syllabus', SLIDES: 'Slides', EXERCISES: 'Exercises', QUIZ: 'Quiz' };
const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const label = (value: string) => value.charAt(0) + value.slice(1).toLowerCase().replace('_', ' ');

export default function GeneratePage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <Generate />
    </RequireAccess>
  );
}

function Generate() {
  const { courseId = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const jobId = search.get('job');
  const [{ data, fetching, error }, refetch] = useQuery({ query: CourseQuery, variables: { id: courseId } });
  const course = data?.course;
  useTitle(course ? `Generate for ${course.title}` : 'AI generation');
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const changed = useCallback(() => {
    reload();
    setVersion((v) => v + 1);
  }, [reload]);
  if (!course) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={8} label="Loading the course" />;
  }
  const open = (id: string) => setSearch({ job: id });
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${course.id}`}>{course.title}</Link> / <span>AI generation</span>
      </nav>
      <h1>AI generation for {course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      <BudgetCard organizationId={course.organization.id} version={version} />
      <RequestForm course={course} onQueued={open} />
      {jobId && <JobCard key={jobId} jobId={jobId} onChanged={changed} />}
      <History course={course} current={jobId} open={open} />
    </div>
  );
}

function BudgetCard({ organizationId, version }: { organizationId: string; version: number }) {
  const [{ data, error }, refetch] = useQuery({ query: BudgetQuery, variables: { organizationId } });
  // A job that ended spent tokens: read the budget again.
  useEffect(() => {
    if (version) refetch({ requestPolicy: 'network-only' });
  }, [version, refetch]);
  const budget = data?.generationBudget;
  return (
    <section className="card" aria-labelledby="budget">
      <h2 id="budget">Today’s budget</h2>
      {budget ? (
        <>
          <p>
            <strong>{count(budget.tokensLeft)}</strong> of {count(budget.dailyTokenBudget)} tokens left today (UTC); {count(budget.tokensUsedToday)} used.
            Answers from the cache cost nothing.
          </p>
          <Progress
            value={budget.dailyTokenBudget ? Math.min(100, Math.round((100 * budget.tokensUsedToday) / budget.dailyTokenBudget)) : 100}
            label="Share of today’s token budget used"
          />
        </>
      ) : error ? (
        <p className="muted">{problemOf(error)?.message}</p>
      ) : (
        <Skeleton lines={1} label="Loading the budget" />
      )}
    </section>
  );
}

function RequestForm({ course, onQueued }: { course: Course; onQueued: (jobId: string) => void }) {
  const [kind, setKind] = useState<GenerationKind>('SYLLABUS');
  const [audience, setAudience] = useState('');
  const [weeks, setWeeks] = useState('4');
  const [difficulty, setDifficulty] = useState<SyllabusDifficulty>(course.difficulty as SyllabusDifficulty);
  const [moduleId, setModuleId] = useState(course.modules.nodes[0]?.id ?? '');
  const [topics, setTopics] = useState('');
  const [howMany, setHowMany] = useState('3');
  const [language, setLanguage] = useState('python');
  const [syllabus, generateSyllabus] = useMutation(GenerateSyllabus);
  const [slides, generateSlides] = useMutation(GenerateSlides);
  const [exercises, generateExercises] = useMutation(GenerateExercises);
  const [quiz, generateQuiz] = useMutation(GenerateQuiz);
  const [answer, setAnswer] = useState<GenerateAnswerFragment | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const error = typedError(answer);
  const fields = fieldErrorMap(error);
  const busy = [syllabus, slides, exercises, quiz].some((r) => r.fetching);
  const module = course.modules.nodes.find((m) => m.id === moduleId);
  const topicList = topics
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const organizationId = course.organization.id;
    const forModule = { organizationId, courseId: course.id, moduleId, courseTitle: course.title, moduleTitle: module?.title ?? '', topics: topicList };
    const n = Number(howMany);
    const done =
      kind === 'SYLLABUS'
        ? await generateSyllabus({ input: { organizationId, courseId: course.id, title: course.title, audience, durationWeeks: Number(weeks), difficulty } })
        : kind === 'SLIDES'
          ? await generateSlides({ input: forModule })
          : kind === 'EXERCISES'
            ? await generateExercises({ input: { ...forModule, count: n, language } })
            : await generateQuiz({ input: { ...forModule, questionCount: n } });
    const result = done.data ? (Object.values(done.data)[0] as GenerateAnswerFragment) : null;
    setAnswer(result);
    setProblem(problemOf(done.error));
    if (result?.__typename === 'GenerationJobSuccess') onQueued(result.job.id);
  };

  const needsModule = kind !== 'SYLLABUS';
  return (
    <section className="card" aria-labelledby="request">
      <h2 id="request">Ask for a draft</h2>
      {error && (
        <Banner>
          {error.message}
          {answer && answer.__typename === 'BudgetExceededError' && (
            <> ({count(answer.tokensUsedToday)} of {count(answer.dailyTokenBudget)} tokens used today.)</>
          )}
          {fields[''] && <> {fields['']}</>}
        </Banner>
      )}
      {problem && <Banner>{problem.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <div className="columns">
          <div className="field">
            <label htmlFor="generation-kind">What to draft</label>
            <select id="generation-kind" value={kind} onChange={(e) => setKind(e.target.value as GenerationKind)}>
              {KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </select>
          </div>
          {needsModule && (
            <div className={`field${fields.moduleId ? ' field--invalid' : ''}`}>
              <label htmlFor="generation-module">Module</label>
              <select id="generation-module" value={moduleId} onChange={(e) => setModuleId(e.target.value)} aria-invalid={fields.moduleId ? true : undefined}>
                {course.modules.nodes.length === 0 && <option value="">No module yet</option>}
                {course.modules.nodes.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.title}
                  </option>
                ))}
              </select>
              {fields.moduleId && <p className="field__error">{fields.moduleId}</p>}
            </div>
          )}
        </div>
        {kind === 'SYLLABUS' ? (
          <div className="columns">
            <Field label="Audience" value={audience} onChange={(e) => setAudience(e.target.value)} error={fields.audience} hint="Who the course is for, e.g. “working developers”." />
            <Field label="Weeks" type="number" min={1} max={52} value={weeks} onChange={(e) => setWeeks(e.target.value)} error={fields.durationWeeks} />
            <div className="field">
              <label htmlFor="generation-difficulty">Difficulty</label>
              <select id="generation-difficulty" value={difficulty} onChange={(e) => setDifficulty(e.target.value as SyllabusDifficulty)}>
                {(['BEGINNER', 'INTERMEDIATE', 'ADVANCED'] as const).map((d) => (
                  <option key={d} value={d}>
                    {label(d)}
                  </option>
                ))}
              </select>
            </div>
          </div>
        ) : (
          <div className="columns">
            <Field label="Topics" value={topics} onChange={(e) => setTopics(e.target.value)} error={fields.topics} hint="Separated by commas; empty: the module’s title." />
            {kind !== 'SLIDES' && (
              <Field
                label={kind === 'QUIZ' ? 'Questions' : 'Exercises'}
                type="number"
                min={1}
                value={howMany}
                onChange={(e) => setHowMany(e.target.value)}
                error={fields.count ?? fields.questionCount}
              />
            )}
            {kind === 'EXERCISES' && <Field label="Language" value={language} onChange={(e) => setLanguage(e.target.value)} error={fields.language} />}
          </div>
        )}
        <div>
          <button type="submit" className="button button--primary" disabled={busy || (needsModule && !moduleId)}>
            Generate
          </button>
        </div>
      </form>
    </section>
  );
}

function JobCard({ jobId, onChanged }: { jobId: string; onChanged: () => void }) {
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: JobQuery, variables: { id: jobId } });
  const job = data?.generationJob;
  const [live, setLive] = useState<{ event: JobEvent | null; text: string }>({ event: null, text: '' });
  const [applied, apply] = useMutation(ApplyResult);
  const [cancelled, cancel] = useMutation(CancelJob);
  const stored = job?.status;
  const finished = stored ? FINISHED.includes(stored) : false;

  const onEvent = useCallback(
    (event: JobEvent) => {
      setLive((prev) => ({ event, text: followText(prev.text, event as TextEvent, prev.event as TextEvent | null) }));
      // The result, tokens and cost come with the job: read it again once it ends.
      if (FINISHED.includes(event.status)) {
        refetch({ requestPolicy: 'network-only' });
        onChanged();
      }
    },
    [refetch, onChanged],
  );
  // Every event is replayed from the start (the text is rebuilt from them), then followed live.
  const stream = useEventStream(JobEvents, { jobId }, pickJobEvent, { enabled: Boolean(job) && !finished, onEvent });

  if (!job) {
    if (fetching) return <Skeleton lines={4} label="Loading the job" />;
    return <Banner>{problemOf(error)?.message ?? 'No such generation job.'}</Banner>;
  }
  const status = finished ? job.status : (live.event?.status ?? job.status);
  const progress = finished ? job.progress : (live.event?.progress ?? job.progress);
  const applyError = typedError(applied.data?.applyGenerationResult) ?? (problemOf(applied.error) ? { message: problemOf(applied.error)!.message } : null);
  const cancelError = typedError(cancelled.data?.cancelGenerationJob) ?? (problemOf(cancelled.error) ? { message: problemOf(cancelled.error)!.message } : null);

  const doApply = async () => {
    const done = await apply({ input: { jobId } });
    if (done.data?.applyGenerationResult.__typename === 'GenerationJobSuccess') {
      toast('Applied to the course.', 'success');
      refetch({ requestPolicy: 'network-only' });
      onChanged();
    }
  };
  const doCancel = async () => {
    const done = await cancel({ input: { jobId } });
    if (done.data?.cancelGenerationJob.__typename === 'GenerationJobSuccess') {
      toast('Generation cancelled.', 'success');
      refetch({ requestPolicy: 'network-only' });
      onChanged();
    }
  };

  return (
    <section className="card" aria-labelledby="job">
      <h2 id="job">
        {KIND_NAME[job.kind]} draft <span className="badge">{label(status)}</span>
      </h2>
      <Progress value={progress} label="Generation progress" />
      <p role="status" aria-live="polite" className="muted">
        {live.event?.message ?? (finished ? `Finished ${dateTime(job.finishedAt)}.` : 'Waiting for a worker…')}
        {stream.status === 'reconnecting' && ' Reconnecting to the live updates…'}
      </p>
      {job.status === 'FAILED' && job.error && <Banner>{job.error}</Banner>}
      <dl className="facts">
        <div>
          <dt>Tokens</dt>
          <dd>
            {count(job.inputTokens)} in, {count(job.outputTokens)} out
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{job.cached ? 'None (from the cache)' : usd(job.costUsd)}</dd>
        </div>
        <div>
          <dt>Written by</dt>
          <dd>{job.provider ? `${label(job.provider)}${job.model ? ` (${job.model})` : ''}` : '—'}</dd>
        </div>
      </dl>
      {job.provider === 'OFFLINE' && <Banner tone="warning">The offline generator wrote this: a placeholder draft, not AI output.</Banner>}
      {!finished && (
        <div className="stack">
          <h3>Written so far</h3>
          <pre className="generation-text" role="region" aria-label="Text written so far" tabIndex={0}>
            {live.text || '…'}
          </pre>
          <div>
            <button type="button" className="button button--danger" onClick={doCancel} disabled={cancelled.fetching}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {cancelError && <Banner>{cancelError.message}</Banner>}
      {job.result && <ResultView result={job.result} />}
      {job.status === 'SUCCEEDED' &&
        (job.appliedAt ? (
          <Banner tone="success">Applied to the course {dateTime(job.appliedAt)}.</Banner>
        ) : (
          <div>
            <button type="button" className="button button--primary" onClick={doApply} disabled={applied.fetching}>
              Apply to the course
            </button>
          </div>
        ))}
      {applyError && <Banner>{applyError.message}</Banner>}
    </section>
  );
}

const pickJobEvent = (data: GenerationJobEventsSubscription) => data.generationJobEvents;

function ResultView({ result }: { result: NonNullable<Job['result']> }) {
  switch (result.__typename) {
    case 'Syllabus':
      return (
        <div className="stack" aria-label="Drafted syllabus" role="region">
          <h3>{result.title}</h3>
          <p>{result.overview}</p>
          <h4>Learning objectives</h4>
          <ul>
            {result.learningObjectives.map((o) => (
              <li key={o}>{o}</li>
            ))}
          </ul>
          <div className="table-scroll">
            <table className="table">
              <caption className="sr-only">Modules by week</caption>
              <thead>
                <tr>
                  <th scope="col">Week</th>
                  <th scope="col">Module</th>
                  <th scope="col">Topics</th>
                  <th scope="col">Hours</th>
                </tr>
              </thead>
              <tbody>
                {result.modules.map((m) => (
                  <tr key={m.week}>
                    <td>{m.week}</td>
                    <td>{m.title}</td>
                    <td>{m.topics.join(', ')}</td>
                    <td>{m.durationHours}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {result.prerequisites.length > 0 && <p>Prerequisites: {result.prerequisites.join(', ')}</p>}
          {result.assessments.length > 0 && <p>Assessments: {result.assessments.join(', ')}</p>}
        </div>
      );
    case 'SlideDeck':
      return (
        <div className="stack" aria-label="Drafted slides" role="region">
          <h3>{result.title}</h3>
          <ol>
            {result.slides.map((s, i) => (
              <li key={i}>
                <strong>{s.title}</strong>
                <ul>
                  {s.bullets.map((b, j) => (
                    <li key={j}>{b}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ol>
        </div>
      );
    case 'ExerciseSet':
      return (
        <div className="stack" aria-label="Drafted exercises" role="region">
          <ol>
            {result.exercises.map((e, i) => (
              <li key={i}>
                <strong>{e.title}</strong> ({e.language}) — {e.instructions}
              </li>
            ))}
          </ol>
        </div>
      );
    case 'QuizDraft':
      return (
        <div className="stack" aria-label="Drafted quiz" role="region">
          <h3>{result.title}</h3>
          <ol>
            {result.questions.map((q, i) => (
              <li key={i}>
                {q.prompt} <span className="muted">({label(q.type)}; answer: {q.correctAnswers.join(', ')})</span>
              </li>
            ))}
          </ol>
        </div>
      );
    default:
      return null;
  }
}

function History({ course, current, open }: { course: Course; current: string | null; open: (id: string) => void }) {
  const jobs = course.generationJobs.nodes;
  return (
    <section className="card" aria-labelledby="history">
      <h2 id="history">Earlier requests</h2>
      {jobs.length === 0 ? (
        <Empty title="Nothing generated for this course yet." />
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Asked</th>
                <th scope="col">What</th>
                <th scope="col">Status</th>
                <th scope="col">Cost</th>
                <th scope="col">
                  <span className="sr-only">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} aria-current={job.id === current ? 'true' : undefined}>
                  <td>{dateTime(job.createdAt)}</td>
                  <td>{KIND_NAME[job.kind]}</td>
                  <td>{label(job.status)}</td>
                  <td>{usd(job.costUsd)}</td>
                  <td>
                    <button type="button" className="button button--small" onClick={() => open(job.id)} aria-label={`Open the ${KIND_NAME[job.kind].toLowerCase()} job of ${dateTime(job.createdAt)}`}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

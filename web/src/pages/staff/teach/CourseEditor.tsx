// The instructor's course editor: details, status (with the server's typed refusals), modules and lessons
// (Markdown with live preview, reordered by drag and drop or the keyboard) and exercises.
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton, TextAreaField } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { CourseEditorQuery, Difficulty, LabIde } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type TypedError } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { MarkdownEditor } from '../MarkdownEditor';
import { ReorderList } from '../ReorderList';
import { courseLinks, SectionNav } from '../StaffNav';
import { LessonFiles } from './LessonFiles';

const CourseEditorQueryDoc = graphql(`
  query CourseEditor($id: ID!) {
    course(id: $id) {
      id
      title
      slug
      description
      category
      difficulty
      visibility
      status
      organization { id name }
      modules(first: 100) { nodes { id title position lessons(first: 100) { nodes { id title body position } } } }
      exercises(first: 100) { nodes { id title instructions language labIde starterFiles { path content } } }
      quizzes(first: 100) { nodes { id title status } }
    }
  }
`);

type Course = NonNullable<CourseEditorQuery['course']>;
type Module = Course['modules']['nodes'][number];
type Lesson = Module['lessons']['nodes'][number];
type Exercise = Course['exercises']['nodes'][number];

// Every mutation answers `<Noun>Success | <typed errors>`; the editor only needs the typename and the error.
const UpdateCourse = graphql(`
  mutation EditorUpdateCourse($input: UpdateCourseInput!) {
    updateCourse(input: $input) {
      __typename
      ... on CourseSuccess { course { id title slug description category difficulty visibility } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const PublishCourse = graphql(`
  mutation EditorPublishCourse($input: CourseIdInput!) {
    publishCourse(input: $input) {
      __typename
      ... on CourseSuccess { course { id status } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const UnpublishCourse = graphql(`
  mutation EditorUnpublishCourse($input: CourseIdInput!) {
    unpublishCourse(input: $input) {
      __typename
      ... on CourseSuccess { course { id status } }
      ... on Error { code message }
    }
  }
`);
const ArchiveCourse = graphql(`
  mutation EditorArchiveCourse($input: CourseIdInput!) {
    archiveCourse(input: $input) {
      __typename
      ... on CourseSuccess { course { id status } }
      ... on Error { code message }
    }
  }
`);
const CreateModule = graphql(`
  mutation EditorCreateModule($input: CreateModuleInput!) {
    createModule(input: $input) {
      __typename
      ... on ModuleSuccess { module { id title position } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const UpdateModule = graphql(`
  mutation EditorUpdateModule($input: UpdateModuleInput!) {
    updateModule(input: $input) {
      __typename
      ... on ModuleSuccess { module { id title } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const DeleteModule = graphql(`
  mutation EditorDeleteModule($input: DeleteInput!) {
    deleteModule(input: $input) {
      __typename
      ... on Error { code message }
    }
  }
`);
const ReorderModules = graphql(`
  mutation EditorReorderModules($input: ReorderModulesInput!) {
    reorderModules(input: $input) {
      __typename
      # The new order lands in the cache at once (same field arguments as the editor's query).
      ... on CourseSuccess { course { id modules(first: 100) { nodes { id position } } } }
      ... on Error { code message }
    }
  }
`);
const CreateLesson = graphql(`
  mutation EditorCreateLesson($input: CreateLessonInput!) {
    createLesson(input: $input) {
      __typename
      ... on LessonSuccess { lesson { id title body position } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const UpdateLesson = graphql(`
  mutation EditorUpdateLesson($input: UpdateLessonInput!) {
    updateLesson(input: $input) {
      __typename
      ... on LessonSuccess { lesson { id title body } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const DeleteLesson = graphql(`
  mutation EditorDeleteLesson($input: DeleteInput!) {
    deleteLesson(input: $input) {
      __typename
      ... on Error { code message }
    }
  }
`);
const ReorderLessons = graphql(`
  mutation EditorReorderLessons($input: ReorderLessonsInput!) {
    reorderLessons(input: $input) {
      __typename
      ... on ModuleSuccess { module { id lessons(first: 100) { nodes { id position } } } }
      ... on Error { code message }
    }
  }
`);
const CreateExercise = graphql(`
  mutation EditorCreateExercise($input: CreateExerciseInput!) {
    createExercise(input: $input) {
      __typename
      ... on ExerciseSuccess { exercise { id title } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);
const UpdateExercise = graphql(`
  mutation EditorUpdateExercise($input: UpdateExerciseInput!) {
    updateExercise(input: $input) {
      __typename
      ... on ExerciseSuccess { exercise { id title instructions language labIde starterFiles { path content } } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

const DIFFICULTIES: Difficulty[] = ['BEGINNER', 'INTERMEDIATE', 'ADVANCED'];
const IDES: { value: LabIde; label: string }[] = [
  { value: 'VSCODE', label: 'VS Code' },
  { value: 'JUPYTER', label: 'JupyterLab' },
  { value: 'TERMINAL', label: 'Terminal' },
];

const label = (value: string) => value.charAt(0) + value.slice(1).toLowerCase().replace('_', ' ');

/** The typed error of a mutation's answer (`data.<field>`), or of the request itself. */
function failure(done: { data?: Record<string, unknown> | null; error?: Parameters<typeof problemOf>[0] }): TypedError | null {
  const answer = done.data ? (Object.values(done.data)[0] as { __typename?: string }) : null;
  const typed = typedError(answer);
  if (typed) return typed;
  const problem = problemOf(done.error);
  return problem ? { __typename: 'Problem', code: problem.kind, message: problem.message } : null;
}

export default function CourseEditorPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <CourseEditor />
    </RequireAccess>
  );
}

function CourseEditor() {
  const { courseId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: CourseEditorQueryDoc, variables: { id: courseId } });
  const course = data?.course;
  useTitle(course ? `Edit ${course.title}` : 'Course editor');
  const reload = () => refetch({ requestPolicy: 'network-only' });
  if (!course) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={10} label="Loading the course" />;
  }
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <span>{course.title}</span>
      </nav>
      <h1>{course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      <StatusCard course={course} />
      <DetailsCard course={course} />
      <ModulesCard course={course} reload={reload} />
      <ExercisesCard course={course} reload={reload} />
      <QuizzesCard course={course} />
    </div>
  );
}

const CreateQuiz = graphql(`
  mutation EditorCreateQuiz($input: CreateQuizInput!) {
    createQuiz(input: $input) {
      __typename
      ... on QuizSuccess { quiz { id } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

function QuizzesCard({ course }: { course: Course }) {
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [created, create] = useMutation(CreateQuiz);
  const error = typedError(created.data?.createQuiz);
  const fields = fieldErrorMap(error);
  const add = async (event: FormEvent) => {
    event.preventDefault();
    const done = await create({ input: { courseId: course.id, title } });
    const answer = done.data?.createQuiz;
    if (answer?.__typename === 'QuizSuccess') navigate(`/teach/quizzes/${answer.quiz.id}`);
  };
  return (
    <section className="card" aria-labelledby="quizzes">
      <h2 id="quizzes">Quizzes</h2>
      {course.quizzes.nodes.length === 0 ? (
        <p className="muted">No quiz yet.</p>
      ) : (
        <ul className="list">
          {course.quizzes.nodes.map((quiz) => (
            <li key={quiz.id} className="list__item">
              <Link to={`/teach/quizzes/${quiz.id}`}>{quiz.title}</Link>
              <span className="badge">{label(quiz.status)}</span>
            </li>
          ))}
        </ul>
      )}
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {course.status !== 'ARCHIVED' && (
        <form onSubmit={add} noValidate className="inline">
          <Field label="New quiz title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} />
          <button type="submit" className="button" disabled={created.fetching || !title.trim()}>
            Add quiz
          </button>
        </form>
      )}
    </section>
  );
}

function StatusCard({ course }: { course: Course }) {
  const toast = useToast();
  const [publishing, publish] = useMutation(PublishCourse);
  const [unpublishing, unpublish] = useMutation(UnpublishCourse);
  const [archiving, archive] = useMutation(ArchiveCourse);
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const busy = publishing.fetching || unpublishing.fetching || archiving.fetching;
  const run = async (action: (vars: { input: { id: string } }) => Promise<Parameters<typeof failure>[0]>, done: string) => {
    const error = failure(await action({ input: { id: course.id } }));
    setRefusal(error);
    if (!error) toast(done, 'success');
  };
  return (
    <section className="card" aria-labelledby="status">
      <h2 id="status">Status</h2>
      <p>
        This course is <strong className="badge">{label(course.status)}</strong>{' '}
        {course.status === 'DRAFT' && 'and only its staff see it.'}
        {course.status === 'PUBLISHED' && 'and students can enroll.'}
        {course.status === 'ARCHIVED' && 'and read-only.'}
      </p>
      {refusal && (
        <Banner>
          {refusal.message}
          {refusal.fieldErrors?.map((f) => (
            <span key={f.field}> {f.message}</span>
          ))}
        </Banner>
      )}
      <div className="inline">
        {course.status === 'DRAFT' && (
          <button type="button" className="button button--primary" disabled={busy} onClick={() => run(publish, 'Course published.')}>
            Publish
          </button>
        )}
        {course.status === 'PUBLISHED' && (
          <button type="button" className="button" disabled={busy} onClick={() => run(unpublish, 'Course back to draft.')}>
            Unpublish
          </button>
        )}
        {course.status !== 'ARCHIVED' && (
          <button type="button" className="button button--danger" disabled={busy} onClick={() => run(archive, 'Course archived.')}>
            Archive
          </button>
        )}
      </div>
    </section>
  );
}

function DetailsCard({ course }: { course: Course }) {
  const toast = useToast();
  const [form, setForm] = useState({
    title: course.title,
    slug: course.slug,
    description: course.description,
    category: course.category,
    difficulty: course.difficulty,
    visibility: course.visibility,
  });
  const [result, update] = useMutation(UpdateCourse);
  const error = typedError(result.data?.updateCourse);
  const fields = fieldErrorMap(error);
  const readOnly = course.status === 'ARCHIVED';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await update({ input: { id: course.id, ...form } });
    if (done.data?.updateCourse.__typename === 'CourseSuccess') toast('Details saved.', 'success');
  };
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value });
  return (
    <section className="card" aria-labelledby="details">
      <h2 id="details">Details</h2>
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <Field label="Title" value={form.title} onChange={set('title')} error={fields.title} disabled={readOnly} />
        <Field label="Slug" value={form.slug} onChange={set('slug')} error={fields.slug} disabled={readOnly} />
        <TextAreaField label="Description" rows={4} value={form.description} onChange={set('description')} error={fields.description} disabled={readOnly} />
        <div className="columns">
          <Field label="Category" value={form.category} onChange={set('category')} error={fields.category} disabled={readOnly} />
          <div className="field">
            <label htmlFor="course-difficulty">Difficulty</label>
            <select id="course-difficulty" value={form.difficulty} onChange={set('difficulty')} disabled={readOnly}>
              {DIFFICULTIES.map((d) => (
                <option key={d} value={d}>
                  {label(d)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="course-visibility">Visibility</label>
            <select id="course-visibility" value={form.visibility} onChange={set('visibility')} disabled={readOnly}>
              <option value="ORGANIZATION">Members of {course.organization.name}</option>
              <option value="PUBLIC">Public</option>
            </select>
          </div>
        </div>
        <div>
          <button type="submit" className="button button--primary" disabled={readOnly || result.fetching}>
            Save details
          </button>
        </div>
      </form>
    </section>
  );
}

function ModulesCard({ course, reload }: { course: Course; reload: () => void }) {
  const toast = useToast();
  const [order, setOrder] = useState<Module[] | null>(null);
  const [title, setTitle] = useState('');
  const [problem, setProblem] = useState<TypedError | null>(null);
  const [created, createModule] = useMutation(CreateModule);
  const [, reorder] = useMutation(ReorderModules);
  const modules = order ?? course.modules.nodes;
  const fields = fieldErrorMap(typedError(created.data?.createModule));
  const readOnly = course.status === 'ARCHIVED';

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const done = await createModule({ input: { courseId: course.id, title } });
    if (done.data?.createModule.__typename === 'ModuleSuccess') {
      setTitle('');
      reload();
    }
  };
  const saveOrder = async (next: Module[]) => {
    setOrder(next);
    const error = failure(await reorder({ input: { courseId: course.id, moduleIds: next.map((m) => m.id) } }));
    // The shown order is the server's again: the saved one, or the old one after a refusal.
    setOrder(null);
    setProblem(error);
    if (!error) toast('Module order saved.', 'success');
  };
  return (
    <section className="card" aria-labelledby="modules">
      <h2 id="modules">Modules and lessons</h2>
      {problem && <Banner>{problem.message}</Banner>}
      {modules.length === 0 ? (
        <Empty title="No module yet.">A course is published once it has a module with a lesson.</Empty>
      ) : (
        <ReorderList
          items={modules}
          noun="module"
          keyOf={(m) => m.id}
          labelOf={(m) => m.title}
          onReorder={saveOrder}
          disabled={readOnly}
          renderItem={(module, index) => <ModuleEditor courseId={course.id} module={module} number={index + 1} readOnly={readOnly} reload={reload} />}
        />
      )}
      {!readOnly && (
        <form onSubmit={add} noValidate className="inline">
          <Field label="New module title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} />
          <button type="submit" className="button" disabled={created.fetching || !title.trim()}>
            Add module
          </button>
        </form>
      )}
    </section>
  );
}

function ModuleEditor({ courseId, module, number, readOnly, reload }: { courseId: string; module: Module; number: number; readOnly: boolean; reload: () => void }) {
  const toast = useToast();
  const [title, setTitle] = useState(module.title);
  const [lessonTitle, setLessonTitle] = useState('');
  const [order, setOrder] = useState<Lesson[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<TypedError | null>(null);
  const [, updateModule] = useMutation(UpdateModule);
  const [, deleteModule] = useMutation(DeleteModule);
  const [, reorder] = useMutation(ReorderLessons);
  const [created, createLesson] = useMutation(CreateLesson);
  const lessons = order ?? module.lessons.nodes;

  const rename = async (event: FormEvent) => {
    event.preventDefault();
    const error = failure(await updateModule({ input: { id: module.id, title } }));
    setProblem(error);
    if (!error) toast('Module renamed.', 'success');
  };
  const remove = async () => {
    if (!window.confirm(`Delete the module “${module.title}” and its lessons?`)) return;
    const error = failure(await deleteModule({ input: { id: module.id } }));
    setProblem(error);
    if (!error) reload();
  };
  const addLesson = async (event: FormEvent) => {
    event.preventDefault();
    const done = await createLesson({ input: { moduleId: module.id, title: lessonTitle, body: '' } });
    const answer = done.data?.createLesson;
    if (answer?.__typename === 'LessonSuccess') {
      setLessonTitle('');
      setOpen(answer.lesson.id);
      reload();
    } else setProblem(failure(done));
  };
  const saveOrder = async (next: Lesson[]) => {
    setOrder(next);
    const error = failure(await reorder({ input: { moduleId: module.id, lessonIds: next.map((l) => l.id) } }));
    setOrder(null);
    setProblem(error);
    if (!error) toast('Lesson order saved.', 'success');
  };
  return (
    <div className="stack">
      <form onSubmit={rename} className="inline">
        <Field label={`Module ${number} title`} value={title} onChange={(e) => setTitle(e.target.value)} disabled={readOnly} />
        {!readOnly && (
          <>
            <button type="submit" className="button button--small" disabled={title === module.title || !title.trim()}>
              Rename
            </button>
            <button type="button" className="button button--small button--danger" onClick={remove}>
              Delete module
            </button>
          </>
        )}
      </form>
      {problem && <Banner>{problem.message}</Banner>}
      {lessons.length > 0 && (
        <ReorderList
          items={lessons}
          noun="lesson"
          keyOf={(l) => l.id}
          labelOf={(l) => l.title}
          onReorder={saveOrder}
          disabled={readOnly}
          renderItem={(lesson) =>
            open === lesson.id ? (
              <LessonEditor courseId={courseId} lesson={lesson} readOnly={readOnly} close={() => setOpen(null)} reload={reload} />
            ) : (
              <button type="button" className="button button--ghost" onClick={() => setOpen(lesson.id)} aria-label={`Edit lesson “${lesson.title}”`}>
                {lesson.title}
              </button>
            )
          }
        />
      )}
      {!readOnly && (
        <form onSubmit={addLesson} noValidate className="inline">
          <Field
            label={`New lesson in “${module.title}”`}
            value={lessonTitle}
            onChange={(e) => setLessonTitle(e.target.value)}
            error={fieldErrorMap(typedError(created.data?.createLesson)).title}
          />
          <button type="submit" className="button button--small" disabled={created.fetching || !lessonTitle.trim()}>
            Add lesson
          </button>
        </form>
      )}
    </div>
  );
}

export function LessonEditor({ courseId, lesson, readOnly, close, reload }: { courseId: string; lesson: Lesson; readOnly: boolean; close: () => void; reload: () => void }) {
  const toast = useToast();
  const [title, setTitle] = useState(lesson.title);
  const [body, setBody] = useState(lesson.body);
  const [result, update] = useMutation(UpdateLesson);
  const [, remove] = useMutation(DeleteLesson);
  const [problem, setProblem] = useState<TypedError | null>(null);
  const fields = fieldErrorMap(typedError(result.data?.updateLesson));
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const done = await update({ input: { id: lesson.id, title, body } });
    const error = failure(done);
    setProblem(Object.keys(fieldErrorMap(error)).length ? null : error);
    if (!error) toast('Lesson saved.', 'success');
  };
  const destroy = async () => {
    if (!window.confirm(`Delete the lesson “${lesson.title}”?`)) return;
    const error = failure(await remove({ input: { id: lesson.id } }));
    setProblem(error);
    if (!error) {
      close();
      reload();
    }
  };
  return (
    <div className="stack">
      <form onSubmit={save} noValidate className="stack lesson-editor">
        {problem && <Banner>{problem.message}</Banner>}
        <Field label="Lesson title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} disabled={readOnly} />
        <MarkdownEditor label="Lesson text (Markdown)" value={body} onChange={setBody} error={fields.body} />
        <div className="inline">
          {!readOnly && (
            <button type="submit" className="button button--primary" disabled={result.fetching}>
              Save lesson
            </button>
          )}
          <button type="button" className="button button--ghost" onClick={close}>
            Close
          </button>
          {!readOnly && (
            <button type="button" className="button button--danger" onClick={destroy}>
              Delete lesson
            </button>
          )}
        </div>
      </form>
      {/* Beside the form, not in it: uploads are their own requests, not part of "Save lesson". */}
      <LessonFiles courseId={courseId} lessonId={lesson.id} lessonTitle={lesson.title} readOnly={readOnly} />
    </div>
  );
}

function ExercisesCard({ course, reload }: { course: Course; reload: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [created, create] = useMutation(CreateExercise);
  const fields = fieldErrorMap(typedError(created.data?.createExercise));
  const readOnly = course.status === 'ARCHIVED';
  const add = async (event: FormEvent) => {
    event.preventDefault();
    const done = await create({ input: { courseId: course.id, title } });
    const answer = done.data?.createExercise;
    if (answer?.__typename === 'ExerciseSuccess') {
      setTitle('');
      setOpen(answer.exercise.id);
      reload();
    }
  };
  return (
    <section className="card" aria-labelledby="exercises">
      <h2 id="exercises">Exercises</h2>
      {course.exercises.nodes.length === 0 && <p className="muted">No exercise yet.</p>}
      <ul className="list">
        {course.exercises.nodes.map((exercise) => (
          <li key={exercise.id} className="list__item list__item--block">
            {open === exercise.id ? (
              <ExerciseEditor exercise={exercise} readOnly={readOnly} close={() => setOpen(null)} />
            ) : (
              <button type="button" className="button button--ghost" onClick={() => setOpen(exercise.id)} aria-label={`Edit exercise “${exercise.title}”`}>
                {exercise.title}
              </button>
            )}
          </li>
        ))}
      </ul>
      {!readOnly && (
        <form onSubmit={add} noValidate className="inline">
          <Field label="New exercise title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} />
          <button type="submit" className="button" disabled={created.fetching || !title.trim()}>
            Add exercise
          </button>
        </form>
      )}
    </section>
  );
}

function ExerciseEditor({ exercise, readOnly, close }: { exercise: Exercise; readOnly: boolean; close: () => void }) {
  const toast = useToast();
  const [title, setTitle] = useState(exercise.title);
  const [instructions, setInstructions] = useState(exercise.instructions);
  const [language, setLanguage] = useState(exercise.language);
  const [labIde, setLabIde] = useState<LabIde>(exercise.labIde);
  const [files, setFiles] = useState(exercise.starterFiles.map(({ path, content }) => ({ path, content })));
  const [result, update] = useMutation(UpdateExercise);
  const error = typedError(result.data?.updateExercise);
  const fields = fieldErrorMap(error);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const done = await update({ input: { id: exercise.id, title, instructions, language, labIde, starterFiles: files } });
    if (!failure(done)) toast('Exercise saved.', 'success');
  };
  const setFile = (index: number, patch: Partial<(typeof files)[number]>) => setFiles(files.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  return (
    <form onSubmit={save} noValidate className="stack">
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      <Field label="Exercise title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} disabled={readOnly} />
      <MarkdownEditor label="Instructions (Markdown)" value={instructions} onChange={setInstructions} error={fields.instructions} rows={8} />
      <div className="columns">
        <Field label="Language" value={language} onChange={(e) => setLanguage(e.target.value)} error={fields.language} disabled={readOnly} />
        <div className="field">
          <label htmlFor={`ide-${exercise.id}`}>IDE</label>
          <select id={`ide-${exercise.id}`} value={labIde} onChange={(e) => setLabIde(e.target.value as LabIde)} disabled={readOnly}>
            {IDES.map((ide) => (
              <option key={ide.value} value={ide.value}>
                {ide.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <fieldset className="stack">
        <legend>Starter files</legend>
        {files.map((file, index) => (
          <div key={index} className="stack starter-file">
            <Field label={`File ${index + 1} path`} value={file.path} onChange={(e) => setFile(index, { path: e.target.value })} error={fields[`starterFiles.${index}.path`]} disabled={readOnly} />
            <TextAreaField label={`File ${index + 1} content`} rows={6} className="code" value={file.content} onChange={(e) => setFile(index, { content: e.target.value })} disabled={readOnly} />
            {!readOnly && (
              <button type="button" className="button button--small button--ghost" onClick={() => setFiles(files.filter((_, i) => i !== index))}>
                Remove file {index + 1}
              </button>
            )}
          </div>
        ))}
        {!readOnly && (
          <div>
            <button type="button" className="button button--small" onClick={() => setFiles([...files, { path: '', content: '' }])}>
              Add a starter file
            </button>
          </div>
        )}
      </fieldset>
      <div className="inline">
        {!readOnly && (
          <button type="submit" className="button button--primary" disabled={result.fetching}>
            Save exercise
          </button>
        )}
        <button type="button" className="button button--ghost" onClick={close}>
          Close
        </button>
      </div>
    </form>
  );
}

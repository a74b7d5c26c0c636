import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { Banner, Empty, Field, ProblemView, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { CourseStatus } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { MyOrganizationsQuery, RequireAccess, useStaffAccess } from '../access';

const TaughtCourses = graphql(`
  query TaughtCourses {
    me {
      id
      taughtCourses(first: 100) {
        nodes { id title slug status updatedAt organization { id name } }
      }
    }
  }
`);

const CreateCourseMutation = graphql(`
  mutation CreateCourse($input: CreateCourseInput!) {
    createCourse(input: $input) {
      __typename
      ... on CourseSuccess { course { id title slug status } }
      ... on Error { code message }
      ... on ValidationError { fieldErrors { field message } }
    }
  }
`);

const STATUSES: { status: CourseStatus; title: string }[] = [
  { status: 'DRAFT', title: 'Drafts' },
  { status: 'PUBLISHED', title: 'Published' },
  { status: 'ARCHIVED', title: 'Archived' },
];

/** A slug from a title: "Intro to Python!" -> "intro-to-python". */
export function slugOf(title: string): string {
  return title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

export default function MyCoursesPage() {
  useTitle('My courses');
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <MyCourses />
    </RequireAccess>
  );
}

function MyCourses() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: TaughtCourses });
  if (!data?.me) {
    const problem = problemOf(error);
    if (problem && !fetching) return <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    return <Skeleton lines={6} label="Loading your courses" />;
  }
  const courses = data.me.taughtCourses.nodes;
  return (
    <div className="stack-lg">
      <h1>My courses</h1>
      <NewCourse onCreated={() => refetch({ requestPolicy: 'network-only' })} />
      {courses.length === 0 && <Empty title="You do not teach a course yet.">Create your first one above.</Empty>}
      {STATUSES.map(({ status, title }) => {
        const group = courses.filter((c) => c.status === status);
        if (group.length === 0) return null;
        return (
          <section key={status} className="card" aria-labelledby={`courses-${status}`}>
            <h2 id={`courses-${status}`}>
              {title} <span className="muted">({group.length})</span>
            </h2>
            <ul className="list">
              {group.map((course) => (
                <li key={course.id} className="list__item">
                  <Link to={`/teach/courses/${course.id}`}>{course.title}</Link>
                  <span className="muted">{course.organization.name}</span>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

function NewCourse({ onCreated }: { onCreated: () => void }) {
  const navigate = useNavigate();
  const access = useStaffAccess();
  const [{ data: orgs }] = useQuery({ query: MyOrganizationsQuery });
  const teachable = (orgs?.myOrganizations ?? []).filter((o) => o.viewerRole !== 'STUDENT' || access.siteAdmin);
  const [title, setTitle] = useState('');
  const [slug, setSlug] = useState('');
  const [organizationId, setOrganizationId] = useState('');
  const [result, create] = useMutation(CreateCourseMutation);
  const error = typedError(result.data?.createCourse);
  const fields = fieldErrorMap(error);
  const problem = problemOf(result.error);
  const orgId = organizationId || teachable[0]?.id || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await create({ input: { organizationId: orgId, title, slug: slug || slugOf(title) } });
    const answer = done.data?.createCourse;
    if (answer?.__typename === 'CourseSuccess') {
      onCreated();
      navigate(`/teach/courses/${answer.course.id}`);
    }
  };
  if (orgs && teachable.length === 0) return null;
  return (
    <section className="card" aria-labelledby="new-course">
      <h2 id="new-course">New course</h2>
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problem && <Banner>{problem.message}</Banner>}
      <form onSubmit={submit} noValidate className="stack">
        <Field label="Title" value={title} onChange={(e) => setTitle(e.target.value)} error={fields.title} required />
        <Field
          label="Slug"
          hint="3–64 lower-case letters, digits and dashes; made from the title when left empty."
          value={slug}
          placeholder={slugOf(title)}
          onChange={(e) => setSlug(e.target.value)}
          error={fields.slug}
        />
        {teachable.length > 1 && (
          <div className="field">
            <label htmlFor="new-course-org">Organization</label>
            <select id="new-course-org" value={orgId} onChange={(e) => setOrganizationId(e.target.value)}>
              {teachable.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div>
          <button type="submit" className="button button--primary" disabled={result.fetching || !title.trim()}>
            Create draft
          </button>
        </div>
      </form>
    </section>
  );
}

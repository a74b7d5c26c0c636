import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { Empty, ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import type { CourseOrder, Difficulty } from '../../gql/graphql';
import { problemOf } from '../../lib/errors';
import { useTitle } from '../../lib/useTitle';

const CatalogQuery = graphql(`
  query Catalog($filter: CourseFilter, $orderBy: CourseOrder!, $first: Int, $after: String) {
    courses(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        title
        description
        category
        difficulty
        estimatedDurationHours
        visibility
        organization { id name }
        instructor { id fullName }
        viewerEnrollment { id status progressPercent }
      }
    }
  }
`);

const PAGE_SIZE = 12;
const DIFFICULTIES: Difficulty[] = ['BEGINNER', 'INTERMEDIATE', 'ADVANCED'];

export default function Catalog() {
  useTitle('Catalog');
  const [params, setParams] = useSearchParams();
  const search = params.get('q') ?? '';
  const category = params.get('category') ?? '';
  const difficulty = (params.get('difficulty') ?? '') as Difficulty | '';
  const order = (params.get('order') ?? (search ? 'RELEVANCE' : 'NEWEST')) as CourseOrder;
  // Cursors of the pages before this one, so "Previous" works without server support for `before`.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const [text, setText] = useState(search);
  useEffect(() => setCursors([null]), [search, category, difficulty, order]);

  const [{ data, fetching, error }] = useQuery({
    query: CatalogQuery,
    variables: {
      filter: {
        status: 'PUBLISHED',
        search: search || null,
        category: category || null,
        difficulty: difficulty || null,
      },
      orderBy: order,
      first: PAGE_SIZE,
      after,
    },
  });
  const problem = problemOf(error);

  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace: true });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update({ q: text.trim(), order: text.trim() ? 'RELEVANCE' : params.get('order') === 'RELEVANCE' ? '' : (params.get('order') ?? '') });
  };

  const courses = data?.courses.nodes ?? [];
  return (
    <div className="stack-lg">
      <h1>Course catalog</h1>
      <form className="filters" role="search" onSubmit={submit}>
        <div className="field field--grow">
          <label htmlFor="catalog-search">Search courses</label>
          <div className="inline">
            <input id="catalog-search" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. python loops" />
            <button type="submit" className="button button--primary">
              Search
            </button>
          </div>
        </div>
        <div className="field">
          <label htmlFor="catalog-category">Category</label>
          <input id="catalog-category" value={category} onChange={(e) => update({ category: e.target.value })} placeholder="Any" />
        </div>
        <div className="field">
          <label htmlFor="catalog-difficulty">Difficulty</label>
          <select id="catalog-difficulty" value={difficulty} onChange={(e) => update({ difficulty: e.target.value })}>
            <option value="">Any</option>
            {DIFFICULTIES.map((d) => (
              <option key={d} value={d}>
                {d.charAt(0) + d.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="catalog-order">Order</label>
          <select id="catalog-order" value={order} onChange={(e) => update({ order: e.target.value })}>
            {search && <option value="RELEVANCE">Best match</option>}
            <option value="NEWEST">Newest</option>
            <option value="TITLE">Title</option>
          </select>
        </div>
      </form>

      {problem && !data ? (
        <ProblemView problem={problem} />
      ) : !data && fetching ? (
        <Skeleton lines={6} label="Loading courses" />
      ) : courses.length === 0 ? (
        <Empty title={search || category || difficulty ? 'No course matches these filters.' : 'No published course yet.'} />
      ) : (
        <>
          <p className="muted" aria-live="polite">
            {search ? `Courses matching “${search}”` : 'Published courses you can join'}
          </p>
          <ul className="cards">
            {courses.map((course) => (
              <li key={course.id} className="card course-card">
                <h2 className="course-card__title">
                  <Link to={`/courses/${course.id}`}>{course.title}</Link>
                </h2>
                <p className="muted">
                  {/* A public course of an organization you are not in: its name is not yours to see. */}
                  {[course.organization?.name, course.instructor?.fullName].filter(Boolean).join(' · ')}
                </p>
                <p className="course-card__desc">{course.description}</p>
                <p className="tags">
                  {course.category && <span className="badge">{course.category}</span>}
                  <span className="badge">{course.difficulty.toLowerCase()}</span>
                  {course.estimatedDurationHours != null && <span className="badge">{course.estimatedDurationHours} h</span>}
                  {course.viewerEnrollment && course.viewerEnrollment.status !== 'DROPPED' && (
                    <span className="badge badge--success">enrolled · {course.viewerEnrollment.progressPercent}%</span>
                  )}
                </p>
              </li>
            ))}
          </ul>
          <nav className="pager" aria-label="Pages">
            <button type="button" className="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous
            </button>
            <span className="muted">Page {cursors.length}</span>
            <button
              type="button"
              className="button"
              disabled={!data?.courses.pageInfo.hasNextPage}
              onClick={() => setCursors((c) => [...c, data!.courses.pageInfo.endCursor ?? null])}
            >
              Next
            </button>
          </nav>
        </>
      )}
    </div>
  );
}

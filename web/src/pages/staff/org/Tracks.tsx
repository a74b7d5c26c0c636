// An organization's tracks: ordered learning paths of its courses. Create, rename, add and remove courses,
// reorder them (drag and drop or the keyboard), delete.
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, Field, ProblemView, Skeleton, TextAreaField } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { OrganizationTracksQuery } from '../../../gql/graphql';
import { fieldErrorMap, problemOf, typedError, type TypedError } from '../../../lib/errors';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { ReorderList } from '../ReorderList';
import { organizationLinks, SectionNav } from '../StaffNav';
import { useOrganization } from './useOrganization';

const TracksQuery = graphql(`
  query OrganizationTracks($organizationId: ID!) {
    tracks(organizationId: $organizationId, first: 100) { nodes { id name description courseIds updatedAt } }
    organization(id: $organizationId) { id courses(first: 100) { nodes { id title status } } }
  }
`);

const CreateTrack = graphql(`
  mutation CreateTrack($input: CreateTrackInput!) {
    createTrack(input: $input) {
      __typename
      ... on TrackSuccess { track { id name description courseIds } }
      ...ErrorFields
    }
  }
`);
const UpdateTrack = graphql(`
  mutation UpdateTrack($input: UpdateTrackInput!) {
    updateTrack(input: $input) {
      __typename
      ... on TrackSuccess { track { id name description courseIds } }
      ...ErrorFields
    }
  }
`);
const ReorderTrack = graphql(`
  mutation ReorderTrack($input: ReorderTrackInput!) {
    reorderTrack(input: $input) {
      __typename
      ... on TrackSuccess { track { id courseIds } }
      ...ErrorFields
    }
  }
`);
const DeleteTrack = graphql(`
  mutation DeleteTrack($input: DeleteTrackInput!) {
    deleteTrack(input: $input) {
      __typename
      ...ErrorFields
    }
  }
`);

type Track = OrganizationTracksQuery['tracks']['nodes'][number];
type CourseLine = { id: string; title: string; status: string };

function answerOf(data: Record<string, unknown> | null | undefined): { __typename?: string } | null {
  return data ? (Object.values(data)[0] as { __typename?: string }) : null;
}

export default function TracksPage() {
  const { slug = '' } = useParams();
  return (
    <RequireAccess allowed={(a) => a.siteAdmin || a.administers.some((o) => o.slug === slug)}>
      <Tracks slug={slug} />
    </RequireAccess>
  );
}

function Tracks({ slug }: { slug: string }) {
  const organization = useOrganization(slug);
  useTitle(organization.data ? `Tracks of ${organization.data.name}` : 'Tracks');
  if (!organization.data) return organization.fallback;
  return (
    <div className="stack-lg">
      <h1>Tracks of {organization.data.name}</h1>
      <SectionNav label="Organization" links={organizationLinks(slug)} />
      <TrackList organizationId={organization.data.id} />
    </div>
  );
}

function TrackList({ organizationId }: { organizationId: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: TracksQuery, variables: { organizationId } });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  if (!data) {
    const problem = problemOf(error);
    return problem && !fetching ? <ProblemView problem={problem} retry={reload} /> : <Skeleton lines={6} label="Loading the tracks" />;
  }
  const courses = data.organization?.courses.nodes ?? [];
  return (
    <>
      <NewTrack organizationId={organizationId} onCreated={reload} />
      {data.tracks.nodes.length === 0 ? (
        <Empty title="No track yet: a track puts courses in the order they are taken." />
      ) : (
        data.tracks.nodes.map((track) => <TrackCard key={track.id} track={track} courses={courses} onDeleted={reload} />)
      )}
    </>
  );
}

function NewTrack({ organizationId, onCreated }: { organizationId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [result, create] = useMutation(CreateTrack);
  const error = typedError(result.data?.createTrack);
  const fields = fieldErrorMap(error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await create({ input: { organizationId, name } });
    if (done.data?.createTrack.__typename === 'TrackSuccess') {
      setName('');
      onCreated();
    }
  };
  return (
    <section className="card" aria-labelledby="new-track">
      <h2 id="new-track">New track</h2>
      {error && !Object.keys(fields).length && <Banner>{error.message}</Banner>}
      {problemOf(result.error) && <Banner>{problemOf(result.error)?.message}</Banner>}
      <form onSubmit={submit} noValidate className="inline">
        <Field label="Track name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
        <button type="submit" className="button button--primary" disabled={result.fetching || !name.trim()}>
          Create track
        </button>
      </form>
    </section>
  );
}

function TrackCard({ track, courses, onDeleted }: { track: Track; courses: CourseLine[]; onDeleted: () => void }) {
  const toast = useToast();
  const [name, setName] = useState(track.name);
  const [description, setDescription] = useState(track.description);
  const [adding, setAdding] = useState('');
  const [refusal, setRefusal] = useState<TypedError | null>(null);
  const [updated, update] = useMutation(UpdateTrack);
  const [reordering, reorder] = useMutation(ReorderTrack);
  const [, destroy] = useMutation(DeleteTrack);
  const byId = new Map(courses.map((c) => [c.id, c]));
  // Courses the viewer cannot see (or removed since) still hold their place, by id.
  const ordered: CourseLine[] = track.courseIds.map((id) => byId.get(id) ?? { id, title: 'A course you cannot see', status: '' });
  const addable = courses.filter((c) => !track.courseIds.includes(c.id));
  const fields = fieldErrorMap(refusal);

  const failed = (done: { data?: Record<string, unknown> | null; error?: Parameters<typeof problemOf>[0] }) => {
    const error = typedError(answerOf(done.data)) ?? (problemOf(done.error) ? { __typename: 'Problem', code: 'problem', message: problemOf(done.error)!.message } : null);
    setRefusal(error);
    return error;
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!failed(await update({ input: { id: track.id, name, description } }))) toast('Track saved.', 'success');
  };
  const setCourses = async (courseIds: string[], message: string) => {
    if (!failed(await update({ input: { id: track.id, courseIds } }))) toast(message, 'success');
  };
  const saveOrder = async (items: CourseLine[]) => {
    if (!failed(await reorder({ input: { id: track.id, courseIds: items.map((c) => c.id) } }))) toast('Course order saved.', 'success');
  };
  const remove = async () => {
    if (!window.confirm(`Delete the track “${track.name}”? Its courses stay.`)) return;
    if (!failed(await destroy({ input: { id: track.id } }))) {
      toast('Track deleted.', 'success');
      onDeleted();
    }
  };
  const headingId = `track-${track.id}`;
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{track.name}</h2>
      {refusal && !Object.keys(fields).length && <Banner>{refusal.message}</Banner>}
      <form onSubmit={save} noValidate className="stack">
        <Field label={`Name of “${track.name}”`} value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
        <TextAreaField label={`Description of “${track.name}”`} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} error={fields.description} />
        <div className="inline">
          <button type="submit" className="button" disabled={updated.fetching}>
            Save track
          </button>
          <button type="button" className="button button--danger" onClick={remove}>
            Delete track
          </button>
        </div>
      </form>
      <h3>Courses, in the order they are taken</h3>
      {ordered.length === 0 ? (
        <p className="muted">No course in this track yet.</p>
      ) : (
        <ReorderList
          items={ordered}
          noun="course"
          keyOf={(c) => c.id}
          labelOf={(c) => c.title}
          onReorder={saveOrder}
          disabled={reordering.fetching}
          renderItem={(c, index) => (
            <div className="inline">
              <span>
                {index + 1}. {c.title} {c.status && <span className="badge">{c.status.toLowerCase()}</span>}
              </span>
              <button
                type="button"
                className="button button--small button--ghost"
                onClick={() => setCourses(track.courseIds.filter((id) => id !== c.id), `${c.title} removed from the track.`)}
                aria-label={`Remove “${c.title}” from “${track.name}”`}
              >
                Remove
              </button>
            </div>
          )}
        />
      )}
      {addable.length > 0 && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (adding) void setCourses([...track.courseIds, adding], `${byId.get(adding)?.title} added to the track.`).then(() => setAdding(''));
          }}
        >
          <div className="field">
            <label htmlFor={`add-${track.id}`}>Add a course to “{track.name}”</label>
            <select id={`add-${track.id}`} value={adding} onChange={(e) => setAdding(e.target.value)}>
              <option value="">Choose a course</option>
              {addable.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button" disabled={!adding || updated.fetching}>
            Add course
          </button>
        </form>
      )}
    </section>
  );
}

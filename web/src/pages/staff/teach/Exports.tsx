// Exports of a course: pick a format (PDF, PPTX, SCORM 1.2, SCORM 2004, Common Cartridge), follow the job live
// (exportJobEvents, resumed after a reconnect), cancel it, download the result; earlier exports below.
import { useCallback, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useClient, useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Empty, ProblemView, Progress, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { ExportFormat, ExportJobEventsSubscription } from '../../../gql/graphql';
import { downloadContent } from '../../../lib/content-download';
import { problemOf, typedError } from '../../../lib/errors';
import { useEventStream } from '../../../lib/stream';
import { dateTime } from '../../../lib/time';
import { fileSize } from '../../../lib/upload';
import { useTitle } from '../../../lib/useTitle';
import { RequireAccess } from '../access';
import { courseLinks, SectionNav } from '../StaffNav';

const ExportsDoc = graphql(`
  query CourseExports($id: ID!) {
    course(id: $id) {
      id
      title
      exports(first: 20) { nodes { ...ExportJobFields } }
    }
  }
`);

const JobFields = graphql(`
  fragment ExportJobFields on ExportJob {
    id
    format
    status
    progress
    error
    createdAt
    finishedAt
    result { id name }
    resultVersion { id number size }
  }
`);
void JobFields;

const JobDoc = graphql(`
  query ExportJobView($id: ID!) {
    exportJob(id: $id) { ...ExportJobFields }
  }
`);

const JobEvents = graphql(`
  subscription ExportJobEvents($jobId: ID!, $after: Int) {
    exportJobEvents(jobId: $jobId, after: $after) { seq at status progress message }
  }
`);

const ExportCourse = graphql(`
  mutation ExportCourse($input: ExportCourseInput!) {
    exportCourse(input: $input) {
      __typename
      ... on ExportJobSuccess { job { id status } }
      ...ErrorFields
    }
  }
`);

const CancelExport = graphql(`
  mutation CancelExportJob($input: ExportJobIdInput!) {
    cancelExportJob(input: $input) {
      __typename
      ... on ExportJobSuccess { job { id status } }
      ...ErrorFields
    }
  }
`);

type JobEvent = ExportJobEventsSubscription['exportJobEvents'];

export const FORMATS: { value: ExportFormat; label: string; hint: string }[] = [
  { value: 'PDF', label: 'PDF', hint: 'for reading and printing (no quiz answers)' },
  { value: 'PPTX', label: 'PowerPoint (PPTX)', hint: 'slides for presenting' },
  { value: 'SCORM_12', label: 'SCORM 1.2', hint: 'any LMS' },
  { value: 'SCORM_2004', label: 'SCORM 2004', hint: 'LMSs that track SCORM 2004 4th edition' },
  { value: 'COMMON_CARTRIDGE', label: 'Common Cartridge', hint: 'moving the course to Canvas, Moodle, Blackboard, D2L' },
];
const FORMAT_NAME = Object.fromEntries(FORMATS.map((f) => [f.value, f.label])) as Record<ExportFormat, string>;
const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const label = (value: string) => value.charAt(0) + value.slice(1).toLowerCase();

export default function ExportsPage() {
  return (
    <RequireAccess allowed={(a) => a.teaches}>
      <Exports />
    </RequireAccess>
  );
}

function Exports() {
  const { courseId = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const jobId = search.get('job');
  const [{ data, fetching, error }, refetch] = useQuery({ query: ExportsDoc, variables: { id: courseId } });
  const course = data?.course;
  useTitle(course ? `Exports of ${course.title}` : 'Exports');
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  if (!course) {
    const problem = problemOf(error) ?? (data ? { kind: 'not-found' as const, message: '' } : null);
    if (problem && !fetching) return <ProblemView problem={problem} retry={reload} />;
    return <Skeleton lines={8} label="Loading the course" />;
  }
  const open = (id: string) => {
    setSearch({ job: id });
    reload();
  };
  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/teach">My courses</Link> / <Link to={`/teach/courses/${course.id}`}>{course.title}</Link> / <span>Exports</span>
      </nav>
      <h1>Exports of {course.title}</h1>
      <SectionNav label="Course" links={courseLinks(course.id)} />
      <ExportForm courseId={course.id} onQueued={open} />
      {jobId && <JobCard key={jobId} jobId={jobId} onChanged={reload} />}
      <section className="card" aria-labelledby="earlier-exports">
        <h2 id="earlier-exports">Earlier exports</h2>
        {course.exports.nodes.length === 0 ? (
          <Empty title="No export yet." />
        ) : (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Format</th>
                  <th scope="col">Requested</th>
                  <th scope="col">Status</th>
                  <th scope="col">File</th>
                </tr>
              </thead>
              <tbody>
                {course.exports.nodes.map((job) => (
                  <tr key={job.id} aria-current={job.id === jobId ? 'true' : undefined}>
                    <td>
                      <button type="button" className="link-button" onClick={() => setSearch({ job: job.id })}>
                        {FORMAT_NAME[job.format]}
                        <span className="sr-only"> export of {dateTime(job.createdAt)}</span>
                      </button>
                    </td>
                    <td>{dateTime(job.createdAt)}</td>
                    <td>
                      <span className="badge">{label(job.status)}</span>
                    </td>
                    <td>{job.status === 'SUCCEEDED' && job.result ? <DownloadResult job={job} /> : job.error ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function ExportForm({ courseId, onQueued }: { courseId: string; onQueued: (jobId: string) => void }) {
  const [format, setFormat] = useState<ExportFormat>('PDF');
  const [result, exportCourse] = useMutation(ExportCourse);
  const refused = typedError(result.data?.exportCourse);
  const problem = problemOf(result.error);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await exportCourse({ input: { courseId, format } });
    const answer = done.data?.exportCourse;
    if (answer?.__typename === 'ExportJobSuccess') onQueued(answer.job.id);
  };
  return (
    <section className="card" aria-labelledby="new-export">
      <h2 id="new-export">Export the course</h2>
      {refused && (
        <Banner>
          {refused.message}
          {refused.fieldErrors?.map((f) => (
            <span key={f.field}> {f.message}</span>
          ))}
        </Banner>
      )}
      {problem && <Banner>{problem.message}</Banner>}
      <form onSubmit={submit} className="stack">
        <fieldset className="stack">
          <legend>Format</legend>
          {FORMATS.map((f) => (
            <label key={f.value} className="choice">
              <input type="radio" name="export-format" value={f.value} checked={format === f.value} onChange={() => setFormat(f.value)} />
              {f.label} <span className="muted">— {f.hint}</span>
            </label>
          ))}
        </fieldset>
        <div>
          <button type="submit" className="button button--primary" disabled={result.fetching}>
            Export
          </button>
        </div>
      </form>
    </section>
  );
}

function JobCard({ jobId, onChanged }: { jobId: string; onChanged: () => void }) {
  const toast = useToast();
  const [{ data, fetching, error }, refetch] = useQuery({ query: JobDoc, variables: { id: jobId } });
  const job = data?.exportJob;
  const [event, setEvent] = useState<JobEvent | null>(null);
  const [cancelled, cancel] = useMutation(CancelExport);
  const finished = job ? FINISHED.includes(job.status) : false;
  const onEvent = useCallback(
    (next: JobEvent) => {
      setEvent(next);
      // The result (the stored file) comes with the job: read it again once it ends.
      if (FINISHED.includes(next.status)) {
        refetch({ requestPolicy: 'network-only' });
        onChanged();
      }
    },
    [refetch, onChanged],
  );
  const stream = useEventStream(JobEvents, { jobId }, pickEvent, { enabled: Boolean(job) && !finished, onEvent });

  if (!job) {
    if (fetching) return <Skeleton lines={3} label="Loading the export" />;
    return <Banner>{problemOf(error)?.message ?? 'No such export.'}</Banner>;
  }
  const status = finished ? job.status : (event?.status ?? job.status);
  const progress = finished ? job.progress : (event?.progress ?? job.progress);
  const cancelError = typedError(cancelled.data?.cancelExportJob) ?? (problemOf(cancelled.error) ? { message: problemOf(cancelled.error)!.message } : null);
  const doCancel = async () => {
    const done = await cancel({ input: { jobId } });
    if (done.data?.cancelExportJob.__typename === 'ExportJobSuccess') {
      toast('Export cancelled.', 'success');
      refetch({ requestPolicy: 'network-only' });
      onChanged();
    }
  };
  return (
    <section className="card" aria-labelledby="export-job">
      <h2 id="export-job">
        {FORMAT_NAME[job.format]} export <span className="badge">{label(status)}</span>
      </h2>
      <Progress value={progress} label="Export progress" />
      <p role="status" aria-live="polite" className="muted">
        {finished ? `Finished ${dateTime(job.finishedAt)}.` : (event?.message ?? 'Waiting for a worker…')}
        {stream.status === 'reconnecting' && ' Reconnecting to the live updates…'}
      </p>
      {job.status === 'FAILED' && job.error && <Banner>{job.error}</Banner>}
      {!finished && (
        <div>
          <button type="button" className="button button--danger" onClick={doCancel} disabled={cancelled.fetching}>
            Cancel export
          </button>
        </div>
      )}
      {cancelError && <Banner>{cancelError.message}</Banner>}
      {job.status === 'SUCCEEDED' && job.result && (
        <p>
          <DownloadResult job={job} />
        </p>
      )}
    </section>
  );
}

const pickEvent = (data: ExportJobEventsSubscription) => data.exportJobEvents;

/** The file a job stored (its own version: a later export of the format adds another), via a fresh link. */
function DownloadResult({ job }: { job: { format: ExportFormat; result?: { id: string; name: string } | null; resultVersion?: { id: string; number: number; size: number } | null } }) {
  const client = useClient();
  const [problem, setProblem] = useState<string | null>(null);
  if (!job.result) return null;
  const { id, name } = job.result;
  const download = async () => {
    setProblem(null);
    try {
      await downloadContent(client, id, name, job.resultVersion?.id);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : 'The download failed.');
    }
  };
  return (
    <>
      <button type="button" className="link-button" onClick={download}>
        Download {name}
        {job.resultVersion && ` (version ${job.resultVersion.number}, ${fileSize(job.resultVersion.size)})`}
      </button>
      {problem && <span role="alert"> {problem}</span>}
    </>
  );
}

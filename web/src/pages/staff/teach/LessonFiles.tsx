// The files of one lesson, in the course editor's lesson panel: each attachment's name, type, size and
// current version; its versions (download, restore); upload (hashed with crypto.subtle, progress while the
// bytes are sent, typed refusals shown: quota, a refused type, too large); delete.
import { useRef, useState, type ChangeEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { useToast } from '../../../components/toasts';
import { Banner, Progress, Skeleton } from '../../../components/ui';
import { graphql } from '../../../gql';
import type { LessonFilesQuery } from '../../../gql/graphql';
import { downloadContent } from '../../../lib/content-download';
import { problemOf, typedError, type TypedError } from '../../../lib/errors';
import { dateTime } from '../../../lib/time';
import { fileSize, uploadErrorText, uploadFile } from '../../../lib/upload';

// Course.contentItems (not every lesson's `attachments`): one list whose cost stays under the router's limit.
const LessonFilesDoc = graphql(`
  query LessonFiles($courseId: ID!) {
    course(id: $courseId) {
      id
      contentItems(first: 100) {
        nodes { id name kind mimeType size updatedAt lesson { id } currentVersion { id number } }
      }
    }
  }
`);

const VersionsDoc = graphql(`
  query ContentItemVersions($id: ID!) {
    contentItem(id: $id) {
      id
      currentVersion { id }
      versions(first: 20) { nodes { id number size mimeType createdAt } }
    }
  }
`);

const RequestUpload = graphql(`
  mutation RequestUpload($input: RequestUploadInput!) {
    requestUpload(input: $input) {
      __typename
      ... on UploadTicket { uploadId url }
      ... on QuotaExceededError { quotaBytes usedBytes requestedBytes }
      ...ErrorFields
    }
  }
`);

const CompleteUpload = graphql(`
  mutation CompleteUpload($input: CompleteUploadInput!) {
    completeUpload(input: $input) {
      __typename
      ... on ContentItemSuccess { item { id name mimeType size currentVersion { id number } } }
      ... on QuotaExceededError { quotaBytes usedBytes requestedBytes }
      ...ErrorFields
    }
  }
`);

const RestoreVersion = graphql(`
  mutation RestoreContentVersion($input: RestoreContentVersionInput!) {
    restoreContentVersion(input: $input) {
      __typename
      ... on ContentItemSuccess { item { id mimeType size currentVersion { id number } } }
      ...ErrorFields
    }
  }
`);

const DeleteItem = graphql(`
  mutation DeleteContentItem($input: DeleteContentItemInput!) {
    deleteContentItem(input: $input) {
      __typename
      ... on DeleteContentItemSuccess { itemId }
      ...ErrorFields
    }
  }
`);

const PHASES: Record<string, string> = { hashing: 'Reading the file…', sending: 'Sending the file…', checking: 'Checking the file…' };

type Item = NonNullable<LessonFilesQuery['course']>['contentItems']['nodes'][number];

export function LessonFiles({ courseId, lessonId, lessonTitle, readOnly }: { courseId: string; lessonId: string; lessonTitle: string; readOnly: boolean }) {
  const toast = useToast();
  const client = useClient();
  const [{ data, fetching, error }, refetch] = useQuery({ query: LessonFilesDoc, variables: { courseId } });
  const [, requestUpload] = useMutation(RequestUpload);
  const [, completeUpload] = useMutation(CompleteUpload);
  const [, deleteItem] = useMutation(DeleteItem);
  const [progress, setProgress] = useState<{ phase: string; percent: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const items = (data?.course?.contentItems.nodes ?? []).filter((item) => item.kind === 'ATTACHMENT' && item.lesson?.id === lessonId);

  /** A new file, or (with `itemId`) a new version of one. */
  const upload = async (file: File, itemId?: string) => {
    setProblem(null);
    const outcome = await uploadFile(file, {
      request: async (announced) => {
        const done = await requestUpload({ input: itemId ? { ...announced, itemId } : { ...announced, courseId, lessonId } });
        return done.data?.requestUpload ?? failure(problemOf(done.error)?.message);
      },
      complete: async (uploadId) => {
        const done = await completeUpload({ input: { uploadId } });
        return done.data?.completeUpload ?? failure(problemOf(done.error)?.message);
      },
      onProgress: (phase, fraction) => setProgress({ phase, percent: Math.round(fraction * 100) }),
    });
    setProgress(null);
    if (input.current) input.current.value = '';
    if (!outcome.ok) {
      setProblem(uploadErrorText(outcome.error));
      return;
    }
    toast(`${file.name} uploaded.`, 'success');
    reload();
  };

  const onPick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) void upload(file);
  };
  const remove = async (item: Item) => {
    if (!window.confirm(`Delete “${item.name}”? Its download links stop working at once.`)) return;
    const done = await deleteItem({ input: { itemId: item.id } });
    const refused = typedError(done.data?.deleteContentItem) ?? (done.error ? failure(problemOf(done.error)?.message) : null);
    if (refused) return setProblem(refused.message);
    toast(`${item.name} deleted.`, 'success');
    reload();
  };
  const download = async (item: Item, versionId?: string) => {
    try {
      await downloadContent(client, item.id, item.name, versionId);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : 'The download failed.');
    }
  };

  const headingId = `files-${lessonId}`;
  return (
    <section className="stack lesson-files" aria-labelledby={headingId}>
      <h3 id={headingId}>Files of “{lessonTitle}”</h3>
      {problem && <Banner>{problem}</Banner>}
      {!data && fetching ? (
        <Skeleton lines={2} label="Loading the files" />
      ) : error && !data ? (
        <Banner>{problemOf(error)?.message}</Banner>
      ) : items.length === 0 ? (
        <p className="muted">No file attached.</p>
      ) : (
        <ul className="list">
          {items.map((item) => (
            <FileRow key={item.id} item={item} readOnly={readOnly} busy={progress != null} onDownload={download} onDelete={remove} onNewVersion={(file) => upload(file, item.id)} onRestored={reload} />
          ))}
        </ul>
      )}
      {progress && (
        <div className="stack">
          {/* The phase is announced; the percentage is not (it would be read out at every step). */}
          <p role="status">{PHASES[progress.phase]}</p>
          {progress.phase === 'sending' && <Progress value={progress.percent} label="Upload progress" />}
        </div>
      )}
      {!readOnly && (
        <div className="field">
          <label htmlFor={`upload-${lessonId}`}>Attach a file</label>
          <p className="field__hint" id={`upload-${lessonId}-hint`}>
            PDF, Office and OpenDocument files, images, audio, video, ZIP or plain text. The type is checked from the bytes, not the name.
          </p>
          <input ref={input} id={`upload-${lessonId}`} type="file" onChange={onPick} disabled={progress != null} aria-describedby={`upload-${lessonId}-hint`} />
        </div>
      )}
    </section>
  );
}

function failure(message: string | undefined): TypedError {
  return { __typename: 'RequestFailed', code: 'REQUEST_FAILED', message: message ?? 'The request failed. Try again.' };
}

function FileRow({
  item,
  readOnly,
  busy,
  onDownload,
  onDelete,
  onNewVersion,
  onRestored,
}: {
  item: Item;
  readOnly: boolean;
  busy: boolean;
  onDownload: (item: Item, versionId?: string) => void;
  onDelete: (item: Item) => void;
  onNewVersion: (file: File) => void;
  onRestored: () => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <li className="list__item list__item--block">
      <div className="inline">
        <strong>{item.name}</strong>
        <span className="muted">
          {item.mimeType} · {fileSize(item.size)} · version {item.currentVersion?.number ?? '–'}
        </span>
      </div>
      <div className="inline">
        <button type="button" className="button button--small" onClick={() => onDownload(item)} aria-label={`Download ${item.name}`}>
          Download
        </button>
        <button type="button" className="button button--small button--ghost" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`Versions of ${item.name}`}>
          Versions
        </button>
        {!readOnly && (
          <>
            <label className="button button--small button--ghost file-button">
              New version<span className="sr-only"> of {item.name}</span>
              <input
                type="file"
                className="sr-only"
                disabled={busy}
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  e.target.value = '';
                  if (file) onNewVersion(file);
                }}
              />
            </label>
            <button type="button" className="button button--small button--danger" onClick={() => onDelete(item)} aria-label={`Delete ${item.name}`}>
              Delete
            </button>
          </>
        )}
      </div>
      {/* Keyed by the current version: a new upload or a restore reads the versions again. */}
      {open && <Versions key={item.currentVersion?.id} item={item} readOnly={readOnly} onDownload={onDownload} onRestored={onRestored} />}
    </li>
  );
}

function Versions({ item, readOnly, onDownload, onRestored }: { item: Item; readOnly: boolean; onDownload: (item: Item, versionId?: string) => void; onRestored: () => void }) {
  const toast = useToast();
  const [{ data, error }, refetch] = useQuery({ query: VersionsDoc, variables: { id: item.id }, requestPolicy: 'network-only' });
  const [restoring, restore] = useMutation(RestoreVersion);
  const [problem, setProblem] = useState<string | null>(null);
  const current = data?.contentItem?.currentVersion?.id;
  const makeCurrent = async (versionId: string, number: number) => {
    const done = await restore({ input: { itemId: item.id, versionId } });
    const refused = typedError(done.data?.restoreContentVersion) ?? (done.error ? failure(problemOf(done.error)?.message) : null);
    setProblem(refused?.message ?? null);
    if (refused) return;
    toast(`Version ${number} of ${item.name} is current again.`, 'success');
    refetch({ requestPolicy: 'network-only' });
    onRestored();
  };
  if (!data) return error ? <Banner>{problemOf(error)?.message}</Banner> : <Skeleton lines={2} label="Loading the versions" />;
  return (
    <div className="stack">
      {problem && <Banner>{problem}</Banner>}
      <table className="table">
        <caption className="sr-only">Versions of {item.name}, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Uploaded</th>
            <th scope="col">Type</th>
            <th scope="col">Size</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data.contentItem?.versions.nodes.map((version) => (
            <tr key={version.id}>
              <td>
                {version.number}
                {version.id === current && <span className="badge badge--success"> current</span>}
              </td>
              <td>{dateTime(version.createdAt)}</td>
              <td>{version.mimeType}</td>
              <td>{fileSize(version.size)}</td>
              <td className="inline">
                <button type="button" className="button button--small button--ghost" onClick={() => onDownload(item, version.id)}>
                  Download<span className="sr-only"> version {version.number}</span>
                </button>
                {!readOnly && version.id !== current && (
                  <button type="button" className="button button--small" disabled={restoring.fetching} onClick={() => makeCurrent(version.id, version.number)}>
                    Restore<span className="sr-only"> version {version.number}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

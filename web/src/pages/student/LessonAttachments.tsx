// A lesson's files for its readers: name, type and size, each downloaded through a fresh signed link asked
// for at the click (links live minutes and are the credential: never kept in the page).
import { useState } from 'react';
import { useClient, useQuery } from 'urql';
import { Banner } from '../../components/ui';
import { graphql } from '../../gql';
import { downloadContent } from '../../lib/content-download';
import { fileSize } from '../../lib/upload';

// Course.contentItems rather than every lesson's `attachments`: one list whose cost stays under the router's limit.
const AttachmentsDoc = graphql(`
  query LessonAttachments($courseId: ID!) {
    course(id: $courseId) {
      id
      contentItems(first: 100) { nodes { id name kind mimeType size lesson { id } } }
    }
  }
`);

export function LessonAttachments({ courseId, lessonId }: { courseId: string; lessonId: string }) {
  const client = useClient();
  const [{ data }] = useQuery({ query: AttachmentsDoc, variables: { courseId } });
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const files = (data?.course?.contentItems.nodes ?? []).filter((item) => item.kind === 'ATTACHMENT' && item.lesson?.id === lessonId);
  if (files.length === 0) return null;
  const download = async (id: string, name: string) => {
    setProblem(null);
    setBusy(id);
    try {
      await downloadContent(client, id, name);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : 'The download failed.');
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="card" aria-labelledby="lesson-files">
      <h2 id="lesson-files">Files</h2>
      {problem && <Banner>{problem}</Banner>}
      <ul className="list">
        {files.map((file) => (
          <li key={file.id} className="list__item">
            <button type="button" className="link-button" onClick={() => download(file.id, file.name)} disabled={busy === file.id}>
              Download {file.name}
            </button>
            <span className="muted">
              {file.mimeType} · {fileSize(file.size)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useToast } from '../../components/toasts';
import { Banner, ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import { problemOf, typedError } from '../../lib/errors';
import type { LabPageQuery } from '../../gql/graphql';
import { clock, dateTime, secondsLeft } from '../../lib/time';
import { useNow } from '../../lib/useNow';
import { useTitle } from '../../lib/useTitle';
import { FINISHED_LAB_STATUSES, LabStatusBadge, statusText, useLiveLab, type LabEvent } from './lab-live';
import { startLabMessage, useStartLab } from './startLab';

const LabQuery = graphql(`
  query LabPage($id: ID!) {
    labSession(id: $id) {
      id
      status
      ide
      failureReason
      accessUrl
      createdAt
      startedAt
      idleDeadline
      stopDeadline
      exercise { id title }
      course { id title }
      events(first: 50) { nodes { seq at status progress message } }
    }
  }
`);

const LabAction = graphql(`
  mutation LabAction($input: LabSessionIdInput!, $pause: Boolean!, $resume: Boolean!, $stop: Boolean!, $heartbeat: Boolean!) {
    pauseLab(input: $input) @include(if: $pause) { ...LabActionResult }
    resumeLab(input: $input) @include(if: $resume) { ...LabActionResult }
    stopLab(input: $input) @include(if: $stop) { ...LabActionResult }
    heartbeatLab(input: $input) @include(if: $heartbeat) { ...LabActionResult }
  }
  fragment LabActionResult on LabSessionResult {
    __typename
    ... on LabSessionSuccess { session { id status idleDeadline stopDeadline accessUrl } }
    ...ErrorFields
  }
`);

type Lab = NonNullable<LabPageQuery['labSession']>;
type Action = 'pause' | 'resume' | 'stop' | 'heartbeat';
const IDLE_WARNING_SECONDS = 120;
const IDE_NAMES: Record<string, string> = { VSCODE: 'VS Code', JUPYTER: 'JupyterLab', TERMINAL: 'Terminal' };

export default function LabPage() {
  const { sessionId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: LabQuery, variables: { id: sessionId } });
  const lab = data?.labSession;
  useTitle(lab ? `Lab: ${lab.exercise.title}` : 'Lab');
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  if (!lab) {
    if (fetching) return <Skeleton lines={6} label="Loading the lab" />;
    return <ProblemView problem={problemOf(error) ?? { kind: 'not-found', message: 'No such lab.' }} />;
  }
  return <LabView key={lab.id} lab={lab} reload={reload} />;
}

function LabView({ lab, reload }: { lab: Lab; reload: () => void }) {
  const navigate = useNavigate();
  const toast = useToast();
  const [actionResult, act] = useMutation(LabAction);
  const [log, setLog] = useState<LabEvent[]>([]);
  const restart = useStartLab();
  const stored = lab.events.nodes;
  const lastSeq = stored.length ? stored[stored.length - 1].seq : null;

  const onEvent = useCallback(
    (event: LabEvent) => {
      setLog((all) => [...all, event]);
      if (event.status === 'RUNNING') toast('Your lab is ready.', 'success');
      if (event.status === 'FAILED') toast('Your lab could not start.', 'error');
      // Deadlines, the IDE address and failure reasons come with the session: read it again.
      reload();
    },
    [reload, toast],
  );
  const live = useLiveLab(lab.id, { status: lab.status, lastSeq }, onEvent);
  const now = useNow(1000, live.status === 'RUNNING' || live.status === 'PAUSED');

  const status = live.status;
  const events = [...stored, ...log.filter((e) => lastSeq == null || e.seq > lastSeq)];
  const latest = events[events.length - 1];
  const idleLeft = status === 'RUNNING' ? secondsLeft(lab.idleDeadline, now) : null;
  const stopLeft = status === 'RUNNING' || status === 'PAUSED' ? secondsLeft(lab.stopDeadline, now) : null;
  const answer = actionResult.data && Object.values(actionResult.data).find(Boolean);
  const actionError = typedError(answer as { __typename?: string } | undefined);
  const finished = FINISHED_LAB_STATUSES.includes(status);

  const run = (action: Action) =>
    void act({ input: { sessionId: lab.id }, pause: action === 'pause', resume: action === 'resume', stop: action === 'stop', heartbeat: action === 'heartbeat' });
  const startAgain = async () => {
    const id = await restart.start(lab.exercise.id);
    if (id) navigate(`/labs/${id}`);
  };

  return (
    <div className="stack-lg">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/courses/${lab.course.id}`}>{lab.course.title}</Link> <span aria-hidden="true">/</span> <Link to="/labs">Labs</Link>
      </nav>
      <header>
        <h1>{lab.exercise.title}</h1>
        <p className="inline">
          <LabStatusBadge status={status} /> <span className="muted">{IDE_NAMES[lab.ide] ?? lab.ide} · started {dateTime(lab.createdAt)}</span>
        </p>
      </header>

      {!finished && status !== 'RUNNING' && status !== 'PAUSED' && latest && (
        <div className="card" aria-live="polite">
          <p>
            <strong>{statusText(status)}…</strong> {latest.message}
          </p>
          <div className="progress__bar" role="progressbar" aria-label="Lab start progress" aria-valuenow={latest.progress} aria-valuemin={0} aria-valuemax={100}>
            <div className="progress__fill" style={{ width: `${latest.progress}%` }} />
          </div>
        </div>
      )}
      {status === 'FAILED' && <Banner>This lab failed{lab.failureReason ? `: ${lab.failureReason}` : '.'}</Banner>}
      {idleLeft != null && idleLeft <= IDLE_WARNING_SECONDS && (
        <Banner tone="warning">
          This lab pauses in {clock(idleLeft)} unless you use it.{' '}
          <button type="button" className="button button--small" onClick={() => run('heartbeat')}>
            Keep it running
          </button>
        </Banner>
      )}
      {actionError && <Banner>{actionError.message}</Banner>}
      {restart.error && <Banner>{startLabMessage(restart.error)}</Banner>}
      {live.stream.status === 'reconnecting' && <Banner tone="info">Live updates were interrupted; reconnecting…</Banner>}
      {live.stream.error && <Banner tone="warning">Live updates stopped: {live.stream.error}</Banner>}

      <div className="inline">
        {status === 'RUNNING' && lab.accessUrl && (
          <a className="button button--primary" href={lab.accessUrl} target="_blank" rel="noopener noreferrer">
            Open the IDE <span className="sr-only">(opens in a new tab)</span>
          </a>
        )}
        {status === 'RUNNING' && (
          <button type="button" className="button" onClick={() => run('pause')} disabled={actionResult.fetching}>
            Pause
          </button>
        )}
        {status === 'PAUSED' && (
          <button type="button" className="button button--primary" onClick={() => run('resume')} disabled={actionResult.fetching}>
            Resume
          </button>
        )}
        {!finished && status !== 'STOPPING' && (
          <button type="button" className="button button--danger" onClick={() => run('stop')} disabled={actionResult.fetching}>
            Stop
          </button>
        )}
        {finished && (
          <button type="button" className="button button--primary" onClick={startAgain} disabled={restart.fetching}>
            Start again
          </button>
        )}
      </div>

      {(idleLeft != null || stopLeft != null) && (
        <dl className="facts">
          {idleLeft != null && (
            <>
              <dt>Pauses when idle</dt>
              <dd>in {clock(idleLeft)}</dd>
            </>
          )}
          {stopLeft != null && (
            <>
              <dt>Stops at the latest</dt>
              <dd>
                in {clock(stopLeft)} ({dateTime(lab.stopDeadline)})
              </dd>
            </>
          )}
        </dl>
      )}

      <section aria-labelledby="history">
        <h2 id="history">What happened</h2>
        <ol className="timeline">
          {events.map((event) => (
            <li key={event.seq}>
              <time dateTime={event.at}>{dateTime(event.at)}</time> <LabStatusBadge status={event.status} /> {event.message}
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

// A lab's status as it changes: the stored status, then every labSessionEvents event after it.
import { useCallback, useState } from 'react';
import { graphql } from '../../gql';
import type { LabEventsSubscription, LabStatus } from '../../gql/graphql';
import { useEventStream } from '../../lib/stream';

export const LabEvents = graphql(`
  subscription LabEvents($sessionId: ID!, $after: Int) {
    labSessionEvents(sessionId: $sessionId, after: $after) { seq at status progress message }
  }
`);

export type LabEvent = LabEventsSubscription['labSessionEvents'];

export const ACTIVE_LAB_STATUSES: LabStatus[] = ['REQUESTED', 'PROVISIONING', 'STARTING', 'RUNNING', 'PAUSED', 'STOPPING'];
export const FINISHED_LAB_STATUSES: LabStatus[] = ['STOPPED', 'FAILED'];

const STATUS_TEXT: Record<LabStatus, string> = {
  REQUESTED: 'Requested',
  PROVISIONING: 'Preparing',
  STARTING: 'Starting',
  RUNNING: 'Running',
  PAUSED: 'Paused',
  STOPPING: 'Stopping',
  STOPPED: 'Stopped',
  FAILED: 'Failed',
};

export function statusText(status: LabStatus): string {
  return STATUS_TEXT[status] ?? status;
}

const pickLabEvent = (data: LabEventsSubscription) => data.labSessionEvents;

export function useLiveLab(
  sessionId: string,
  stored: { status: LabStatus; lastSeq?: number | null },
  onEvent?: (event: LabEvent) => void,
) {
  const [latest, setLatest] = useState<LabEvent | null>(null);
  const handle = useCallback(
    (event: LabEvent) => {
      setLatest(event);
      onEvent?.(event);
    },
    [onEvent],
  );
  const stream = useEventStream(LabEvents, { sessionId }, pickLabEvent, {
    // A finished lab has nothing more to say.
    enabled: !FINISHED_LAB_STATUSES.includes(stored.status),
    after: stored.lastSeq ?? null,
    onEvent: handle,
  });
  return { status: latest?.status ?? stored.status, latest, stream };
}

export function LabStatusBadge({ status }: { status: LabStatus }) {
  return <span className={`badge badge--lab-${status.toLowerCase()}`}>{statusText(status)}</span>;
}

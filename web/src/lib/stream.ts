// Live, resumable event streams (labSessionEvents, generationJobEvents, accountEvents, riskAlerts).
// Every event has a per-stream `seq`; after any reconnect (network drop, token refresh) we subscribe
// again with `after: <last seq seen>`, and drop anything at or below it: nothing missed, nothing twice.
import { stringifyDocument } from 'urql';
import { createClient, type Client } from 'graphql-ws';
import { useEffect, useRef, useState } from 'react';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { session } from './session';

let wsClient: Client | null = null;
let lastToken: string | null = null;

function websocketUrl(): string {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function client(): Client {
  wsClient ??= createClient({
    url: websocketUrl(),
    lazy: true,
    // Retries are ours (below), so that each one resumes from the latest seq.
    retryAttempts: 0,
    connectionParams: async () => {
      lastToken = await session.token();
      return lastToken ? { Authorization: `Bearer ${lastToken}` } : {};
    },
  });
  return wsClient;
}

// A refreshed token: reconnect so the socket carries it (streams resume where they were).
session.subscribe((state) => {
  const token = state.status === 'signed-in' ? state.accessToken : null;
  if (wsClient && token !== lastToken) {
    const old = wsClient;
    wsClient = null;
    old.terminate();
  }
});

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'finished' | 'failed';

export interface StreamOptions<TEvent> {
  enabled?: boolean;
  /** The last seq already shown (from a query), so the stream starts after it. */
  after?: number | null;
  onEvent: (event: TEvent) => void;
}

/** Backoff for reconnects: 0.5 s, 1 s, 2 s … capped at 15 s. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.max(0, attempt));
}

export function useEventStream<TData, TVars extends Record<string, unknown>, TEvent extends { seq: number }>(
  document: TypedDocumentNode<TData, TVars>,
  variables: Omit<TVars, 'after'>,
  pick: (data: TData) => TEvent | null | undefined,
  { enabled = true, after = null, onEvent }: StreamOptions<TEvent>,
): { status: StreamStatus; error: string | null } {
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [error, setError] = useState<string | null>(null);
  const lastSeq = useRef<number | null>(after);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = JSON.stringify(variables);

  useEffect(() => {
    if (after != null && (lastSeq.current == null || after > lastSeq.current)) lastSeq.current = after;
  }, [after]);

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let attempt = 0;
    let unsubscribe: (() => void) | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const query = stringifyDocument(document);

    const start = () => {
      if (stopped) return;
      unsubscribe = client().subscribe(
        { query, variables: { ...JSON.parse(key), after: lastSeq.current } },
        {
          next: (result) => {
            if (result.errors?.length) {
              setError(result.errors[0].message);
              // The server closes streams whose session ended: find out now whether ours did.
              if (result.errors.some((e) => e.extensions?.code === 'SESSION_ENDED')) void session.recover();
              return;
            }
            const event = result.data ? pick(result.data as TData) : null;
            if (!event) return;
            attempt = 0;
            setStatus('live');
            if (lastSeq.current != null && event.seq <= lastSeq.current) return;
            lastSeq.current = event.seq;
            handler.current(event);
          },
          complete: () => {
            if (!stopped) setStatus('finished');
          },
          error: (reason) => {
            if (stopped) return;
            // GraphQL errors (e.g. no access) are final; a closed socket is retried.
            if (Array.isArray(reason)) {
              setError((reason[0] as { message?: string })?.message ?? 'The live updates stopped.');
              setStatus('failed');
              return;
            }
            if (session.current.status === 'anonymous') {
              setStatus('failed');
              return;
            }
            setStatus('reconnecting');
            retryTimer = setTimeout(start, backoffMs(attempt++));
          },
        },
      );
      setStatus((s) => (s === 'reconnecting' ? s : 'connecting'));
    };
    start();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      unsubscribe?.();
    };
  }, [document, key, enabled, pick]);

  return { status, error };
}

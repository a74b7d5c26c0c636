// Per-caller response cache of the router (off unless CG_RESPONSE_CACHE_TTL_MS > 0): a query answered for
// an access token is answered again from memory, for the same token only, for at most the TTL.
//
// Correct by construction:
// - Never another caller's data: the key holds the caller's whole verified access token (besides the
//   query, operation name and variables); a token is one user's or one API client's, with its claims.
// - Never stale after the caller's own change: every mutation of the caller the router executes moves
//   the caller's generation, which is part of the key, when it starts and when it ends; an answer is kept
//   only if the generation did not move while it was computed (so no answer that raced a mutation is
//   kept). Changes that others make (an instructor editing a lesson, an admin removing a membership or
//   revoking a session) show after at most the TTL: that is the bound this cache trades for speed.
// - Only whole successes are kept: no errors, no partial data, no subscriptions or incremental results.
// In memory, per router process: with several router processes (--fork, replicas) a mutation reaches one
// of them, so keep it off there until the generation lives in a shared store.
import { getOperationAST, parse, type DocumentNode } from 'graphql';
import type { GatewayPlugin } from '@graphql-hive/gateway';

interface Options {
  ttlMs: number;
  maxEntries: number;
  /** The verified caller of a request ({token, claims}), null when anonymous; throws when invalid. */
  authenticate: (context: any) => Promise<{ token: string; claims: { sub?: unknown } } | null>;
}

const CACHE_HEADER = 'x-coursegraph-cache';
const MAX_DOCUMENTS = 1_000;
const WAIT_MS = 30_000; // a caller waits this long at most for the same answer being computed

const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(resolve, ms).unref());

function keepable(result: any): boolean {
  if (Array.isArray(result) || !result || typeof result !== 'object' || Symbol.asyncIterator in result) return false;
  return !result.errors?.length && !result.incremental && !result.hasNext && result.data != null;
}

export function useResponseCache({ ttlMs, maxEntries, authenticate }: Options): GatewayPlugin {
  const entries = new Map<string, { body: string; expires: number }>(); // oldest first
  const generations = new Map<string, number>();
  const documents = new Map<string, DocumentNode | null>();
  const toStore = new WeakMap<object, { key: string; sub: string; generation: number; done: (body: string | null) => void }>();
  // Answers being computed, by key: the same caller asking the same again meanwhile waits for that answer
  // (it is kept only if no mutation of the caller ran while it was computed, so it is one it could get).
  const inflight = new Map<string, Promise<string | null>>();
  const hits = new WeakSet<object>();

  const generation = (sub: string) => generations.get(sub) ?? 0;
  const bump = (sub: string) => generations.set(sub, generation(sub) + 1);

  function operationKind(query: unknown, operationName: unknown): string | null {
    if (typeof query !== 'string') return null;
    let document = documents.get(query);
    if (document === undefined) {
      try {
        document = parse(query);
      } catch {
        document = null;
      }
      if (documents.size >= MAX_DOCUMENTS) documents.delete(documents.keys().next().value as string);
      documents.set(query, document);
    }
    if (!document) return null;
    return getOperationAST(document, typeof operationName === 'string' ? operationName : undefined)?.operation ?? null;
  }

  return {
    async onParams({ params, request, setResult }: any) {
      if (!request.headers.get('authorization')) return;
      if (operationKind(params.query, params.operationName) !== 'query') return; // mutations: onExecute
      let auth;
      try {
        auth = await authenticate({ request });
      } catch {
        return; // the normal path answers an invalid token
      }
      const sub = auth?.claims?.sub;
      if (!auth || typeof sub !== 'string') return;
      const current = generation(sub);
      const key = JSON.stringify([current, auth.token, params.operationName ?? null, params.query, params.variables ?? null, params.extensions ?? null]);
      const entry = entries.get(key);
      if (entry && entry.expires > Date.now()) {
        hits.add(request);
        setResult(JSON.parse(entry.body));
        return;
      }
      if (entry) entries.delete(key);
      const pending = inflight.get(key);
      if (pending) {
        const body = await Promise.race([pending, sleep(WAIT_MS)]);
        if (body && generation(sub) === current) {
          hits.add(request);
          setResult(JSON.parse(body));
          return;
        }
      }
      let resolve!: (body: string | null) => void;
      const computing = new Promise<string | null>((r) => (resolve = r));
      inflight.set(key, computing);
      toStore.set(request, {
        key,
        sub,
        generation: current,
        done: (body) => {
          if (inflight.get(key) === computing) inflight.delete(key);
          resolve(body);
        },
      });
    },
    onExecute({ args }: any) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const sub = args.contextValue?.currentUser?.sub;
      if (operation !== 'mutation' || typeof sub !== 'string') return undefined;
      bump(sub);
      return { onExecuteDone: () => bump(sub) };
    },
    onResultProcess({ request, result }: any) {
      const pending = toStore.get(request);
      if (!pending) return;
      toStore.delete(request);
      const body = keepable(result) && generation(pending.sub) === pending.generation ? JSON.stringify(result) : null;
      pending.done(body); // null: a mutation of the caller ran meanwhile, or not a whole success
      if (body === null) return;
      entries.delete(pending.key);
      entries.set(pending.key, { body, expires: Date.now() + ttlMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    onResponse({ request, response }: any) {
      toStore.get(request)?.done(null); // ended without a result (refused before execution)
      toStore.delete(request);
      if (hits.has(request)) response.headers.set(CACHE_HEADER, 'hit');
    },
  } as GatewayPlugin;
}

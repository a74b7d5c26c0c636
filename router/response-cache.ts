// Per-caller response cache of the router (off unless CG_RESPONSE_CACHE_TTL_MS > 0): a query answered for
// an access token is answered again from memory, for the same token only, for at most the TTL.
//
// Correct by construction:
// - Never another caller's data: the key holds the caller's whole verified access token (besides the
//   query, operation name and variables); a token is one user's or one API client's, with its claims.
// - Never stale after the caller's own change: the caller's generation is part of the key. It lives in
//   Redis, shared by every router process, and moves (1) when a mutation of the caller starts and when it
//   ends, here, and (2) whenever the platform publishes a domain event that names the caller as its actor
//   or its user subject (subgraphs/core/events.py `_xadd_marked`, the one place events enter the streams):
//   so a change through another router process, and any change recorded by an event naming the caller
//   (an admin changing their membership; a worker's event only where it names them) show at once too.
//   Work a worker commits whose event names no user shows within the TTL. An answer is kept only if the
//   generation did not move while it was
//   computed. Redis's epoch key is part of every generation: if Redis loses its data, every entry misses.
//   If Redis cannot be read, nothing is cached or served from the cache.
// - Changes others make that do not name the caller (an instructor editing a lesson the caller reads)
//   show after at most the TTL: that is the bound this cache trades for speed. (Recomputing entries in the
//   background before they expire was tried and measured: it cost more recomputations than the misses
//   it saved; docs/performance.md.)
// - Only whole successes are kept: no errors, no partial data, no subscriptions or incremental results.
import { randomUUID } from 'node:crypto';
import { getOperationAST, parse, type DocumentNode } from 'graphql';
import { Redis } from 'ioredis';
import type { GatewayPlugin } from '@graphql-hive/gateway';

interface Options {
  ttlMs: number;
  maxEntries: number;
  redisUrl: string;
  /** The verified caller of a request ({token, claims}), null when anonymous; throws when invalid. */
  authenticate: (context: any) => Promise<{ token: string; claims: { sub?: unknown } } | null>;
}

// Shared with subgraphs/core/events.py (CALLER_GENERATION_PREFIX, CALLER_GENERATION_TTL_SECONDS).
const GENERATION_PREFIX = 'router:cache:generation:';
const GENERATION_TTL_SECONDS = 86_400; // far longer than any TTL: an expired counter's entries are long gone
const EPOCH_KEY = 'router:cache:epoch';
const MAX_TTL_MS = 3_600_000;

const CACHE_HEADER = 'x-coursegraph-cache';
const MAX_DOCUMENTS = 1_000;
const WAIT_MS = 30_000; // a caller waits this long at most for the same answer being computed

const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(resolve, ms).unref());

function keepable(result: any): boolean {
  if (Array.isArray(result) || !result || typeof result !== 'object' || Symbol.asyncIterator in result) return false;
  return !result.errors?.length && !result.incremental && !result.hasNext && result.data != null;
}

/** The callers' generations in Redis; null when Redis cannot be read (then nothing is cached). */
function redisGenerations(url: string) {
  const redis = new Redis(url, {
    enableOfflineQueue: false, // while disconnected a command fails at once instead of queueing
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let warned = false;
  redis.on('error', (err) => {
    if (!warned) console.error(`[coursegraph-router] response cache: Redis unavailable (${err.message}); not caching`);
    warned = true;
  });
  redis.on('ready', () => (warned = false));

  async function read(sub: string): Promise<string | null> {
    try {
      let [epoch, generation] = await redis.mget(EPOCH_KEY, GENERATION_PREFIX + sub);
      if (epoch === null) {
        // First start, or Redis lost its data: a new epoch, so no entry from before can match.
        await redis.set(EPOCH_KEY, randomUUID(), 'NX');
        [epoch, generation] = await redis.mget(EPOCH_KEY, GENERATION_PREFIX + sub);
      }
      return epoch === null ? null : `${epoch}:${generation ?? 0}`;
    } catch {
      return null;
    }
  }

  async function bump(sub: string): Promise<boolean> {
    try {
      await redis.multi().incr(GENERATION_PREFIX + sub).expire(GENERATION_PREFIX + sub, GENERATION_TTL_SECONDS).exec();
      return true;
    } catch {
      return false;
    }
  }

  return { read, bump };
}

export function useResponseCache({ ttlMs, maxEntries, redisUrl, authenticate }: Options): GatewayPlugin {
  if (ttlMs > MAX_TTL_MS) throw new Error(`the response cache's TTL must be at most ${MAX_TTL_MS} ms`);
  const generations = redisGenerations(redisUrl);
  const entries = new Map<string, { body: string; expires: number }>(); // oldest first
  const documents = new Map<string, DocumentNode | null>();
  const toStore = new WeakMap<object, { key: string; sub: string; generation: string; done: (body: string | null) => void }>();
  // Answers being computed, by key: the same caller asking the same again meanwhile waits for that answer
  // (it is kept only if no change of the caller happened while it was computed, so it is one it could get).
  const inflight = new Map<string, Promise<string | null>>();
  const hits = new WeakSet<object>();

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
      const current = await generations.read(sub);
      if (current === null) {
        entries.clear(); // generations unreadable: what is in memory can no longer be vouched for
        return;
      }
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
        if (body && (await generations.read(sub)) === current) {
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
    async onExecute({ args }: any) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const sub = args.contextValue?.currentUser?.sub;
      if (operation !== 'mutation' || typeof sub !== 'string') return undefined;
      if (!(await generations.bump(sub))) entries.clear();
      return {
        onExecuteDone: async () => {
          if (!(await generations.bump(sub))) entries.clear();
        },
      };
    },
    async onResultProcess({ request, result }: any) {
      const pending = toStore.get(request);
      if (!pending) return;
      toStore.delete(request);
      const unchanged = keepable(result) && (await generations.read(pending.sub)) === pending.generation;
      const body = unchanged ? JSON.stringify(result) : null;
      pending.done(body); // null: a change of the caller happened meanwhile, or not a whole success
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

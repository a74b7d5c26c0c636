// Per-caller response cache of the router (off when CG_RESPONSE_CACHE_TTL_MS is 0): a query answered for
// an access token is answered again from memory, for the same token only, for at most the TTL, and only
// while nothing the answer shows has changed since it began computing.
//
// Correct by construction:
// - Never another caller's data: the key holds the caller's whole verified access token (besides the
//   query, operation name and variables); a token is one user's or one API client's, with its claims.
// - Stamps: Redis holds one counter (the sequence) and, per id, the sequence value of the last change that
//   named it. Every domain event stamps the ids it names: its actor, its subjects, its organization
//   (subgraphs/core/events.py `_xadd_marked`, the one place events enter the streams, after the change was
//   committed); every live message stamps the id its channel is about (subgraphs/core/live.py); a mutation
//   stamps its caller here when it starts and when it ends. An answer remembers the sequence read before
//   computing it and its tags: the caller, every UUID the request names (the `course(id: $id)` it asks
//   about) and every UUID anywhere in its data (ids, foreign keys, aliased or not). It is served only while
//   no tag is stamped later than that sequence, so
//   - the caller's own changes, through this router or any other, show at once;
//   - anyone's change to anything the request or the answer names by id (a course's title edited by its
//     instructor, a lab's status moved by the worker, the caller's membership changed by an admin) shows
//     at once;
//   - what is left to the TTL: something new that appears in a list whose owner neither the request nor
//     the answer names by id (a course published into a catalog asked for without the organization's
//     id), and changes to objects reached without naming or selecting their id. Data derived
//     asynchronously (analytics reports) is as fresh as its consumer, cached or not, within the TTL.
// - Redis's epoch key is part of every entry: if Redis loses its data (stamps and sequence with it),
//   every entry misses. If Redis cannot be read, nothing is cached or served from the cache.
// - Only whole successes are kept: no errors, no partial data, no subscriptions or incremental results.
// - `Cache-Control: no-cache` on a request computes its answer afresh (and keeps it).
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

// Shared with subgraphs/core/events.py (CACHE_SEQUENCE_KEY, CACHE_STAMP_PREFIX, _STAMP_SCRIPT).
const SEQUENCE_KEY = 'router:cache:sequence';
const STAMP_PREFIX = 'router:cache:stamp:';
const STAMP_TTL_SECONDS = 86_400; // far longer than any entry lives: an expired stamp's entries are long gone
const STAMP_SCRIPT = `
local stamp = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], stamp, 'EX', ARGV[1]) end
return stamp
`;
const EPOCH_KEY = 'router:cache:epoch';
const MAX_TTL_MS = 3_600_000;

const CACHE_HEADER = 'x-coursegraph-cache';
const MAX_DOCUMENTS = 1_000;
const MAX_TAGS = 2_000; // an answer showing more ids is not kept (checking them would cost more than it saves)
const WAIT_MS = 30_000; // a caller waits this long at most for the same answer being computed
const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

const sleep = (ms: number) => new Promise<null>((resolve) => setTimeout(resolve, ms).unref());

/** Where the sequence stood when an answer began: the epoch, and the sequence's value then. */
interface Start {
  epoch: string;
  sequence: number;
}

interface Answer extends Start {
  body: string;
  tags: string[];
}

function keepable(result: any): boolean {
  if (Array.isArray(result) || !result || typeof result !== 'object' || Symbol.asyncIterator in result) return false;
  return !result.errors?.length && !result.incremental && !result.hasNext && result.data != null;
}

/** The UUIDs a request names (in its query text and its variables), and the caller. */
function requestTags(sub: string, query: string, variables: unknown): string[] {
  const named = `${query} ${JSON.stringify(variables ?? null)}`.match(UUIDS) ?? [];
  return [sub, ...named.map((id) => id.toLowerCase())];
}

/** Those and every UUID in the answer's data, whole or within a string (null: too many to check). */
function tagsOf(named: string[], data: unknown): string[] | null {
  const tags = new Set<string>(named);
  const pending: unknown[] = [data];
  while (pending.length) {
    const value = pending.pop();
    if (typeof value === 'string') {
      for (const id of value.match(UUIDS) ?? []) tags.add(id.toLowerCase());
    } else if (value && typeof value === 'object') {
      pending.push(...(Array.isArray(value) ? value : Object.values(value)));
    }
    if (tags.size > MAX_TAGS) return null;
  }
  return [...tags];
}

/** The stamps in Redis; every read answers null when Redis cannot be read (then nothing is cached). */
function redisStamps(url: string) {
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

  /** Before computing an answer. */
  async function start(): Promise<Start | null> {
    try {
      let [epoch, sequence] = await redis.mget(EPOCH_KEY, SEQUENCE_KEY);
      if (epoch === null) {
        // First start, or Redis lost its data: a new epoch, so no entry from before can match.
        await redis.set(EPOCH_KEY, randomUUID(), 'NX');
        [epoch, sequence] = await redis.mget(EPOCH_KEY, SEQUENCE_KEY);
      }
      return epoch === null ? null : { epoch, sequence: Number(sequence ?? 0) };
    } catch {
      return null;
    }
  }

  /** Whether nothing the answer shows was stamped since it began (false when Redis cannot be read). */
  async function fresh(answer: Answer): Promise<boolean> {
    try {
      const [epoch, ...stamps] = await redis.mget(EPOCH_KEY, ...answer.tags.map((tag) => STAMP_PREFIX + tag));
      return epoch === answer.epoch && stamps.every((stamp) => Number(stamp ?? 0) <= answer.sequence);
    } catch {
      return false;
    }
  }

  async function stamp(sub: string): Promise<boolean> {
    try {
      await redis.eval(STAMP_SCRIPT, 2, SEQUENCE_KEY, STAMP_PREFIX + sub, STAMP_TTL_SECONDS);
      return true;
    } catch {
      return false;
    }
  }

  return { start, fresh, stamp };
}

export function useResponseCache({ ttlMs, maxEntries, redisUrl, authenticate }: Options): GatewayPlugin {
  if (ttlMs > MAX_TTL_MS) throw new Error(`the response cache's TTL must be at most ${MAX_TTL_MS} ms`);
  const stamps = redisStamps(redisUrl);
  const entries = new Map<string, Answer & { expires: number }>(); // oldest first
  const documents = new Map<string, DocumentNode | null>();
  const toStore = new WeakMap<object, { key: string; named: string[]; start: Start; done: (answer: Answer | null) => void }>();
  // Answers being computed, by key: the same caller asking the same again meanwhile waits for that answer
  // (served only if fresh, like any entry).
  const inflight = new Map<string, Promise<Answer | null>>();
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

  async function served(request: object, answer: Answer | null | undefined, setResult: (result: any) => void) {
    if (!answer || !(await stamps.fresh(answer))) return false;
    hits.add(request);
    setResult(JSON.parse(answer.body));
    return true;
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
      const key = JSON.stringify([auth.token, params.operationName ?? null, params.query, params.variables ?? null, params.extensions ?? null]);
      const afresh = /\bno-cache\b/i.test(request.headers.get('cache-control') ?? '');
      if (!afresh) {
        const entry = entries.get(key);
        if (entry && entry.expires > Date.now() && (await served(request, entry, setResult))) return;
        const pending = inflight.get(key);
        if (pending && (await served(request, await Promise.race([pending, sleep(WAIT_MS)]), setResult))) return;
      }
      const start = await stamps.start();
      if (start === null) {
        entries.clear(); // Redis unreadable: what is in memory can no longer be vouched for
        return;
      }
      let resolve!: (answer: Answer | null) => void;
      const computing = new Promise<Answer | null>((r) => (resolve = r));
      inflight.set(key, computing);
      toStore.set(request, {
        key,
        named: requestTags(sub, params.query, params.variables),
        start,
        done: (answer) => {
          if (inflight.get(key) === computing) inflight.delete(key);
          resolve(answer);
        },
      });
    },
    async onExecute({ args }: any) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const sub = args.contextValue?.currentUser?.sub;
      if (operation !== 'mutation' || typeof sub !== 'string') return undefined;
      if (!(await stamps.stamp(sub))) entries.clear();
      return {
        onExecuteDone: async () => {
          if (!(await stamps.stamp(sub))) entries.clear();
        },
      };
    },
    onResultProcess({ request, result }: any) {
      const pending = toStore.get(request);
      if (!pending) return;
      toStore.delete(request);
      const tags = keepable(result) ? tagsOf(pending.named, result.data) : null;
      const answer = tags && { ...pending.start, body: JSON.stringify(result), tags };
      pending.done(answer); // null: not a whole success, or showing too many ids
      if (!answer) return;
      entries.delete(pending.key);
      entries.set(pending.key, { ...answer, expires: Date.now() + ttlMs });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    onResponse({ request, response }: any) {
      toStore.get(request)?.done(null); // ended without a result (refused before execution)
      toStore.delete(request);
      if (hits.has(request)) response.headers.set(CACHE_HEADER, 'hit');
    },
  } as GatewayPlugin;
}

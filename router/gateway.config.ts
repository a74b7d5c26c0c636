// CourseGraph federation router (Hive Gateway). Configured only through CG_* environment variables;
// see README.md in this directory for the contract.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { defineConfig, type GatewayPlugin } from '@graphql-hive/gateway';
import { maskError as yogaMaskError } from 'graphql-yoga';
import {
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  validate,
  type DocumentNode,
} from 'graphql';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { useAuthProxy } from './auth-proxy';
import { useContentProxy } from './content-proxy';
import { useResponseCache } from './response-cache';
import { signInPanel } from './graphiql-signin';
import { useWebApp } from './web-app';

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------
const env = process.env;
const ROUTER_DIR = dirname(fileURLToPath(import.meta.url));

function str(name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function int(name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function bool(name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`${name} must be "1" or "0", got ${JSON.stringify(raw)}`);
}

function subgraphUrls(): Record<string, string> {
  const raw = env.CG_SUBGRAPH_URLS?.trim();
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`CG_SUBGRAPH_URLS is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('CG_SUBGRAPH_URLS must be a JSON object {"<subgraph>": "<url>", ...}');
  }
  for (const [name, url] of Object.entries(parsed)) {
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new Error(`CG_SUBGRAPH_URLS["${name}"] must be an http(s) URL, got ${JSON.stringify(url)}`);
    }
  }
  return parsed as Record<string, string>;
}

const SUPERGRAPH = str('CG_SUPERGRAPH', resolve(ROUTER_DIR, '../schema/supergraph.graphql'));
const WEB_DIR = resolve(ROUTER_DIR, str('CG_WEB_DIR', '../web/dist'));
const HOST = str('CG_HOST', '127.0.0.1');
const PORT = int('CG_PORT', 4000);
const SUBGRAPH_URLS = subgraphUrls();
const JWKS_URL = str('CG_JWKS_URL', 'http://127.0.0.1:4001/.well-known/jwks.json');
const JWT_ISSUER = str('CG_JWT_ISSUER', 'coursegraph');
const JWT_AUDIENCE = str('CG_JWT_AUDIENCE', 'coursegraph-api');
const ROUTER_SECRET = env.CG_ROUTER_SECRET?.trim() ?? '';
const MAX_DEPTH = int('CG_MAX_DEPTH', 10);
const MAX_TOKENS = int('CG_MAX_TOKENS', 2000);
const MAX_ALIASES = int('CG_MAX_ALIASES', 15);
const MAX_COST = int('CG_MAX_COST', 50_000);
const MAX_BODY_BYTES = int('CG_MAX_BODY_BYTES', 1_048_576);
const BODY_TIMEOUT_MS = int('CG_BODY_TIMEOUT_MS', 10_000);
const MAX_JSON_DEPTH = int('CG_MAX_JSON_DEPTH', 64);
const CORS_ORIGINS = str(
  'CG_CORS_ORIGINS',
  'http://127.0.0.1:4000,http://localhost:4000,http://127.0.0.1:5173,http://localhost:5173',
)
  .split(',')
  .map((o) => o.trim().replace(/\/+$/, ''))
  .filter(Boolean);
const PRODUCTION = bool('CG_PRODUCTION', false);
// Per-caller response cache (router/response-cache.ts): 0 turns it off.
const RESPONSE_CACHE_TTL_MS = int('CG_RESPONSE_CACHE_TTL_MS', 0);
const RESPONSE_CACHE_ENTRIES = int('CG_RESPONSE_CACHE_ENTRIES', 10_000);
const REDIS_URL = str('CG_REDIS_URL', 'redis://127.0.0.1:6379/0');
const QUERY_PLANNER = str('CG_QUERY_PLANNER', 'rust');
if (!['rust', 'js'].includes(QUERY_PLANNER)) {
  throw new Error(`CG_QUERY_PLANNER must be "rust" or "js", got ${JSON.stringify(QUERY_PLANNER)}`);
}

const GRAPHQL_PATH = '/graphql';
const SCHEMA_READ_SCOPE = 'schema:read';
// Same leeway as the subgraphs' verifier (subgraphs/core/auth.py).
const CLOCK_TOLERANCE_SECONDS = 5;

// ---------------------------------------------------------------------------------------------
// Authentication: EdDSA JWTs verified against the users subgraph's JWKS
// ---------------------------------------------------------------------------------------------
type Claims = JWTPayload & { sid?: string; role?: string; scope?: string; orgs?: string[] };
interface Auth {
  token: string;
  /** `Bearer <token>`, the caller's own string when it already reads so (held once per operation). */
  header: string;
  claims: Claims;
}

const jwks = createRemoteJWKSet(new URL(JWKS_URL), {
  timeoutDuration: 5_000,
  // an unknown `kid` refetches the key set at most this often (key rotation)
  cooldownDuration: 10_000,
  cacheMaxAge: 300_000,
});

/** The JWKS key for the token's `kid`. Without a `kid` jose would pick the only key of the set: the
 * subgraphs refuse such a token (subgraphs/core/auth.py), so the router does too. */
function keyWithKid(header: JWTHeaderParameters, token: FlattenedJWSInput) {
  if (typeof header.kid !== 'string' || !header.kid) throw new joseErrors.JWSInvalid('the token has no kid');
  return jwks(header, token);
}

function authError(message: string, code: string, status: number): GraphQLError {
  const headers: Record<string, string> =
    status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {};
  return new GraphQLError(message, { extensions: { code, http: { status, headers } } });
}

const invalidToken = () => authError('The access token is invalid or expired.', 'INVALID_TOKEN', 401);

// Per operation: HTTP requests and every WebSocket operation get their own Request object.
const authByRequest = new WeakMap<object, Promise<Auth | null>>();

function headerOf(context: any, name: string): string | null {
  return context?.request?.headers?.get?.(name) ?? null;
}

/** The raw credential: `Authorization` header (HTTP, SSE, WS upgrade) or graphql-ws connectionParams. */
function credentialOf(context: any): string | null {
  const params = context?.connectionParams;
  if (params && typeof params === 'object') {
    const nested = params.headers && typeof params.headers === 'object' ? params.headers : {};
    for (const value of [params.Authorization, params.authorization, nested.Authorization, nested.authorization]) {
      if (typeof value === 'string' && value.trim()) return value.trim();
    }
  }
  const header = headerOf(context, 'authorization')?.trim();
  return header ? header : null;
}

async function verify(credential: string, allowBareToken: boolean): Promise<Auth> {
  const match = /^Bearer\s+(\S+)$/i.exec(credential);
  // connectionParams may carry the bare token; the HTTP header must use the Bearer scheme
  const token = match ? match[1] : allowBareToken && !/\s/.test(credential) ? credential : null;
  if (!token) throw invalidToken();
  try {
    const { payload } = await jwtVerify(token, keyWithKid, {
      algorithms: ['EdDSA'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    // jose checks `iat` only against a maxTokenAge; the subgraphs refuse a token issued in the future.
    if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw invalidToken();
    }
    const header = credential.length === token.length + 7 && credential.startsWith('Bearer ') ? credential : `Bearer ${token}`;
    return { token, header, claims: payload as Claims };
  } catch (err) {
    if (err instanceof GraphQLError) throw err;
    // The key set could not be fetched: a server-side problem, still not anonymous.
    if (
      err instanceof joseErrors.JWKSTimeout ||
      err instanceof joseErrors.JWKSInvalid ||
      (err instanceof TypeError && !(err instanceof joseErrors.JOSEError))
    ) {
      console.error(`[coursegraph-router] JWKS at ${JWKS_URL} unavailable: ${(err as Error).message}`);
      throw authError('Authentication is temporarily unavailable.', 'AUTH_UNAVAILABLE', 503);
    }
    if (err instanceof joseErrors.JOSEError) throw invalidToken();
    throw err;
  }
}

/** Verified identity of the caller, null when anonymous; throws for any invalid credential. */
function authenticate(context: any): Promise<Auth | null> {
  const key = context?.request ?? context;
  let pending = authByRequest.get(key);
  if (!pending) {
    const overWebSocket = context != null && 'connectionParams' in context;
    const credential = credentialOf(context);
    pending = credential === null ? Promise.resolve(null) : verify(credential, overWebSocket);
    if (overWebSocket) {
      // no HTTP status/headers inside graphql-ws error messages
      pending = pending.catch((err) => {
        if (!(err instanceof GraphQLError)) throw err;
        throw new GraphQLError(err.message, { extensions: { code: err.extensions.code } });
      });
    }
    authByRequest.set(key, pending);
  }
  return pending;
}

function scopesOf(claims: Claims | null | undefined): string[] {
  const scope: unknown = claims?.scope;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

// ---------------------------------------------------------------------------------------------
// Request ids, client address, headers sent to subgraphs
// ---------------------------------------------------------------------------------------------
const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIds = new WeakMap<object, string>();

function requestIdOf(context: any): string {
  const request = context?.request ?? context;
  let id = requestIds.get(request);
  if (!id) {
    const incoming = headerOf(context, REQUEST_ID_HEADER);
    id = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/** The TCP peer of the client connection (never a client-supplied header). */
function clientAddressOf(context: any): string | undefined {
  const socket = context?.req?.socket ?? context?.socket?._socket;
  const address: string | undefined = socket?.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Headers every subgraph request carries (HTTP headers; WS upgrade headers + connectionParams). */
function subgraphHeaders(context: any, auth: Auth | null): Record<string, string> {
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestIdOf(context) };
  if (auth) headers.authorization = auth.header;
  const address = clientAddressOf(context);
  if (address) headers['x-forwarded-for'] = address;
  if (ROUTER_SECRET) headers['x-coursegraph-router-secret'] = ROUTER_SECRET;
  return headers;
}

// Filled in while the GraphQL context is built; read by propagateHeaders (HTTP) and by the WS
// transport through `{context.cgSubgraphHeaders.*}` interpolation.
const CONTEXT_HEADERS = 'cgSubgraphHeaders';

function useCourseGraph(): GatewayPlugin {
  return {
    onRequest({ request, serverContext }: any) {
      const id = requestIdOf({ request });
      if (serverContext?.log?.child) serverContext.log = serverContext.log.child({ requestId: id });
    },
    onResponse({ request, response }: any) {
      const id = requestIds.get(request);
      if (id) response.headers.set(REQUEST_ID_HEADER, id);
    },
    onContextBuilding({ context }: any) {
      // resolveUserFn (generic auth) has verified the credential already; this only reads the memo.
      return authenticate(context).then((auth) => {
        context[CONTEXT_HEADERS] = subgraphHeaders(context, auth);
      });
    },
    onSubgraphExecute({ executionRequest, setExecutionRequest }: any) {
      if (executionRequest.operationType !== 'subscription') return;
      // propagateHeaders stores the headers in `extensions.headers` for the HTTP transport. The WS
      // transport sends the caller's on the upgrade request and in connection_init (transportEntries
      // below), shared by every subscription of that caller; only the request id is the operation's,
      // and it goes in the `subscribe` message's extensions (read by subgraphs/core/app.py).
      // `connectionParams` there would be merged into the shared connection's: never forwarded.
      const { headers: _headers, connectionParams: _params, ...rest } = executionRequest.extensions ?? {};
      const requestId = executionRequest.context?.[CONTEXT_HEADERS]?.[REQUEST_ID_HEADER];
      setExecutionRequest({ ...executionRequest, extensions: { ...rest, ...(requestId ? { requestId } : {}) } });
    },
    onSubscribe({ args, setResultAndStopExecution }: any) {
      if (authRemovedEverything(args)) setResultAndStopExecution({ data: null, errors: [] });
    },
    onExecute({ args, setResultAndStopExecution }: any) {
      if (authRemovedEverything(args)) {
        setResultAndStopExecution({ data: null, errors: [] });
        return;
      }
      if (!PRODUCTION) return;
      if (scopesOf(args.contextValue?.currentUser).includes(SCHEMA_READ_SCOPE)) return;
      if (!usesIntrospection(args.schema, args.document)) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            `Introspection is available only to signed-in users with the "${SCHEMA_READ_SCOPE}" scope.`,
            { extensions: { code: 'INTROSPECTION_DISABLED' } },
          ),
        ],
      });
    },
  } as GatewayPlugin;
}

// ---------------------------------------------------------------------------------------------
// Field authorization (@authenticated, @requiresScopes, @policy)
// ---------------------------------------------------------------------------------------------
// Same rules as @envelop/generic-auth's default for protect-granular mode (outer lists OR, inner
// lists AND), but the error carries no HTTP status: a partial result is a 200 response, and 401 is
// reserved for an invalid token.
function satisfies(required: string[][] | undefined, granted: string[]): boolean {
  if (!required) return true;
  return required.some((all) => all.every((item) => granted.includes(item)));
}

function authorizeField(params: any): GraphQLError | undefined {
  const denied =
    (params.user == null && (params.fieldAuthArgs || params.typeAuthArgs)) ||
    !satisfies(params.typeScopes, params.userScopes) ||
    !satisfies(params.typePolicies?.length ? params.typePolicies : undefined, params.userPolicies) ||
    !satisfies(params.fieldScopes?.length ? params.fieldScopes : undefined, params.userScopes) ||
    !satisfies(params.fieldPolicies?.length ? params.fieldPolicies : undefined, params.userPolicies);
  if (!denied) return undefined;
  return new GraphQLError('Unauthorized field or type', {
    nodes: params.fieldNode ? [params.fieldNode] : undefined,
    path: params.path,
    extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' },
  });
}

/**
 * Generic auth (rejectUnauthenticated: false) removes unauthorized fields from the document before
 * execution and adds their errors to the result. When nothing is left, executing the empty
 * operation fails (masked "Unexpected error." for subscriptions, a 500 with the Rust planner), so
 * stop here and let generic auth's result hook report the authorization errors.
 */
function authRemovedEverything(args: any): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  return !!operation && operation.selectionSet.selections.length === 0;
}

/** graphql-armor rejection -> a validation error with a stable code (400, no data). */
function reportAs(code: string) {
  return (context: any, error: GraphQLError) =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code } }));
}

function usesIntrospection(schema: any, document: DocumentNode): boolean {
  return validate(schema, document, [NoSchemaIntrospectionCustomRule]).length > 0;
}

// ---------------------------------------------------------------------------------------------
// HTTP edge: request bodies, suggestions, CORS (docs/security.md, "Edge: router and HTTP")
// ---------------------------------------------------------------------------------------------
/** A refusal before parsing; `Connection: close` so Node does not keep reading what we refused. */
function refusal(status: number, code: string, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, http: { status, headers: status === 400 ? {} : { connection: 'close' } } },
  });
}

const tooLarge = () =>
  refusal(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);

/** The body as text: at most MAX_BODY_BYTES, arriving within BODY_TIMEOUT_MS (a slow body is cut off). */
async function readLimitedBody(request: Request): Promise<string> {
  const declared = request.headers.get('content-length');
  if (MAX_BODY_BYTES > 0 && declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    if (BODY_TIMEOUT_MS > 0) {
      timer = setTimeout(
        () => reject(refusal(408, 'REQUEST_TIMEOUT', `The request body did not arrive within ${BODY_TIMEOUT_MS} ms.`)),
        BODY_TIMEOUT_MS,
      );
    }
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      size += value.byteLength;
      if (MAX_BODY_BYTES > 0 && size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel().catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** True when JSON `text` nests objects/arrays deeper than `limit` (a scan, before JSON.parse recurses). */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

async function parseJsonBody(request: Request): Promise<any> {
  const text = await readLimitedBody(request);
  if (MAX_JSON_DEPTH > 0 && nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw refusal(400, 'BAD_REQUEST', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw refusal(400, 'BAD_REQUEST', 'POST body sent invalid JSON.');
  }
  if (body === null || typeof body !== 'object') {
    throw refusal(400, 'BAD_REQUEST', 'POST body is expected to be a JSON object.');
  }
  return body;
}

const JSON_TYPES = /^application\/(graphql-response\+)?json\b|^application\/graphql\+json\b/i;

/** Every POST is read by parseJsonBody (size, time, nesting); GraphQL over anything but JSON is refused
 * (no multipart: uploads go through signed URLs). */
function useRequestLimits(): GatewayPlugin {
  return {
    onRequestParse({ request, setRequestParser }: any) {
      if (request.method !== 'POST') return;
      if (JSON_TYPES.test(request.headers.get('content-type') ?? '')) {
        setRequestParser(parseJsonBody);
        return;
      }
      setRequestParser(() => {
        throw refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send GraphQL requests as application/json.');
      });
    },
  } as GatewayPlugin;
}

// graphql-js suggests enum values, fields, arguments and types ("Did you mean ..."): they disclose the
// schema to callers who may not introspect it. Removed from validation errors and from execution errors
// (variable coercion), over HTTP, SSE and WebSocket alike.
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function hideSuggestions(errors: readonly any[] | undefined): void {
  for (const error of errors ?? []) {
    if (typeof error?.message === 'string' && error.message.includes('Did you mean')) {
      error.message = error.message.replace(SUGGESTION, '');
    }
  }
}

function useNoSuggestions(): GatewayPlugin {
  const done = () => ({
    onExecuteDone: ({ result }: any) => {
      if (result && Symbol.asyncIterator in result) return { onNext: ({ result: next }: any) => hideSuggestions(next?.errors) };
      hideSuggestions(result?.errors);
      return undefined;
    },
  });
  return {
    onValidate: () => ({ valid, result }: any) => {
      if (!valid) hideSuggestions(result);
    },
    // HTTP and SSE answers, whatever raised their errors (variable coercion errors are thrown past
    // onExecuteDone); WebSocket operations are covered by the execute/subscribe hooks.
    onResultProcess({ result }: any) {
      for (const single of Array.isArray(result) ? result : [result]) hideSuggestions(single?.errors);
    },
    onExecute: done,
    onSubscribe: () => ({
      onSubscribeResult: ({ result }: any) => {
        if (result && Symbol.asyncIterator in result) return { onNext: ({ result: next }: any) => hideSuggestions(next?.errors) };
        hideSuggestions(result?.errors);
        return undefined;
      },
    }),
  } as GatewayPlugin;
}

/** CORS headers only for a listed origin: for any other (including `null`, a sandboxed frame or a file)
 * none at all, so the browser refuses to hand the response to the page. */
function corsFor(request: Request): any {
  const origin = request.headers.get('origin');
  if (!origin || !CORS_ORIGINS.includes(origin)) return false;
  return {
    origin: [origin],
    credentials: true,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'accept', REQUEST_ID_HEADER, 'x-graphql-csrf', 'apollo-require-preflight'],
    exposedHeaders: [REQUEST_ID_HEADER],
    maxAge: 600,
  };
}

// ---------------------------------------------------------------------------------------------
// Response headers of /graphql (API and GraphiQL); the web app's own pages set their own
// ---------------------------------------------------------------------------------------------
// GraphiQL is one page with its bundle inline: its CSP allows exactly the inline scripts it was rendered
// with (hashes noted by renderGraphiQLWithSignIn), inline styles (the editor styles elements), its
// web workers (blob: URLs) and requests to this origin only.
const graphiqlScriptHashes = new Set<string>();

function noteInlineScripts(page: string): void {
  for (const match of page.matchAll(/<script(?:\s[^>]*)?>([\s\S]*?)<\/script>/g)) {
    if (match[1]) graphiqlScriptHashes.add(`'sha256-${createHash('sha256').update(match[1]).digest('base64')}'`);
  }
}

function graphiqlPolicy(): string {
  return [
    "default-src 'none'",
    `script-src ${[...graphiqlScriptHashes].join(' ')}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    'worker-src blob:',
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

// JSON answers are data, never a document: nothing may run or frame them.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

function useSecurityHeaders(): GatewayPlugin {
  return {
    onResponse({ request, response }: any) {
      const headers = response.headers;
      if (!headers.has('x-content-type-options')) headers.set('x-content-type-options', 'nosniff');
      if (!headers.has('referrer-policy')) headers.set('referrer-policy', 'no-referrer');
      if (new URL(request.url, 'http://router').pathname !== GRAPHQL_PATH) return;
      // Responses carry tokens (login, refresh) and private data: never stored by a browser or a proxy.
      headers.set('cache-control', 'no-store');
      headers.set('x-frame-options', 'DENY');
      const html = (headers.get('content-type') ?? '').startsWith('text/html');
      headers.set('content-security-policy', html ? graphiqlPolicy() : API_POLICY);
      if (!headers.has('vary')) headers.set('vary', 'Origin');
      else if (!/\borigin\b/i.test(headers.get('vary'))) headers.set('vary', `${headers.get('vary')}, Origin`);
    },
  } as GatewayPlugin;
}

// ---------------------------------------------------------------------------------------------
// Subgraph transports
// ---------------------------------------------------------------------------------------------
// The caller's values only, no per-operation one: Hive Gateway's WS transport keeps one upstream
// connection per distinct interpolated set, so every subscription of one caller (same token, same client
// address) shares one WebSocket to a subgraph, and a connection never carries another caller's.
const wsHeaderNames = ['authorization', 'x-forwarded-for', 'x-coursegraph-router-secret'];
const interpolated = (name: string) => `{context.${CONTEXT_HEADERS}.${name}}`;

const transportEntries: Record<string, any> = {
  '*': {
    options: {
      subscriptions: {
        kind: 'ws',
        location: GRAPHQL_PATH,
        // graphql-transport-ws: the same values as HTTP headers on the upgrade request and in the
        // connection_init payload; empty values are dropped.
        headers: wsHeaderNames.map((name) => [name, interpolated(name)]),
        options: {
          connectionParams: Object.fromEntries(wsHeaderNames.map((name) => [name, interpolated(name)])),
        },
      },
    },
  },
};
for (const [name, location] of Object.entries(SUBGRAPH_URLS)) {
  transportEntries[name] = { location };
}

/** The users subgraph's base URL (browser sessions): CG_SUBGRAPH_URLS, else the supergraph's. */
function usersBaseUrl(): string {
  const graphql =
    SUBGRAPH_URLS.users ??
    /@join__graph\(name: "users", url: "([^"]+)"\)/.exec(readFileSync(SUPERGRAPH, 'utf8'))?.[1];
  if (!graphql) throw new Error(`no URL for the users subgraph in CG_SUBGRAPH_URLS or ${SUPERGRAPH}`);
  return graphql.replace(/\/graphql\/?$/, '');
}

// ---------------------------------------------------------------------------------------------
// Report downloads (`csvUrl`): GET /reports/* on the router's origin, forwarded to the analytics
// subgraph with the caller's token (its routes authenticate and authorize it themselves).
// ---------------------------------------------------------------------------------------------
const REPORTS_PATH = '/reports/';
const ANALYTICS_BASE = (SUBGRAPH_URLS.analytics ?? str('CG_ANALYTICS_URL', 'http://127.0.0.1:4007/graphql')).replace(
  /\/graphql\/?$/,
  '',
);
const REPORT_HEADERS = ['content-type', 'content-disposition', 'cache-control', 'retry-after', 'www-authenticate'];

function useReports(): GatewayPlugin {
  return {
    async onRequest({ request, serverContext, url, endResponse, fetchAPI }: any) {
      if (!url.pathname.startsWith(REPORTS_PATH)) return;
      if (request.method !== 'GET') {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET' } }));
        return;
      }
      const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestIdOf({ request }) };
      const authorization = request.headers.get('authorization');
      if (authorization) headers.authorization = authorization;
      const address = clientAddressOf(serverContext);
      if (address) headers['x-forwarded-for'] = address;
      if (ROUTER_SECRET) headers['x-coursegraph-router-secret'] = ROUTER_SECRET;
      try {
        const upstream = await fetchAPI.fetch(`${ANALYTICS_BASE}${url.pathname}${url.search}`, { headers });
        const passed: Record<string, string> = {};
        for (const name of REPORT_HEADERS) {
          const value = upstream.headers.get(name);
          if (value) passed[name] = value;
        }
        endResponse(new fetchAPI.Response(upstream.body, { status: upstream.status, headers: passed }));
      } catch (err) {
        console.error(`[coursegraph-router] reports at ${ANALYTICS_BASE} unavailable: ${(err as Error).message}`);
        endResponse(new fetchAPI.Response('Reports are temporarily unavailable.', { status: 502 }));
      }
    },
  } as GatewayPlugin;
}

/** The content subgraph's base URL (signed file URLs under /content/): CG_SUBGRAPH_URLS, else the supergraph's. */
function contentBaseUrl(): string {
  const graphql =
    SUBGRAPH_URLS.content ??
    /@join__graph\(name: "content", url: "([^"]+)"\)/.exec(readFileSync(SUPERGRAPH, 'utf8'))?.[1] ??
    'http://127.0.0.1:4008/graphql';
  return graphql.replace(/\/graphql\/?$/, '');
}

// ---------------------------------------------------------------------------------------------
// Query planner: Hive Router's Rust planner (npm, native, glibc x64/arm64 + macOS) or the JS one
// ---------------------------------------------------------------------------------------------
let unifiedGraphHandler: any;
let planner = 'js';
if (QUERY_PLANNER === 'rust') {
  try {
    ({ unifiedGraphHandler } = await import('@graphql-hive/router-runtime'));
    planner = 'rust';
  } catch (err) {
    console.error(
      `[coursegraph-router] Rust query planner unavailable (${(err as Error).message}); using the JavaScript planner`,
    );
  }
}

// The page (~9 MB, GraphiQL bundled inline) only depends on the options: build it once per set. Its
// module is imported when the page is first asked for: loaded, its source and bundle hold ~29 MB of heap.
const graphiqlPages = new Map<string, string>();
async function renderGraphiQLWithSignIn(opts: any): Promise<string> {
  const key = JSON.stringify(opts ?? {});
  const cached = graphiqlPages.get(key);
  if (cached !== undefined) return cached;
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  const page = signInPanel(renderGraphiQL(opts), GRAPHQL_PATH);
  noteInlineScripts(page);
  if (graphiqlPages.size < 8) graphiqlPages.set(key, page);
  return page;
}

console.error(
  `[coursegraph-router] supergraph=${SUPERGRAPH} listen=${HOST}:${PORT} production=${PRODUCTION ? 1 : 0} ` +
    `planner=${planner} jwks=${JWKS_URL} subgraph-overrides=${Object.keys(SUBGRAPH_URLS).join(',') || 'none'} ` +
    `router-secret=${ROUTER_SECRET ? 'set' : 'unset'} web=${WEB_DIR} limits=depth:${MAX_DEPTH},tokens:${MAX_TOKENS},` +
    `aliases:${MAX_ALIASES},cost:${MAX_COST},body:${MAX_BODY_BYTES}B/${BODY_TIMEOUT_MS}ms,json-depth:${MAX_JSON_DEPTH} ` +
    `response-cache=${RESPONSE_CACHE_TTL_MS > 0 ? `${RESPONSE_CACHE_TTL_MS}ms` : 'off'}`,
);

// ---------------------------------------------------------------------------------------------
// The gateway
// ---------------------------------------------------------------------------------------------
// A subgraph that is down or restarting: a coded error naming the cause instead of a masked
// "Unexpected error.", so clients (and the fault tests) can tell an outage from a bug. Refused
// connections never reached the subgraph: retrying is safe. A connection lost mid-request may have.
const REFUSED = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN/;
const LOST = /ECONNRESET|EPIPE|socket hang up|other side closed|UND_ERR_SOCKET/;

function causesOf(error: any, depth = 0): string {
  if (error == null || depth > 6) return '';
  const own = `${error?.message ?? ''} ${error?.code ?? ''}`;
  const nested = [error?.originalError, error?.cause, ...(Array.isArray(error?.errors) ? error.errors : [])];
  return own + ' ' + nested.map((e) => causesOf(e, depth + 1)).join(' ');
}

function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const causes = causesOf(error);
  const refused = REFUSED.test(causes);
  if (refused || LOST.test(causes)) {
    const path = (error as any)?.path;
    return new GraphQLError('A service is restarting or unavailable; try again in a moment.', {
      path,
      extensions: refused
        ? { code: 'SUBGRAPH_UNAVAILABLE', retryable: true }
        : { code: 'SUBGRAPH_CONNECTION_LOST', retryable: false },
    });
  }
  return yogaMaskError(error, message, isDev);
}

export const gatewayConfig = defineConfig({
  maskedErrors: { maskError },
  // A subgraph closing an idle keep-alive connection just as a request is written to it (it is being
  // restarted, docs/reliability.md) loses a request it never read: retry QUERIES once on a new connection.
  // Mutations are not retried: a lost connection cannot tell whether the subgraph applied one.
  upstreamRetry: ({ executionRequest }: any) =>
    executionRequest?.operationType === 'query'
      ? {
          maxRetries: 1,
          retryDelay: 20,
          shouldRetry: ({ executionResult, response }: any) =>
            !response &&
            Array.isArray(executionResult?.errors) &&
            executionResult.errors.some((e: any) => LOST.test(causesOf(e))),
        }
      : undefined,
  supergraph: SUPERGRAPH,
  host: HOST,
  port: PORT,
  graphqlEndpoint: GRAPHQL_PATH,
  healthCheckEndpoint: '/healthcheck',
  readinessCheckEndpoint: '/readiness',
  landingPage: false,
  transportEntries,
  ...(unifiedGraphHandler ? { unifiedGraphHandler } : {}),

  // GraphiQL (Yoga's, bundled from npm: no CDN) in every mode, with a sign-in panel.
  graphiql: {
    title: 'CourseGraph GraphiQL',
    subscriptionsProtocol: 'SSE',
    credentials: 'same-origin',
    defaultQuery: [
      '# Welcome to CourseGraph.',
      '# Sign in with the button at the bottom right (or paste',
      '# an access token there): every request from this page',
      '# then carries your token, subscriptions included.',
      '',
      '{',
      '  __typename',
      '}',
      '',
    ].join('\n'),
  },
  renderGraphiQL: renderGraphiQLWithSignIn,

  cors: corsFor,
  // A request must be preflighted (non-simple content type) or carry one of these headers:
  // stops GET and text/plain / form POST cross-site requests.
  csrfPrevention: { requestHeaders: ['x-graphql-csrf', 'apollo-require-preflight'] },

  // Our own request id (sanitised, also on WS operations): see useCourseGraph.
  requestId: false,

  genericAuth: {
    mode: 'protect-granular',
    resolveUserFn: async (context: any) => (await authenticate(context))?.claims ?? null,
    extractScopes: (claims: any) => scopesOf(claims),
    // @policy(policies: [["role:site_admin"], ["scope:course:publish"]]): outer list OR, inner AND.
    extractPolicies: (claims: any) => [
      'authenticated',
      ...(typeof claims?.role === 'string' ? [`role:${claims.role}`] : []),
      ...scopesOf(claims).map((s) => `scope:${s}`),
    ],
    validateUser: authorizeField,
    // Unauthorized fields are removed and reported; the rest of the operation still runs.
    rejectUnauthenticated: false,
  },

  propagateHeaders: {
    fromClientToSubgraphs: ({ context }: any) => context?.[CONTEXT_HEADERS] ?? {},
  },

  // Parse-time token limit: "Syntax Error: Token limit of N exceeded." (GRAPHQL_PARSE_FAILED, 400).
  maxTokens: MAX_TOKENS > 0 ? MAX_TOKENS : false,
  // Depth and alias limits are validation rules registered in `plugins` below (stable codes).
  // Suggestions of every kind (fields, arguments, types, enum values) are removed by useNoSuggestions.
  blockFieldSuggestions: false,
  // Node's own limit on receiving a whole request (headers + body), a backstop for slow headers; Node
  // checks it every 30 s, so slow bodies are cut by useRequestLimits at BODY_TIMEOUT_MS instead.
  ...(BODY_TIMEOUT_MS > 0 ? { requestTimeout: BODY_TIMEOUT_MS + 5_000 } : {}),
  ...(MAX_COST > 0
    ? { demandControl: { maxCost: MAX_COST, listSize: 10, includeExtensionMetadata: false } }
    : {}),

  plugins: () => [
    ...(RESPONSE_CACHE_TTL_MS > 0
      ? [
          useResponseCache({
            ttlMs: RESPONSE_CACHE_TTL_MS,
            maxEntries: RESPONSE_CACHE_ENTRIES,
            redisUrl: REDIS_URL,
            authenticate,
          }),
        ]
      : []),
    useReports(),
    useContentProxy({ contentUrl: contentBaseUrl(), routerSecret: ROUTER_SECRET, requestIdOf, clientAddressOf }),
    useRequestLimits(),
    useNoSuggestions(),
    useSecurityHeaders(),
    useCourseGraph(),
    useAuthProxy({ usersUrl: usersBaseUrl(), routerSecret: ROUTER_SECRET, requestIdOf, clientAddressOf }),
    useWebApp({ distDir: WEB_DIR }),
    ...(MAX_DEPTH > 0
      ? [maxDepthPlugin({ n: MAX_DEPTH, propagateOnRejection: false, onReject: [reportAs('QUERY_TOO_DEEP')] }) as any]
      : []),
    ...(MAX_ALIASES > 0
      ? [maxAliasesPlugin({ n: MAX_ALIASES, propagateOnRejection: false, onReject: [reportAs('TOO_MANY_ALIASES')] }) as any]
      : []),
  ],
});

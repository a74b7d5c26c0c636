// Browser sessions on the router's origin: POST /auth/login|refresh|logout are passed to the users
// subgraph's routes of the same paths (subgraphs/users/browser.py), so the HttpOnly refresh cookie
// belongs to the app's origin. The subgraph does every check (CSRF header, Origin, rate limits).
import type { GatewayPlugin } from '@graphql-hive/gateway';

const ROUTES = new Set(['/auth/login', '/auth/refresh', '/auth/logout']);
// What the subgraph needs of the browser's request, and what the browser needs of the answer.
const REQUEST_HEADERS = ['content-type', 'cookie', 'origin', 'x-coursegraph-csrf'];
const RESPONSE_HEADERS = ['content-type', 'cache-control', 'retry-after'];
const MAX_BODY_BYTES = 16 * 1024; // an email and a password
const TIMEOUT_MS = 15_000;

interface Options {
  usersUrl: string; // the users subgraph's base URL (no /graphql)
  routerSecret: string;
  requestIdOf: (context: any) => string;
  clientAddressOf: (context: any) => string | undefined;
}

export function useAuthProxy(options: Options): GatewayPlugin {
  return {
    onRequest({ request, url, serverContext, endResponse, fetchAPI }: any) {
      const path: string = url.pathname;
      if (path !== '/auth' && !path.startsWith('/auth/')) return;
      if (!ROUTES.has(path)) return endResponse(error(fetchAPI, 404, 'NOT_FOUND', 'Not found.'));
      if (request.method !== 'POST') {
        const refused = error(fetchAPI, 405, 'METHOD_NOT_ALLOWED', 'Use POST.');
        refused.headers.set('allow', 'POST');
        return endResponse(refused);
      }
      return forward(fetchAPI, options, request, url, serverContext).then(endResponse);
    },
  } as GatewayPlugin;
}

async function forward(F: any, options: Options, request: Request, url: URL, serverContext: any) {
  const path = url.pathname;
  const body = await request.arrayBuffer();
  if (body.byteLength > MAX_BODY_BYTES) return error(F, 413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
  const headers: Record<string, string> = { 'x-request-id': options.requestIdOf({ request }) };
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  // The TCP peer, never a client-supplied X-Forwarded-For (per-IP rate limits, the audit log).
  const address = options.clientAddressOf(serverContext);
  if (address) headers['x-forwarded-for'] = address;
  // The origin the browser talked to: a same-origin request (the app's own) passes the Origin check.
  headers['x-forwarded-host'] = url.host;
  headers['x-forwarded-proto'] = url.protocol.replace(/:$/, '');
  if (options.routerSecret) headers['x-coursegraph-router-secret'] = options.routerSecret;
  let upstream: Response;
  try {
    upstream = await fetch(`${options.usersUrl}${path}`, {
      method: 'POST',
      headers,
      body: body.byteLength ? body : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    console.error(`[coursegraph-router] ${path}: users subgraph unreachable: ${(err as Error).message}`);
    return error(F, 502, 'UNAVAILABLE', 'Signing in is temporarily unavailable.');
  }
  const answer = new F.Response(upstream.status === 204 ? null : await upstream.arrayBuffer(), {
    status: upstream.status,
  });
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) answer.headers.set(name, value);
  }
  for (const cookie of upstream.headers.getSetCookie()) answer.headers.append('set-cookie', cookie);
  return answer;
}

function error(F: any, status: number, code: string, message: string): Response {
  return new F.Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

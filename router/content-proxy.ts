// Course files on the router's origin: /content/* (signed upload and download URLs) is forwarded to the
// content subgraph's routes (subgraphs/content/app.py), bodies streamed both ways, never buffered. The
// subgraph checks the signature, expiry and the item itself; the router only passes what they need.
import type { GatewayPlugin } from '@graphql-hive/gateway';

const PREFIX = '/content/';
const METHODS = new Set(['GET', 'HEAD', 'PUT']);
const REQUEST_HEADERS = ['range', 'if-none-match', 'if-range', 'content-type', 'content-length'];
const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'content-disposition',
  'accept-ranges',
  'etag',
  'cache-control',
  'x-content-type-options',
  'retry-after',
];

interface Options {
  contentUrl: string; // the content subgraph's base URL (no /graphql)
  routerSecret: string;
  requestIdOf: (context: any) => string;
  clientAddressOf: (context: any) => string | undefined;
}

export function useContentProxy(options: Options): GatewayPlugin {
  return {
    onRequest({ request, url, serverContext, endResponse, fetchAPI }: any) {
      if (!url.pathname.startsWith(PREFIX)) return;
      if (!METHODS.has(request.method)) {
        return endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD, PUT' } }));
      }
      return forward(fetchAPI, options, request, url, serverContext).then(endResponse);
    },
  } as GatewayPlugin;
}

async function forward(F: any, options: Options, request: Request, url: URL, serverContext: any) {
  const headers: Record<string, string> = { 'x-request-id': options.requestIdOf({ request }) };
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const address = options.clientAddressOf(serverContext);
  if (address) headers['x-forwarded-for'] = address;
  if (options.routerSecret) headers['x-coursegraph-router-secret'] = options.routerSecret;
  const hasBody = request.method === 'PUT';
  let upstream: Response;
  try {
    upstream = await fetch(`${options.contentUrl}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? request.body : undefined,
      // Streams the upload through instead of reading it whole first.
      ...(hasBody ? { duplex: 'half' } : {}),
      redirect: 'manual',
    } as RequestInit);
  } catch (err) {
    console.error(`[coursegraph-router] ${url.pathname}: content subgraph unreachable: ${(err as Error).message}`);
    return new F.Response(JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'Files are temporarily unavailable.' } }), {
      status: 502,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  }
  const passed: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) passed[name] = value;
  }
  const empty = request.method === 'HEAD' || upstream.status === 304 || upstream.status === 204;
  return new F.Response(empty ? null : upstream.body, { status: upstream.status, headers: passed });
}

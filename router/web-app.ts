// The single-page app (web/dist) on the router's origin, beside /graphql: built files as they are,
// index.html for every client-side route, and the app's security headers.
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { GatewayPlugin } from '@graphql-hive/gateway';

// Paths that are never the app's (the API, GraphiQL, health, browser sessions).
const RESERVED = ['/graphql', '/healthcheck', '/readiness', '/auth'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
};

// Vite names files under assets/ by content hash: they never change, so browsers may keep them forever.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html and other unhashed files: always revalidate, so a new build is seen at once.
const REVALIDATE = 'no-cache';

// Precompressed siblings (`app.js.br`, `app.js.gz`, e.g. from vite-plugin-compression), best first.
const ENCODINGS: [string, string][] = [
  ['br', '.br'],
  ['gzip', '.gz'],
];

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CourseGraph: the web app is not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web app is not built</h1>
<p>Build it with <code>npm ci --prefix web &amp;&amp; npm run --prefix web build</code> (<code>make run</code>
does this), or run <code>make web-dev</code> for the development server with hot reload.</p>
<p>The API and GraphiQL are at <a href="/graphql">/graphql</a>.</p>
</body></html>
`;

export function useWebApp({ distDir }: { distDir: string }): GatewayPlugin {
  const root = resolve(distDir);
  return {
    onRequest({ request, url, endResponse, fetchAPI }: any) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      const path: string = url.pathname;
      if (RESERVED.some((p) => path === p || path.startsWith(`${p}/`))) return;
      return answer(fetchAPI, root, request, path).then((response) => {
        secure(response, url);
        endResponse(response);
      });
    },
  } as GatewayPlugin;
}

// `F`: the server's fetch API (its Response class is the one the adapter expects).
async function answer(F: any, root: string, request: Request, path: string): Promise<Response> {
  const head = request.method === 'HEAD';
  const wantsHtml = (request.headers.get('accept') ?? '').includes('text/html');
  if (!(await isDirectory(root))) {
    return wantsHtml ? html(F, NOT_BUILT, head) : notFound(F);
  }
  let relative: string;
  try {
    relative = decodeURIComponent(path);
  } catch {
    return notFound(F);
  }
  const file = resolve(root, `.${relative}`);
  // Never anything outside the dist dir (`..`, encoded slashes, NUL bytes).
  if (relative.includes('\0') || (file !== root && !file.startsWith(root + sep))) return notFound(F);
  if (await isFile(file)) {
    const cache = path.startsWith('/assets/') ? IMMUTABLE : REVALIDATE;
    return sendFile(F, file, cache, request, head);
  }
  // A hashed asset that is not there is a stale or wrong link: never answer it with the app.
  if (path.startsWith('/assets/') || !wantsHtml) return notFound(F);
  const index = resolve(root, 'index.html');
  if (!(await isFile(index))) return html(F, NOT_BUILT, head);
  return sendFile(F, index, REVALIDATE, request, head); // client-side routes: the app routes them
}

async function sendFile(F: any, file: string, cache: string, request: Request, head: boolean): Promise<Response> {
  const headers = new F.Headers({
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': cache,
    vary: 'Accept-Encoding',
  });
  const accepted = request.headers.get('accept-encoding') ?? '';
  let path = file;
  for (const [encoding, suffix] of ENCODINGS) {
    if (accepted.includes(encoding) && (await isFile(file + suffix))) {
      path = file + suffix;
      headers.set('content-encoding', encoding);
      break;
    }
  }
  const body = await readFile(path);
  headers.set('content-length', String(body.byteLength));
  return new F.Response(head ? null : body, { status: 200, headers });
}

function html(F: any, page: string, head: boolean): Response {
  const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': REVALIDATE };
  return new F.Response(head ? null : page, { status: 200, headers });
}

function notFound(F: any): Response {
  return new F.Response('Not found.\n', {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': REVALIDATE },
  });
}

/** The app's security headers; connect-src allows the API and its WebSocket on this origin only. */
function secure(response: Response, url: URL): void {
  const ws = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`;
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${ws}`,
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  response.headers.set('content-security-policy', policy);
  response.headers.set('x-content-type-options', 'nosniff');
  response.headers.set('referrer-policy', 'strict-origin-when-cross-origin');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

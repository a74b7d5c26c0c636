"""The authenticated lab proxy: `/labs/<session id>/...` (HTTP and WebSocket, streamed) → the session's IDE.

Browsers reach it directly (not through the router), so it authenticates every request itself:
- `?token=<access token>` (first visit from the SPA): verified like any API call (signature, claims, the
  session not revoked); the proxy answers with a redirect that drops the token from the URL and sets a
  cookie scoped to `/labs/<id>/` (HttpOnly, SameSite=Strict) holding a short-lived value HMAC-signed with
  a key of its own (`cookie_key`): lab session, user, the sign-in's session id, expiry. Every later
  request re-checks that the sign-in is still alive in Redis and belongs to that user, so a logout ends
  IDE access too. The cookie is renewed while the IDE is used.
- or an `Authorization: Bearer` header (scripts, tests).
Only the lab's owner may pass (a lab is a personal workspace; admins stop labs, they do not enter them);
anyone else gets 404, like a lab that does not exist. The IDE is only reached while the lab is RUNNING;
before and after, a browser gets a small page (status_page.py) with Resume or Start again, scripts JSON.
An IDE that serves under its public base URL (JupyterLab: `serves_base_url`) gets the whole path.
Traffic counts as activity (lifecycle: idle pause), recorded at most every `activity_throttle_seconds`.
No host port is ever handed to a client.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
import websockets
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.websockets import WebSocketDisconnect
from websockets.typing import Subprotocol

from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.app import authenticate, client_ip
from subgraphs.core.auth import SESSION_KEY, Principal, token_is_revoked
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import DomainError, NotAuthenticated
from subgraphs.core.ids import to_uuid
from subgraphs.core.local_secrets import configured_or_local_secret
from subgraphs.core.rbac import Caller
from subgraphs.core.settings import Settings
from subgraphs.labs import actions, starting, states, status_page
from subgraphs.labs.errors import InvalidTransition
from subgraphs.labs.models import LabSession

log = logging.getLogger("coursegraph.labs.proxy")

PREFIX = "/labs/"
COOKIE = "cg_lab"
# Largest WebSocket message a lab may send through the proxy (uvicorn's default for the browser side).
WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# An open WebSocket re-checks its sign-in this often: a logout (or revocation) closes it too.
WS_RECHECK_SECONDS = 5.0
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# Never passed to the browser: it would let a lab's service worker control the whole origin (every other
# lab, and the `?token=` of their first visit).
LAB_RESPONSE_DROPPED = frozenset({"service-worker-allowed"})


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


# --- the signed cookie ------------------------------------------------------------------------------


KEY_FILE = Path("keys") / "lab-proxy-cookie.key"  # under the data dir, outside production


def cookie_key(settings: Settings) -> bytes:
    """The cookie's HMAC key: from `labs.proxy_cookie_secret` (required in production), else a random key
    made once and kept in <data_dir>/keys/lab-proxy-cookie.key (0600), like the dev signing keys. Never
    derived from another setting: the router's dev secret is public."""
    secret = configured_or_local_secret(
        settings,
        settings.labs.proxy_cookie_secret,
        env_var="COURSEGRAPH_LABS__PROXY_COOKIE_SECRET",
        key_file=KEY_FILE,
    )
    return hashlib.sha256(b"coursegraph-lab-proxy-cookie:" + secret.encode()).digest()


def _key(runtime: Runtime) -> bytes:
    key = runtime.extras.get("lab_proxy_cookie_key")
    if key is None:
        key = runtime.extras["lab_proxy_cookie_key"] = cookie_key(runtime.settings)
    return key


async def _signed_in_as(runtime: Runtime, auth_session: str | None, user_id: str) -> bool:
    """The sign-in session is alive and is this user's (a cookie's session id is bound to its user)."""
    if not auth_session:
        return False
    owner = await runtime.redis.get(SESSION_KEY.format(sid=auth_session))
    if isinstance(owner, bytes):
        owner = owner.decode()
    return owner is not None and owner == user_id


def sign_cookie(runtime: Runtime, session_id: uuid.UUID, user_id: str, auth_session: str | None) -> str:
    expires = int(time.time()) + runtime.settings.labs.proxy_cookie_seconds
    body = base64.urlsafe_b64encode(
        orjson.dumps({"l": str(session_id), "u": user_id, "s": auth_session, "e": expires})
    ).decode()
    signature = hmac.new(_key(runtime), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


async def read_cookie(runtime: Runtime, value: str, session_id: uuid.UUID) -> dict[str, Any] | None:
    """{l: lab, u: user id, s: sign-in session, e: expiry} of a valid cookie of this lab whose sign-in
    is still alive; None otherwise."""
    body, _, signature = value.partition(".")
    expected = hmac.new(_key(runtime), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body))
    except ValueError:
        return None
    if data.get("l") != str(session_id) or int(data.get("e", 0)) < time.time():
        return None
    if not await _signed_in_as(runtime, data.get("s"), str(data.get("u"))):
        return None  # signed out (or revoked) since, or someone else's sign-in
    return data


# --- authorization ----------------------------------------------------------------------------------


async def _principal(runtime: Runtime, token: str | None, authorization: str | None) -> Principal | None:
    if token:
        return await authenticate(runtime, f"Bearer {token}")
    if authorization:
        return await authenticate(runtime, authorization)
    return None


async def _lab(runtime: Runtime, session_id: uuid.UUID, user_id: str) -> LabSession:
    async with runtime.transaction() as session:
        row = await session.get(LabSession, session_id)
    if row is None or str(row.user_id) != user_id:
        raise Denied(404, "No such lab.")
    return row


def _reachable(row: LabSession) -> bool:
    return row.status == states.LabStatus.RUNNING and row.endpoint_host is not None


async def _authorized(
    runtime: Runtime, connection: Request | WebSocket, session_id: uuid.UUID | None
) -> tuple[LabSession, Principal | None, dict[str, Any] | None]:
    """The lab, and the principal (`?token=` or the Authorization header) or the cookie's content."""
    if session_id is None:
        raise Denied(404, "No such lab.")
    try:
        principal = await _principal(
            runtime, connection.query_params.get("token"), connection.headers.get("authorization")
        )
    except NotAuthenticated as exc:
        raise Denied(401, exc.message) from exc
    if principal is not None:
        if principal.user_id is None:
            raise Denied(404, "No such lab.")
        return await _lab(runtime, session_id, principal.subject or ""), principal, None
    cookie = connection.cookies.get(COOKIE)
    found = await read_cookie(runtime, cookie, session_id) if cookie else None
    if found is None:
        raise Denied(401, "Sign in to open this lab.")
    return await _lab(runtime, session_id, str(found["u"])), None, found


class _Activity:
    """Records proxied traffic as activity; an in-process gate spares Redis a call per request."""

    def __init__(self) -> None:
        self._last: dict[uuid.UUID, float] = {}

    async def touch(self, runtime: Runtime, session_id: uuid.UUID) -> None:
        now = time.monotonic()
        gap = min(5.0, runtime.settings.labs.activity_throttle_seconds)
        if now - self._last.get(session_id, 0.0) < gap:
            return
        self._last[session_id] = now
        if len(self._last) > 10_000:
            self._last.clear()
        try:
            await actions.record_activity(runtime, session_id)
        except Exception:
            log.exception("could not record activity of lab %s", session_id)


def _set_cookie(
    response: Response, runtime: Runtime, session_id: uuid.UUID, user_id: str, auth_session: str | None
) -> None:
    """Give the browser a fresh signed cookie for this lab's path."""
    response.set_cookie(
        key=COOKIE,
        value=sign_cookie(runtime, session_id, user_id, auth_session),
        path=f"{PREFIX}{session_id}/",
        max_age=runtime.settings.labs.proxy_cookie_seconds,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.labs.public_url.startswith("https://"),
    )


_COOKIE_PATH = re.compile(r";\s*path=[^;]*", re.IGNORECASE)
_COOKIE_DOMAIN = re.compile(r";\s*domain=[^;]*", re.IGNORECASE)


def _scoped(path: str, prefix: str, serves_base_url: bool) -> str:
    """An IDE's path as the browser must see it: under /labs/<id>. An IDE that serves under its base URL
    already says so (a path outside it is put under it all the same)."""
    path = path if path.startswith("/") else "/"
    if serves_base_url and (path == prefix or path.startswith(prefix + "/")):
        return path
    return prefix + path


def _rewrite(
    name: str, value: str, session_id: uuid.UUID, upstream: str, serves_base_url: bool = False
) -> str | None:
    """Keep the IDE inside its prefix: its cookies are scoped to this lab (never sent to another lab's IDE
    on the same origin, nor to other hosts of our domain) and its absolute redirects stay under
    /labs/<id>/. None: the header is dropped (a lab may not overwrite our own cookie)."""
    prefix = f"{PREFIX}{session_id}"
    if name == "set-cookie":
        if value.split("=", 1)[0].strip() == COOKIE:
            return None
        value = _COOKIE_DOMAIN.sub("", value)
        match = _COOKIE_PATH.search(value)
        path = match.group(0).split("=", 1)[1].strip() if match else "/"
        return _COOKIE_PATH.sub("", value) + f"; Path={_scoped(path, prefix, serves_base_url)}"
    if name == "location":
        target = urlsplit(value)
        if target.netloc.lower() == upstream.lower():  # the IDE's absolute URL: never hand out its address
            query = f"?{target.query}" if target.query else ""
            return _scoped(target.path, prefix, serves_base_url) + query
        if value.startswith("/") and not value.startswith("//"):
            return _scoped(value, prefix, serves_base_url) if serves_base_url else prefix + value
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _foreign(runtime: Runtime, connection: Request | WebSocket, cookie: dict[str, Any] | None) -> bool:
    """A cookie-authenticated request sent by a page of another origin than the proxy's."""
    origin = connection.headers.get("origin")
    return cookie is not None and bool(origin) and origin.lower() != _origin(runtime.settings.labs.public_url)


def _raw_rest(connection: Request | WebSocket) -> str:
    """The path after /labs/<id>/ exactly as the browser sent it (still percent-encoded: an encoded `/`,
    `?` or `#` is part of a name, and nothing is decoded then re-encoded on its way to the IDE)."""
    raw = connection.scope.get("raw_path") or connection.url.path.encode()
    parts = raw.decode("latin-1").split("/", 3)
    return parts[3] if len(parts) == 4 else ""


def _at_lab_root(request: Request) -> bool:
    """The raw path (as the browser resolves it: an encoded slash separates nothing) is /labs/<id>/<name>."""
    return "/" not in _raw_rest(request)


def _query_without_token(request: Request | WebSocket) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])


_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


class RedactTokens(logging.Filter):
    """Access logs show `?token=[redacted]`: a first visit's access token must not land in log files."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _upstream_path(row: LabSession, rest: str) -> str:
    """The IDE's path: the whole one for an IDE serving under its base URL, else the part after it."""
    return f"{PREFIX}{row.id}/{rest}" if row.serves_base_url else f"/{rest}"


def _wants_html(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def _unreachable(request: Request, row: LabSession, error: str | None = None) -> Response:
    """A lab whose IDE cannot be reached now: a small page for a browser (what is going on, Resume or Start
    again), JSON for anything else."""
    if not _wants_html(request) and error is None:
        return JSONResponse({"error": f"This lab is {row.status}.", "status": row.status}, 409)
    page, reloads = status_page.render(row, error)
    # 200 while it is on its way (the page reloads itself into the IDE), 409 when it waits for the user.
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": STATUS_PAGE_CSP}
    return HTMLResponse(page, status_code=200 if reloads else 409, headers=headers)


# The status page has no script, loads nothing and posts only to the proxy.
STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'"


async def _act(
    runtime: Runtime,
    request: Request,
    row: LabSession,
    action: str,
    principal: Principal | None,
    cookie: dict[str, Any] | None,
) -> Response:
    """The status page's buttons: Resume (a paused lab) or Start again (a stopped or failed one: a new lab
    of the same exercise, with a cookie for its own path). Then back to the lab's URL."""
    if principal is None:
        assert cookie is not None
        principal = Principal(subject=str(cookie["u"]), kind="user", session_id=cookie["s"])
    peer = request.client.host if request.client else None
    meta = RequestMeta(
        Caller.of(principal, runtime.redis),
        request_id=uuid.uuid4().hex,
        client_ip=client_ip(peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_proxies),
    )
    target = row
    try:
        if action == "resume":
            await actions.resume(runtime, meta, row.id)
        else:
            target = await starting.start(runtime, meta, exercise_id=row.exercise_id, ide=LabIde(row.ide))
    except InvalidTransition:
        pass  # resumed or stopped meanwhile: the lab's URL shows where it is now
    except DomainError as exc:
        return _unreachable(request, row, error=exc.message)
    response = RedirectResponse(f"{PREFIX}{target.id}/", status_code=303)
    if target.id != row.id:
        _set_cookie(response, runtime, target.id, principal.subject or "", principal.session_id)
    return response


def _with_query(url: str, query: str) -> str:
    return url + (f"?{query}" if query else "")


def _http_client(runtime: Runtime) -> httpx.AsyncClient:
    """The process's one client to the labs' IDEs, made on first use."""
    client = runtime.extras.get("lab_proxy_http")
    if client is None:
        # A silent lab is cut off after the read timeout, and no connection cap is shared by all labs:
        # one lab holding its requests open must not starve everyone else's IDE.
        idle = runtime.settings.labs.proxy_read_timeout_seconds
        timeout = httpx.Timeout(connect=5.0, read=idle, write=idle, pool=5.0)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        client = runtime.extras["lab_proxy_http"] = httpx.AsyncClient(timeout=timeout, limits=limits)
    return client


def _redact_tokens_in_server_logs() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):  # uvicorn logs WebSocket handshakes on the latter
        server_log = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in server_log.filters):
            server_log.addFilter(RedactTokens())


# --- HTTP -------------------------------------------------------------------------------------------


def _lab_root(session_id: str, request: Request) -> Response:
    """`/labs/<id>` → `/labs/<id>/` (the IDE's relative links need the slash)."""
    if to_uuid(session_id) is None:
        return JSONResponse({"error": "No such lab."}, 404)
    return RedirectResponse(_with_query(f"{PREFIX}{session_id}/", request.url.query), status_code=307)


def _token_dropped(
    runtime: Runtime, request: Request, sid: uuid.UUID, path: str, principal: Principal
) -> Response:
    """A first visit with `?token=`: back to the same URL without it, with the cookie that carries the
    sign-in from now on (the token leaves the address bar and the history)."""
    response = RedirectResponse(_with_query(f"{PREFIX}{sid}/{path}", _query_without_token(request)), 303)
    _set_cookie(response, runtime, sid, principal.subject or "", principal.session_id)
    return response


def _headers_to_lab(request: Request) -> list[tuple[str, str]]:
    """The browser's headers the IDE gets: no hop-by-hop ones, no credentials of ours."""
    headers = [
        (k, v)
        for k, v in request.headers.items()
        # Origin: checked here (cookie writes, WebSockets); the IDE behind its own address would take
        # the lab's public origin for a foreign one.
        if k.lower() not in HOP_BY_HOP and k.lower() not in ("authorization", "cookie", "origin")
    ]
    others = [f"{k}={v}" for k, v in request.cookies.items() if k != COOKIE]
    if others:
        headers.append(("cookie", "; ".join(others)))
    return headers


def _headers_from_lab(
    upstream: httpx.Response, row: LabSession, upstream_address: str
) -> list[tuple[bytes, bytes]]:
    """The IDE's headers the browser gets, kept inside the lab's prefix (see _rewrite)."""
    return [
        (k.encode("latin-1"), rewritten.encode("latin-1"))
        for k, v in upstream.headers.multi_items()
        if k.lower() not in HOP_BY_HOP | LAB_RESPONSE_DROPPED
        and (rewritten := _rewrite(k.lower(), v, row.id, upstream_address, row.serves_base_url)) is not None
    ]


async def _forward_http(
    runtime: Runtime, request: Request, row: LabSession, path: str, cookie: dict[str, Any] | None
) -> Response:
    """Send the request to the lab's IDE and stream its answer back (renewing a cookie past half its life)."""
    sid = row.id
    upstream_address = f"{row.endpoint_host}:{row.endpoint_port}"
    url = _with_query(f"http://{upstream_address}{_upstream_path(row, path)}", _query_without_token(request))
    client = _http_client(runtime)
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    upstream_request = client.build_request(
        request.method, url, headers=_headers_to_lab(request), content=request.stream() if has_body else None
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException as exc:
        log.warning("lab %s: the IDE did not answer in time: %r", sid, exc)
        return JSONResponse({"error": "The lab's IDE did not answer in time."}, 504)
    except httpx.HTTPError as exc:
        log.warning("lab %s: the IDE does not answer: %r", sid, exc)
        return JSONResponse({"error": "The lab's IDE does not answer."}, 502)
    response = StreamingResponse(
        upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
    )
    response.raw_headers = _headers_from_lab(upstream, row, upstream_address)
    if cookie is not None and cookie["e"] - time.time() < runtime.settings.labs.proxy_cookie_seconds / 2:
        _set_cookie(response, runtime, sid, cookie["u"], cookie["s"])  # renewed while the IDE is in use
    return response


async def _proxy_http(session_id: str, request: Request, activity: _Activity) -> Response:
    """An HTTP request to /labs/<id>/<path>: authorized, then the first visit's redirect, a status page
    button, the status page of a lab not running, or the IDE's own answer."""
    runtime: Runtime = request.app.state.runtime
    path = _raw_rest(request)
    try:
        row, principal, cookie = await _authorized(runtime, request, to_uuid(session_id))
        if request.method not in ("GET", "HEAD", "OPTIONS") and _foreign(runtime, request, cookie):
            # SameSite=Strict stops other sites; this stops other origins of our own site too.
            raise Denied(403, "This origin may not change the lab.")
    except Denied as denied:
        return JSONResponse({"error": denied.message}, denied.status)
    if request.query_params.get("token") and principal is not None:
        return _token_dropped(runtime, request, row.id, path, principal)
    if request.method == "POST" and path.startswith(status_page.ACTION_PREFIX):
        action = path[len(status_page.ACTION_PREFIX) :]
        if action in status_page.ACTIONS:
            return await _act(runtime, request, row, action, principal, cookie)
    if not _reachable(row):
        return _unreachable(request, row)
    if request.headers.get("service-worker") == "script" and _at_lab_root(request):
        # Its scope would cover /labs/<id>/?token=…: it could read the next first-visit's token.
        return JSONResponse({"error": "A lab may not install a service worker at its root."}, 403)
    await activity.touch(runtime, row.id)
    return await _forward_http(runtime, request, row, path, cookie)


# --- WebSocket --------------------------------------------------------------------------------------


async def _connect_to_lab(websocket: WebSocket, row: LabSession, path: str) -> websockets.ClientConnection:
    """The IDE's side of a proxied WebSocket, offered the subprotocols the browser asked for."""
    upstream_url = f"ws://{row.endpoint_host}:{row.endpoint_port}{_upstream_path(row, path)}"
    requested = [
        Subprotocol(p.strip())
        for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
        if p.strip()
    ]
    return await websockets.connect(
        _with_query(upstream_url, _query_without_token(websocket)),
        subprotocols=requested or None,
        max_size=WS_MAX_MESSAGE_BYTES,
        open_timeout=10,
    )


async def _until_signed_out(
    runtime: Runtime, principal: Principal | None, cookie: dict[str, Any] | None
) -> None:
    """Returns when the sign-in behind a WebSocket ends (checked every WS_RECHECK_SECONDS)."""
    while True:
        await asyncio.sleep(WS_RECHECK_SECONDS)
        if principal is not None:
            if await token_is_revoked(runtime.redis, principal):
                return
        elif cookie is not None and not await _signed_in_as(runtime, cookie["s"], str(cookie["u"])):
            return


async def _relay_ws(
    websocket: WebSocket,
    upstream: websockets.ClientConnection,
    touch: Callable[[], Awaitable[None]],
    until_signed_out: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """Carry messages both ways until either side closes or the sign-in ends; then close both."""

    async def client_to_lab() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await touch()
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def lab_to_client() -> None:
        async for data in upstream:
            if isinstance(data, bytes):
                await websocket.send_bytes(data)
            else:
                await websocket.send_text(data)

    tasks = [
        asyncio.create_task(client_to_lab()),
        asyncio.create_task(lab_to_client()),
        asyncio.create_task(until_signed_out()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await upstream.close()
        with contextlib.suppress(Exception, WebSocketDisconnect):
            await websocket.close()


async def _proxy_ws(websocket: WebSocket, session_id: str, activity: _Activity) -> None:
    """A WebSocket to /labs/<id>/<path>: authorized (same origin only), then relayed to the running IDE."""
    runtime: Runtime = websocket.app.state.runtime
    try:
        row, principal, cookie = await _authorized(runtime, websocket, to_uuid(session_id))
        if _foreign(runtime, websocket, cookie):
            # Cross-site WebSocket hijacking: browsers send the cookie with any page's WebSocket.
            raise Denied(403, "This origin may not open the lab.")
        if not _reachable(row):
            raise Denied(409, f"This lab is {row.status}.")
    except Denied as denied:
        await websocket.close(code=4000 + denied.status, reason=denied.message)
        return
    try:
        upstream = await _connect_to_lab(websocket, row, _raw_rest(websocket))
    except Exception:
        await websocket.close(code=1011, reason="The lab's IDE does not answer.")
        return
    await websocket.accept(subprotocol=upstream.subprotocol)
    await activity.touch(runtime, row.id)
    await _relay_ws(
        websocket,
        upstream,
        touch=lambda: activity.touch(runtime, row.id),
        until_signed_out=lambda: _until_signed_out(runtime, principal, cookie),
    )


def install(app: FastAPI) -> None:
    """Add the proxy routes to the labs subgraph's app."""
    _redact_tokens_in_server_logs()
    activity = _Activity()

    @app.get(PREFIX + "{session_id}")
    async def lab_root(session_id: str, request: Request) -> Response:
        return _lab_root(session_id, request)

    @app.api_route(
        PREFIX + "{session_id}/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def proxy_http(session_id: str, request: Request) -> Response:
        return await _proxy_http(session_id, request, activity)

    @app.websocket(PREFIX + "{session_id}/{path:path}")
    async def proxy_ws(websocket: WebSocket, session_id: str) -> None:
        await _proxy_ws(websocket, session_id, activity)

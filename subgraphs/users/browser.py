"""Browser sessions: `POST /auth/login`, `/auth/refresh`, `/auth/logout`, reverse-proxied by the router at the
same paths on its origin (the web app's).

OWASP's advice for single-page apps: the access token lives in the page's memory only, the refresh token in
an HttpOnly, SameSite=Strict cookie scoped to `/auth` that page scripts can never read. Each route calls the
service function of its GraphQL mutation (same rate limits, audit events and typed errors); failures answer
`{"error": <the GraphQL error object, with __typename>}`. The GraphQL mutations stay as they are for other
clients.

CSRF: every route wants the header `X-CourseGraph-CSRF: 1` (a custom header forces a CORS preflight, which
the router grants only to listed origins) and, when the browser sends `Origin`, the origin the request was
made to (the app's own: the router passes its Host on as X-Forwarded-Host/-Proto) or a listed one.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from subgraphs.core.app import REQUEST_ID_HEADER, client_ip
from subgraphs.core.auth import ANONYMOUS
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import DomainError, Forbidden, InvalidInput, RateLimited, error_json
from subgraphs.core.rbac import Caller
from subgraphs.users import sessions
from subgraphs.users.errors import InvalidCredentials, InvalidToken
from subgraphs.users.passwords import MAX_PASSWORD_LENGTH

log = logging.getLogger("coursegraph.users.browser")

REFRESH_COOKIE = "cg_refresh"
COOKIE_PATH = "/auth"
CSRF_HEADER = "x-coursegraph-csrf"
MAX_EMAIL_LENGTH = 320
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(prefix="/auth")


class _CsrfRefused(Forbidden):
    default_code = "CSRF_CHECK_FAILED"
    default_message = "This request must come from the CourseGraph web app."


@router.post("/login")
async def login(request: Request) -> Response:
    async def sign_in(runtime: Runtime, meta: RequestMeta) -> Response:
        body = await _json_object(request)
        email = _string(body, "email", MAX_EMAIL_LENGTH)
        password = _string(body, "password", MAX_PASSWORD_LENGTH)
        return _signed_in(runtime, await sessions.login(runtime, meta, email=email, password=password))

    return await _answer(request, sign_in)


@router.post("/refresh")
async def refresh(request: Request) -> Response:
    async def rotate(runtime: Runtime, meta: RequestMeta) -> Response:
        token = request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise InvalidToken("You are not signed in.")
        return _signed_in(runtime, await sessions.refresh(runtime, meta, refresh_token=token))

    return await _answer(request, rotate)


@router.post("/logout")
async def logout(request: Request) -> Response:
    async def end(runtime: Runtime, meta: RequestMeta) -> Response:
        body = await _json_object(request, optional=True)
        all_sessions = body.get("allSessions", False)
        if not isinstance(all_sessions, bool):
            raise InvalidInput({"input.allSessions": "Expected true or false."})
        token = request.cookies.get(REFRESH_COOKIE)
        if token:
            await sessions.logout_refresh_token(runtime, meta, refresh_token=token, all_sessions=all_sessions)
        response = Response(status_code=204, headers=NO_STORE)
        _clear_cookie(runtime, response)
        return response

    return await _answer(request, end)


# --- helpers --------------------------------------------------------------------------------------


_STATUS = {InvalidInput: 400, InvalidCredentials: 401, InvalidToken: 401, RateLimited: 429, Forbidden: 403}


async def _answer(
    request: Request, handle: Callable[[Runtime, RequestMeta], Awaitable[Response]]
) -> Response:
    """CSRF check, then the route; typed errors become JSON errors, anything else is masked."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    peer = request.client.host if request.client else None
    meta = RequestMeta(
        Caller.of(ANONYMOUS, runtime.redis),
        request_id=request_id,
        client_ip=client_ip(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies),
    )
    try:
        origin = request.headers.get("origin")
        if request.headers.get(CSRF_HEADER) != "1" or (
            origin is not None and origin.rstrip("/") not in _allowed_origins(runtime, request)
        ):
            raise _CsrfRefused()
        return await handle(runtime, meta)
    except DomainError as error:
        status = next((code for cls, code in _STATUS.items() if isinstance(error, cls)), 400)
        headers = dict(NO_STORE)
        if isinstance(error, RateLimited):
            headers["Retry-After"] = str(error.retry_after_seconds)
        response = JSONResponse({"error": error_json(error)}, status_code=status, headers=headers)
        if isinstance(error, InvalidToken):
            _clear_cookie(runtime, response)  # a dead cookie is useless: the browser forgets it
        return response
    except Exception:
        log.exception("unexpected error in %s (request %s)", request.url.path, request_id)
        body = {"error": {"code": "INTERNAL", "message": "Unexpected error.", "requestId": request_id}}
        return JSONResponse(body, status_code=500, headers=NO_STORE)


def _allowed_origins(runtime: Runtime, request: Request) -> set[str]:
    """The listed origins and the request's own. A browser cannot forge Host or X-Forwarded-* on a
    cross-site request (setting the latter needs a preflight), so a same-origin match is genuine."""
    host = request.headers.get("x-forwarded-host") or request.headers.get("host")
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    listed = {origin.rstrip("/") for origin in runtime.settings.router.cors_origins}
    return listed | {f"{scheme}://{host}"} if host else listed


async def _json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise InvalidInput({"input": "Send a JSON object."})
    return body


def _string(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput({f"input.{name}": "Required."})
    if len(value) > limit:
        raise InvalidInput({f"input.{name}": f"Use at most {limit} characters."})
    return value


def _signed_in(runtime: Runtime, result: sessions.SignIn) -> Response:
    body = {"accessToken": result.access_token, "expiresAt": _expiry(result.access_token)}
    response = JSONResponse(body, headers=NO_STORE)
    _set_cookie(runtime, response, result.refresh_token, runtime.settings.auth.refresh_token_ttl_seconds)
    return response


def _expiry(access_token: str) -> str:
    """The token's own `exp` (ISO-8601, UTC), so the app schedules its silent refresh by the real expiry."""
    payload = access_token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return datetime.fromtimestamp(claims["exp"], UTC).isoformat().replace("+00:00", "Z")


def _set_cookie(runtime: Runtime, response: Response, value: str, max_age: int) -> None:
    secure = "; Secure" if runtime.settings.is_production else ""
    response.headers.append(
        "set-cookie",
        f"{REFRESH_COOKIE}={value}; HttpOnly; SameSite=Strict; Path={COOKIE_PATH}; Max-Age={max_age}{secure}",
    )


def _clear_cookie(runtime: Runtime, response: Response) -> None:
    _set_cookie(runtime, response, "", 0)

"""`create_subgraph_app(name, schema)`: the FastAPI app every subgraph runs; `subgraph_app_factory` makes a
domain's `create_app` of it.

It owns the process-wide runtime (engine, Redis, JWKS verifier, live hub), verifies the caller's token on
every HTTP request and WebSocket connection, and serves `/graphql`, `/health`, `/ready` and `/metrics`.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import orjson
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIWebSocketRoute
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette._utils import get_route_path
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from subgraphs.core.auth import (
    ANONYMOUS,
    InvalidAccessToken,
    JwksClient,
    Principal,
    TokenVerifier,
    token_is_revoked,
)
from subgraphs.core.context import Context, Runtime
from subgraphs.core.db import create_engine, create_read_sessionmaker, create_sessionmaker
from subgraphs.core.errors import NotAuthenticated, RateLimited, Unavailable, finalize_errors, is_outage
from subgraphs.core.http_limits import RequestLimits
from subgraphs.core.live import LiveHub
from subgraphs.core.ratelimit import RateLimiter
from subgraphs.core.redis_state import connect as connect_redis
from subgraphs.core.settings import Settings, get_settings

log = logging.getLogger("coursegraph.app")

ROUTER_SECRET_HEADER = "x-coursegraph-router-secret"
NO_STORE_PATHS = frozenset({"/graphql", "/oauth/token"})
REQUEST_ID_HEADER = "x-request-id"


class Metrics:
    def __init__(self, subgraph: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "graphql_requests_total", "GraphQL requests", ["subgraph", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "graphql_request_seconds", "GraphQL request latency", ["subgraph"], registry=self.registry
        )
        self.subgraph = subgraph


async def create_runtime(name: str, settings: Settings, *, key_loader: Any = None) -> Runtime:
    engine = create_engine(settings)
    redis = connect_redis(settings.redis.url)
    if key_loader is None:
        jwks = JwksClient(
            settings.auth.jwks_url,
            cache_seconds=settings.auth.jwks_cache_seconds,
            min_refresh_interval=settings.auth.jwks_refresh_min_interval_seconds,
        )
        key_loader = jwks.get
    return Runtime(
        name=name,
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        read_sessionmaker=create_read_sessionmaker(engine),
        redis=redis,
        verifier=TokenVerifier(settings, key_loader),
        live=LiveHub(redis),
        rate_limiter=RateLimiter(redis),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.live.close()
    await runtime.redis.aclose()
    await runtime.engine.dispose()


def client_ip(peer: str | None, forwarded_for: str | None, trusted: list[str]) -> str:
    """The caller's address. X-Forwarded-For is read only when the peer is a trusted proxy, and from the
    right: each trusted proxy appends the address it saw, so the right-most hop that is not one of ours is
    the client; everything left of it is whatever the client chose to send."""
    if not (peer and forwarded_for and _is_trusted(peer, trusted)):
        return peer or "unknown"
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not _is_ip(hop):
            return peer  # a proxy of ours wrote something that is no address: trust only the peer
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0]  # every hop is one of our proxies: the request started inside


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(peer: str, trusted: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in trusted)


# The router keeps a client's id only in this form (router/gateway.config.ts): ids are logged, stored in
# the audit log and echoed, so anything longer or with other characters is replaced by a fresh one.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(headers: Any) -> str:
    given = headers.get(REQUEST_ID_HEADER)
    return given if given and SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if token and scheme.lower() == "bearer":
        return token.strip()
    return value.strip() if not token else None


async def authenticate(runtime: Runtime, authorization: str | None) -> Principal:
    """ANONYMOUS without a token; a Principal for a valid one; InvalidAccessToken otherwise."""
    token = bearer_token(authorization)
    if authorization and not token:
        raise InvalidAccessToken()
    if token is None:
        return ANONYMOUS
    principal = await runtime.verifier.verify(token)
    if await token_is_revoked(runtime.redis, principal):
        raise InvalidAccessToken("This token was revoked. Sign in again.")
    return principal


class RouterOnly:
    """In production, refuse requests that do not carry the router's shared secret (health excepted)."""

    OPEN_PATHS = ("/health", "/ready", "/metrics", "/.well-known/jwks.json")

    def __init__(self, app: ASGIApp, secret: str, open_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.secret = secret.encode()
        # A subgraph's own public routes (they authenticate the caller themselves, e.g. CSV downloads).
        # Matched by whole path segments: "/labs/" opens /labs and /labs/..., never /labsXYZ.
        self.open_paths = tuple(p.rstrip("/") for p in self.OPEN_PATHS + tuple(open_paths))

    def _is_open(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._is_open(scope["path"]):
            headers = dict(scope["headers"])
            supplied = headers.get(ROUTER_SECRET_HEADER.encode(), b"")
            if not hmac.compare_digest(supplied, self.secret):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 4403})
                    return
                response = JSONResponse(
                    {"errors": [{"message": "Forbidden", "extensions": {"code": "FORBIDDEN"}}]}, 403
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# The context of the operation being subscribed, set around the creation of its task (a task copies
# the context variables it is created with), so that its execution reads its own context.
_operation_context: ContextVar[Context | None] = ContextVar("operation_context", default=None)


class OperationContexts(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with one Context per operation (`Context.for_operation`): the router sends
    every subscription of one caller over one connection, each `subscribe` with its request id in
    `extensions.requestId`. An operation starting on an open connection checks the caller's session again:
    it may have ended (logout) since the connection was authenticated."""

    @property  # Strawberry's attribute, read by the operation's task to execute it
    def context(self) -> Context:
        return _operation_context.get() or self._connection_context

    @context.setter
    def context(self, value: Context) -> None:
        self._connection_context = value

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        # Strawberry keeps the connection_init timeout's task once it is over (cancelled by connection_init),
        # and with it its CancelledError, traceback and frames, for the life of the connection.
        timeout = self.connection_init_timeout_task
        if timeout is not None:
            timeout.add_done_callback(self._forget_init_timeout)
        # The handshake is done: the upgrade request's headers were read (the token, the client's address,
        # the origin, the subprotocol) and are not read again, while the connection may stay open for hours.
        # Let them go (uvicorn's list in the scope, Starlette's parsed copy), the caller's token with them.
        request = getattr(self._connection_context, "request", None)
        if isinstance(request, WebSocket):
            request.scope["headers"] = []
            request.__dict__.pop("_headers", None)

    def _forget_init_timeout(self, task: asyncio.Task) -> None:
        if self.connection_init_timeout_task is task:
            self.connection_init_timeout_task = None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message.get("payload")
        extensions = payload.get("extensions") if isinstance(payload, dict) else None
        given = extensions.get("requestId") if isinstance(extensions, dict) else None
        safe = isinstance(given, str) and SAFE_REQUEST_ID.fullmatch(given)
        token = _operation_context.set(self._connection_context.for_operation(given if safe else None))
        try:
            await super().handle_subscribe(message)
        finally:
            _operation_context.reset(token)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        context = self.context
        principal = context.principal
        try:
            ended = principal.is_authenticated and await token_is_revoked(context.runtime.redis, principal)
        except Exception as exc:
            if not is_outage(exc):
                raise
            ended = Unavailable()
        if ended:
            error = (
                ended
                if isinstance(ended, Unavailable)
                else InvalidAccessToken("This token was revoked. Sign in again.")
            )
            await operation.send_initial_errors([GraphQLError(error.message, extensions=error.extensions)])
            return
        await super().run_operation(operation)


class SubgraphGraphQLRouter(GraphQLRouter[Context, None]):
    """Adds WebSocket authentication (token in connection params), one context per WebSocket operation and
    orjson responses."""

    graphql_transport_ws_handler_class = OperationContexts

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._metrics = metrics

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        # Read once, here: the connection does not keep them (the caller's token among them) for its life.
        context.connection_params = None
        authorization = params.get("Authorization") or params.get("authorization")
        if authorization and context.principal is ANONYMOUS:
            try:
                context.principal = await authenticate(context.runtime, authorization)
            except NotAuthenticated as exc:
                raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from exc
        return await super().on_ws_connect(context)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            # Errors raised before execution (parsing, token limit) bypass the schema extensions.
            result.errors = finalize_errors(
                result.errors, request_id=request.headers.get(REQUEST_ID_HEADER), operation=None
            )
        self._metrics.requests.labels(self._metrics.subgraph, "error" if result.errors else "ok").inc()
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> str:
        # str, not bytes: Strawberry sends bytes as *binary* WebSocket frames, which graphql-ws clients
        # (the router) reject. orjson + decode is still ~10x faster than the stdlib on large results.
        return orjson.dumps(data).decode()


def create_subgraph_app(
    name: str,
    schema: Any,
    *,
    build_loaders: Callable[[Context], Any] | None = None,
    on_startup: Callable[[Runtime, FastAPI], Awaitable[None]] | None = None,
    key_loader_factory: Callable[[Settings], Any] | None = None,
    settings: Settings | None = None,
    open_paths: tuple[str, ...] = (),
) -> FastAPI:
    """`open_paths`: path prefixes served without the router's secret in production; the routes under
    them must authenticate callers themselves (`authenticate`) and bound what they read (the request body
    limits of `RequestLimits` do not apply there: the labs proxy streams bodies to the lab)."""
    settings = settings or get_settings()
    metrics = Metrics(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key_loader = key_loader_factory(settings) if key_loader_factory else None
        runtime = await create_runtime(name, settings, key_loader=key_loader)
        app.state.runtime = runtime
        if on_startup:
            await on_startup(runtime, app)
        try:
            yield
        finally:
            await close_runtime(runtime)

    # type: ignore below: FastAPI tells HTTP from WebSocket by these parameters' types, so they cannot be Optional.
    async def get_context(request: Request = None, websocket: WebSocket = None) -> Context:  # type: ignore[assignment]
        connection = request or websocket
        assert connection is not None
        runtime: Runtime = connection.app.state.runtime
        peer = connection.client.host if connection.client else None
        context = Context(
            runtime=runtime,
            request_id=request_id_of(connection.headers),
            client_ip=client_ip(peer, connection.headers.get("x-forwarded-for"), settings.trusted_proxies),
            build_loaders=build_loaders,
        )
        try:
            context.principal = await authenticate(runtime, connection.headers.get("authorization"))
            if request is not None:
                await _count_api_call(runtime, context)
        except Exception as exc:
            if is_outage(exc):  # Redis unreachable: a typed, retryable refusal, not a masked 500
                exc = Unavailable()
            elif not isinstance(exc, NotAuthenticated | RateLimited | Unavailable):
                raise
            if websocket is not None:
                raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from exc
            raise _Refused(exc) from exc
        return context

    graphql = SubgraphGraphQLRouter(
        schema,
        context_getter=get_context,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        # Per caller: the router shares one connection among all of a caller's subscriptions.
        max_subscriptions_per_connection=10_000,
        multipart_uploads_enabled=False,
        metrics=metrics,
    )

    # No OpenAPI document or docs pages in any mode: the API is the GraphQL schema (the router serves
    # GraphiQL); the few REST routes are documented in README.md.
    app = FastAPI(
        title=f"CourseGraph {name} subgraph",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    # The WebSocket endpoint is served by `GraphQLWebSockets` below, not by a route: FastAPI's route and
    # dependency solving keep 8 AsyncExitStacks (and more) for the life of every connection, one per caller
    # from the router.
    graphql.routes[:] = [r for r in graphql.routes if not isinstance(r, APIWebSocketRoute)]
    app.include_router(graphql, prefix="/graphql")

    async def graphql_websocket(websocket: WebSocket) -> None:
        try:
            context = await get_context(websocket=websocket)
        except ConnectionRejectionError:
            # A bad token on the upgrade request itself: refuse the handshake (HTTP 403), not a 500.
            await websocket.close(code=4403)
            return
        context.request = websocket  # as Strawberry's FastAPI dependency sets it
        await graphql.run(request=websocket, context=context, root_value=None)

    @app.exception_handler(_Refused)
    async def _refused(request: Request, exc: _Refused) -> JSONResponse:
        error = exc.error
        body = {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]}
        if isinstance(error, RateLimited):
            return JSONResponse(
                body, status_code=429, headers={"Retry-After": str(error.retry_after_seconds)}
            )
        if isinstance(error, Unavailable):
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse(
            body, status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    app.add_middleware(RequestIds, subgraph=name, metrics=metrics)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "subgraph": name}

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["postgres"] = "ok"
        except Exception as exc:  # readiness reports; it never raises
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503)

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        # Behind a token (Prometheus sends it as a Bearer credential); without one configured, served only
        # outside production, where subgraphs listen on 127.0.0.1.
        token = settings.metrics_token
        if not token and settings.is_production:
            return JSONResponse({"detail": "Not Found"}, 404)
        supplied = bearer_token(request.headers.get("authorization")) or ""
        if token and not hmac.compare_digest(supplied.encode(), token.encode()):
            return JSONResponse(
                {"detail": "A valid metrics token is required."},
                401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    limits = settings.graphql
    app.add_middleware(
        RequestLimits,
        max_body_bytes=limits.max_body_bytes,
        body_timeout_seconds=limits.body_timeout_seconds,
        max_json_depth=limits.max_json_depth,
        exempt_paths=open_paths,
    )
    app.add_middleware(GraphQLWebSockets, endpoint=graphql_websocket)  # inside RouterOnly, below
    if settings.is_production:
        app.add_middleware(RouterOnly, secret=settings.router.shared_secret, open_paths=open_paths)
    return app


class GraphQLWebSockets:
    """`/graphql` WebSockets go straight to `endpoint`, past the middleware below this one (none of which
    acts on WebSockets) and Starlette's router and route: each of those layers stays on the stack, with its
    closures and exit stacks, for the life of every connection (one per caller from the router). Added
    inside `RouterOnly`, which still refuses connections without the router's secret in production."""

    def __init__(self, app: ASGIApp, endpoint: Callable[[WebSocket], Awaitable[None]]) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and get_route_path(scope) == "/graphql":
            await self.endpoint(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


class SubgraphAppFactory(Protocol):
    """A domain's `create_app`, as `subgraph_app_factory` makes it."""

    def __call__(
        self, settings: Settings | None = None, *, key_loader_factory: Callable[[Settings], Any] | None = None
    ) -> FastAPI: ...


def subgraph_app_factory(
    name: str,
    schema: Any,
    *,
    build_loaders: Callable[[Context], Any] | None = None,
    on_startup: Callable[[Runtime, FastAPI], Awaitable[None]] | None = None,
    open_paths: tuple[str, ...] = (),
    add_routes: Callable[[FastAPI], None] | None = None,
) -> SubgraphAppFactory:
    """A subgraph's `create_app(settings=None, *, key_loader_factory=None)`: its `create_subgraph_app` with
    the domain's parts, then `add_routes(app)` for its plain HTTP routes (under `open_paths`).
    `key_loader_factory`: tests verify tokens with the signing keys file instead of the JWKS over HTTP."""

    def create_app(
        settings: Settings | None = None, *, key_loader_factory: Callable[[Settings], Any] | None = None
    ) -> FastAPI:
        app = create_subgraph_app(
            name,
            schema,
            build_loaders=build_loaders,
            on_startup=on_startup,
            key_loader_factory=key_loader_factory,
            settings=settings,
            open_paths=open_paths,
        )
        if add_routes is not None:
            add_routes(app)
        return app

    return create_app


class RequestIds:
    """Every HTTP request carries a safe request id (the caller's, else a new one) into the app and back
    out in the response, `no-store` on the paths that answer with tokens and private data, and GraphQL
    latency into the metrics. Plain ASGI: Starlette's BaseHTTPMiddleware costs a task and memory streams
    per request."""

    def __init__(self, app: ASGIApp, subgraph: str, metrics: Metrics) -> None:
        self.app = app
        self.subgraph = subgraph
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        header = REQUEST_ID_HEADER.encode()
        given = next((v for k, v in scope["headers"] if k == header), b"").decode("latin-1")
        request_id = given if given and SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope["headers"] = [
            *[(k, v) for k, v in scope["headers"] if k != header],
            (header, request_id.encode()),
        ]
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                if path in NO_STORE_PATHS:  # they answer with tokens and private data
                    headers.setdefault("cache-control", "no-store")
                    headers.setdefault("x-content-type-options", "nosniff")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if path == "/graphql":
                self.metrics.latency.labels(self.subgraph).observe(time.perf_counter() - started)


class _Refused(Exception):
    """The request is refused before execution (bad token, API rate limit)."""

    def __init__(self, error: NotAuthenticated | RateLimited | Unavailable) -> None:
        self.error = error


async def _count_api_call(runtime: Runtime, context: Context) -> None:
    """API rate limit per principal (per IP for anonymous callers)."""
    limits = runtime.settings.rate_limits
    who = context.principal.subject if context.principal.is_authenticated else f"ip:{context.client_ip}"
    await runtime.rate_limiter.hit(
        f"api:{who}", limit=limits.api_per_principal, window_seconds=limits.api_per_principal_window_seconds
    )

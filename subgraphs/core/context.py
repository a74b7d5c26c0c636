"""Per-request context and the process-wide resources it draws from."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext

from subgraphs.core.auth import ANONYMOUS, Principal, TokenVerifier, token_is_revoked
from subgraphs.core.events import (
    EMITTED,
    publish_committed,
    stamp_before_commit,
    stream_name,
    wait_for_consumer,
)
from subgraphs.core.live import (
    AccessRevoked,
    BatchedExists,
    LiveHub,
    SessionEnded,
    SharedChecks,
    StreamGuard,
)
from subgraphs.core.ratelimit import RateLimiter
from subgraphs.core.rbac import Caller, Memberships
from subgraphs.core.settings import Settings


class DatabaseAccess(Protocol):
    """What worker-side service functions use: a request's Runtime and a WorkerRuntime both have it."""

    settings: Settings
    redis: Redis
    live: LiveHub
    extras: dict[str, Any]

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@asynccontextmanager
async def publishing_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis
) -> AsyncIterator[AsyncSession]:
    """A transaction that commits on success and rolls back on any error. Events it emitted are published
    once it committed, before the caller goes on: read your writes, and before any live message about them
    (docs/reliability.md). The ids they name are stamped for the router's response cache just before the
    commit too, so no answer from before it is served once it is visible (docs/performance.md)."""
    async with sessionmaker() as session:
        async with session.begin():
            yield session
            if pending := session.info.get(EMITTED):
                await stamp_before_commit(redis, pending)
        emitted = session.info.pop(EMITTED, None)
    if emitted:
        await publish_committed(sessionmaker, redis, emitted)


@dataclass
class WorkerRuntime:
    """A worker's DatabaseAccess: it serves no requests, so it has no token verifier, rate limiter or read
    pool. Its transactions publish their events as requests' do: a client following the work live asks
    again when told of a change, and the router's response cache must know of it by then."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    live: LiveHub
    extras: dict[str, Any] = field(default_factory=dict)

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        return publishing_transaction(self.sessionmaker, self.redis)


@dataclass
class Runtime:
    """What one subgraph process opens once at start-up and shares across requests."""

    name: str
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    verifier: TokenVerifier
    live: LiveHub
    rate_limiter: RateLimiter
    # Domain extras (e.g. the users subgraph's signing keys), keyed by name.
    extras: dict[str, Any] = field(default_factory=dict)
    # Autocommit sessions for reads (core.db.create_read_sessionmaker); None: reads use transactions.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    # Open subscriptions' access re-checks, shared by the streams of one caller (Context.stream_guard).
    stream_checks: SharedChecks = field(default_factory=SharedChecks)
    # Their session checks, batched across callers.
    stream_sessions: BatchedExists = field(default_factory=BatchedExists)

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A short transaction on its own session (`publishing_transaction`). Every database use in a
        request is one of these, so concurrently resolved fields never share a session and a long-lived
        WebSocket never holds a connection idle in a transaction."""
        return publishing_transaction(self.sessionmaker, self.redis)

    async def caught_up(self, domain: str, group: str) -> bool:
        """Read your writes: wait (bounded) until the consumer group `group` has handled everything now in
        `events.<domain>`. A service calls this on a miss in a projection fed by that group, then looks
        again: a write the client made a moment ago in `domain` is in the stream before its answer."""
        return await wait_for_consumer(
            self.redis,
            stream_name(domain),
            group,
            timeout=self.settings.events.read_your_writes_wait_seconds,
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only, as DataLoaders do: each statement is its own autocommit round trip
        (no BEGIN/COMMIT). Never write through it; use `transaction` for anything that must be atomic."""
        if self.read_sessionmaker is None:
            async with self.transaction() as session:
                yield session
            return
        async with self.read_sessionmaker() as session:
            yield session


@dataclass(frozen=True)
class RequestMeta:
    """Who asked and from where: what services need of a request, without any GraphQL."""

    caller: Caller
    request_id: str | None = None
    client_ip: str = "unknown"

    @property
    def principal(self) -> Principal:
        return self.caller.principal


class Context(BaseContext):
    def __init__(
        self,
        *,
        runtime: Runtime,
        principal: Principal = ANONYMOUS,
        request_id: str | None = None,
        client_ip: str | None = None,
        build_loaders: Callable[[Context], Any] | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.principal = principal
        self.request_id = request_id or uuid.uuid4().hex
        self.client_ip = client_ip or "unknown"
        self._build_loaders = build_loaders
        self._loaders: Any = None
        self.memberships = Memberships(runtime.redis)
        # Authorization failures of this operation (path, error); core.schema records them in the audit log.
        self.authz_denials: list[tuple[str, Exception]] = []

    def for_operation(self, request_id: str | None) -> Context:
        """This WebSocket connection's context for one of its operations: the router sends every subscription
        of one caller over one connection, so each gets its own request id, loaders, membership reads and
        authorization failures; the caller is the connection's."""
        context = Context(
            runtime=self.runtime,
            principal=self.principal,
            request_id=request_id,
            client_ip=self.client_ip,
            build_loaders=self._build_loaders,
        )
        context.request = self.request
        context.connection_params = self.connection_params
        return context

    @property
    def caller(self) -> Caller:
        # Built on each use: the app sets `principal` once it authenticated the request or connection.
        return Caller(self.principal, self.memberships)

    @property
    def meta(self) -> RequestMeta:
        return RequestMeta(self.caller, request_id=self.request_id, client_ip=self.client_ip)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def redis(self) -> Redis:
        return self.runtime.redis

    @property
    def rate_limiter(self) -> RateLimiter:
        return self.runtime.rate_limiter

    def transaction(self):  # noqa: ANN201 - an async context manager of AsyncSession
        return self.runtime.transaction()

    def read(self):  # noqa: ANN201 - an async context manager of AsyncSession
        return self.runtime.read()

    def stream_guard(
        self,
        still_allowed: Callable[[RequestMeta], Awaitable[bool]] | None = None,
        *,
        shared_by: Hashable | None = None,
    ) -> StreamGuard:
        """The re-check of an open subscription (`live.follow(guard=...)`): the caller's session (or API
        client) must still be valid, and `still_allowed` — given a fresh RequestMeta, so memberships are
        read anew — must still hold. A connection's token is verified once, so this is what ends a stream
        after logout, revocation or a removal from the organization.

        The streams of one caller share their re-checks (`Runtime.stream_checks`): all of them when there
        is no `still_allowed`, else those with the same `shared_by` (what `still_allowed` depends on besides
        the caller, e.g. the stream's channel)."""
        runtime, principal = self.runtime, self.principal

        async def check() -> None:
            sessions = runtime.stream_sessions
            if principal.is_authenticated and await token_is_revoked(
                runtime.redis, principal, exists=lambda key: sessions.exists(runtime.redis, key)
            ):
                raise SessionEnded()
            fresh = RequestMeta(
                Caller.of(principal, runtime.redis), request_id=self.request_id, client_ip=self.client_ip
            )
            if still_allowed is not None and not await still_allowed(fresh):
                raise AccessRevoked()

        every = runtime.settings.events.stream_recheck_seconds
        if still_allowed is not None and shared_by is None:
            return StreamGuard(check=check, every=every)
        key = (principal, shared_by)
        # Reused for a fifth of the interval: access that ends is still noticed within 1.2 intervals.
        return StreamGuard(check=lambda: runtime.stream_checks.run(key, every / 5, check), every=every)

    @property
    def loaders(self) -> Any:
        """The domain's DataLoaders, built lazily once per request (or per subscription connection)."""
        if self._loaders is None:
            if self._build_loaders is None:
                raise RuntimeError(f"subgraph {self.runtime.name} declares no loaders")
            self._loaders = self._build_loaders(self)
        return self._loaders

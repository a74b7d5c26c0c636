"""The users domain's background tasks: password-reset requests, answered off the request path, and the
revoked API clients in Redis, rebuilt from PostgreSQL whenever Redis lost them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.auth import REVOKED_CLIENT_KEY, REVOKED_CLIENTS_MARKER
from subgraphs.core.context import publishing_transaction
from subgraphs.core.db import utcnow
from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.redis_state import RebuildableState, RedisStateKeeper
from subgraphs.core.settings import Settings
from subgraphs.users import password_flows
from subgraphs.users.models import ApiClient


class PasswordResetConsumer(Consumer):
    """`users.password_reset.requested` → look the address up and mail a link
    (`password_flows.send_password_reset`).
    Doing this here keeps `requestPasswordReset` equally fast for known and unknown addresses."""

    group: ClassVar[str] = "users-password-reset"
    streams: ClassVar[tuple[str, ...]] = (stream_name("users"),)

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        **options: Any,
    ) -> None:
        super().__init__(redis, **options)
        self._sessionmaker = sessionmaker
        self._settings = settings

    async def handle(self, event: Event) -> None:
        if event.type != password_flows.PASSWORD_RESET_REQUESTED:
            return
        async with publishing_transaction(self._sessionmaker, self.redis) as session:
            await password_flows.send_password_reset(self._settings, self.redis, session, event)


async def rebuild_revoked_clients(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, settings: Settings
) -> int:
    """Mark again every API client revoked recently enough for one of its access tokens to be alive."""
    ttl = settings.auth.access_token_ttl_seconds
    now = utcnow()
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(ApiClient.client_id, ApiClient.revoked_at).where(
                    ApiClient.revoked_at > now - timedelta(seconds=ttl)
                )
            )
        ).all()
    for client_id, revoked_at in rows:
        assert revoked_at is not None  # the query selects revoked clients
        remaining = ttl - int((now - revoked_at).total_seconds())
        await redis.set(REVOKED_CLIENT_KEY.format(client_id=client_id), 1, ex=max(1, remaining))
    return len(rows)


def worker_tasks(deps: WorkerDeps) -> list:
    revoked = RebuildableState(
        name="revoked API clients",
        marker=REVOKED_CLIENTS_MARKER,
        rebuild=lambda: rebuild_revoked_clients(deps.sessionmaker, deps.redis, deps.settings),
    )
    return [
        PasswordResetConsumer(deps.redis, deps.sessionmaker, deps.settings, **deps.consumer_options),
        RedisStateKeeper(deps.redis, [revoked]),
    ]

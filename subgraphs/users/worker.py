"""The users domain's background task: password-reset requests, answered off the request path."""

from __future__ import annotations

from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.settings import Settings
from subgraphs.users import service


class PasswordResetConsumer(Consumer):
    """`users.password_reset.requested` → look the address up and mail a link (`service.send_password_reset`).
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
        if event.type != service.PASSWORD_RESET_REQUESTED:
            return
        async with self._sessionmaker() as session, session.begin():
            await service.send_password_reset(self._settings, session, event)


def worker_tasks(deps: WorkerDeps) -> list:
    return [PasswordResetConsumer(deps.redis, deps.sessionmaker, deps.settings, **deps.consumer_options)]

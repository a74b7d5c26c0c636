"""The consumer side of domain events, as the domains' workers use it (core.events has the machinery).

A domain that applies other domains' events keeps what it learns in its own tables:
- `DatabaseConsumer` holds the worker's sessionmaker for its `handle`; `TransactionConsumer` applies each
  event in one transaction of its own (`apply(session, event)`).
- `ProcessedEventMixin` and `claim_event`: the ids of the events a domain applied, recorded in the applying
  transaction, so a redelivered event changes nothing.
- `upsert_if_newer`: a projection row that only an event at least as recent overwrites (`as_of`), so
  redelivery and out-of-order delivery never go back in time.
- `event_meta`: whom the events written while applying another domain's event are attributed to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import UUID, Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from subgraphs.core.auth import ANONYMOUS, Principal
from subgraphs.core.context import RequestMeta, publishing_transaction
from subgraphs.core.db import utcnow
from subgraphs.core.domains import DOMAINS
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.rbac import Caller

# Every domain's stream: what the consumers that follow the whole platform read (audit log, analytics).
EVERY_STREAM = tuple(stream_name(domain) for domain in DOMAINS)


class DatabaseConsumer(Consumer):
    """A consumer whose `handle` applies events to its domain's tables (with `self.sessionmaker`).
    `streams=` reads other streams than the class's (tests give one stream of their own)."""

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        streams: tuple[str, ...] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(redis, **options)
        if streams:
            self.streams = streams  # type: ignore[misc]  # the ClassVar declares the default; this one's own
        self.sessionmaker = sessionmaker


class TransactionConsumer(DatabaseConsumer):
    """Applies each event in one transaction of its own: subclasses implement `apply(session, event)`."""

    async def handle(self, event: Event) -> None:
        async with publishing_transaction(self.sessionmaker, self.redis) as session:
            await self.apply(session, event)

    async def apply(self, session: AsyncSession, event: Event) -> object:
        raise NotImplementedError


class ProcessedEventMixin:
    """`class ProcessedEvent(ProcessedEventMixin, Base)`: the events of other domains this domain applied,
    each recorded by `claim_event` in the transaction that applies it."""

    __tablename__ = "processed_event"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


async def claim_event(session: AsyncSession, processed: type[ProcessedEventMixin], event: Event) -> bool:
    """Record `event` as applied in the caller's transaction; False when it was applied before (a
    redelivery, which must change nothing)."""
    claimed = await session.scalar(
        insert(processed).values(event_id=event.id).on_conflict_do_nothing().returning(processed.event_id)
    )
    return claimed is not None


def upsert_if_newer(model: Any, keys: list[InstrumentedAttribute[Any]], values: dict[str, Any]) -> Insert:
    """Insert a projection row, or overwrite every column but `keys` of the row there — unless that row
    holds a newer event (`model.as_of`, in `values` too): delivery order does not matter."""
    stmt = insert(model).values(**values)
    key_names = {key.key for key in keys}
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in values if name not in key_names},
        where=model.as_of <= stmt.excluded.as_of,
    )


def event_meta(event: Event, redis: Redis) -> RequestMeta:
    """Events written while applying another domain's event are attributed to that event's actor."""
    actor = Principal(subject=event.actor_id, kind="user") if event.actor_id else ANONYMOUS
    return RequestMeta(
        Caller.of(actor, redis), request_id=event.request_id, client_ip=event.source_ip or "unknown"
    )

"""Live updates for subscriptions: persisted per-stream events with a `seq`, fanned out through Redis.

Writers append an event row (seq = next number of that stream) in their transaction and, after commit,
publish it on `live:<channel>`. Each process holds ONE Redis pub/sub connection feeding in-process queues,
however many subscribers it serves. A subscriber first attaches its queue, then replays rows after
`after` from PostgreSQL, then follows live, skipping what it has seen and re-reading any gap — so a client
that reconnects with its last `seq` misses nothing and sees nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import DateTime, Integer, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.db import utcnow

log = logging.getLogger("coursegraph.live")

QUEUE_SIZE = 1000


class StreamEventMixin:
    """A domain's persisted live events: `class LabEvent(Base, StreamEventMixin)`."""

    stream_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    def as_message(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "data": self.data}


async def append_stream_event(
    session: AsyncSession, model: type[StreamEventMixin], stream_id: uuid.UUID, data: dict[str, Any]
) -> StreamEventMixin:
    """Add the next event of a stream in the caller's transaction (publish it after commit)."""
    # Serialize writers of one stream so seq numbers are gap-free and unique.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": str(stream_id)}
    )
    last = await session.scalar(select(func.max(model.seq)).where(model.stream_id == stream_id))
    row = model(stream_id=stream_id, seq=(last or 0) + 1, at=utcnow(), data=data)
    session.add(row)
    await session.flush()
    return row


class LiveHub:
    """One Redis pub/sub connection per process, fanned out to in-process subscriber queues."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._queues: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(f"live:{channel}", orjson.dumps(message))

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        async with self._lock:
            first = not self._queues[channel]
            self._queues[channel].add(queue)
            if first:
                await self._pubsub.subscribe(f"live:{channel}")
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="live-hub-reader")
        try:
            yield queue
        finally:
            async with self._lock:
                self._queues[channel].discard(queue)
                if not self._queues[channel]:
                    del self._queues[channel]
                    await self._pubsub.unsubscribe(f"live:{channel}")

    async def _read(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    return  # nobody listens; the next listen() starts a new reader
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live hub lost its Redis connection; resubscribing")
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"].decode().removeprefix("live:")
            payload = orjson.loads(message["data"])
            for queue in list(self._queues.get(channel, ())):
                if queue.full():
                    # A stalled subscriber re-reads from the database instead of holding memory.
                    queue.get_nowait()
                queue.put_nowait(payload)

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()


def stored_after(
    runtime: Any, model: type[StreamEventMixin], stream_id: uuid.UUID, *, page: int = 500
) -> Callable[[int], Awaitable[list[dict[str, Any]]]]:
    """`read_after` for `follow`: one page of a stream's stored events after a seq, in seq order."""

    async def read_after(seq: int) -> list[dict[str, Any]]:
        async with runtime.transaction() as session:
            rows = await session.scalars(
                select(model)
                .where(model.stream_id == stream_id, model.seq > seq)
                .order_by(model.seq)
                .limit(page)
            )
            return [row.as_message() for row in rows]

    return read_after


async def follow(
    hub: LiveHub,
    channel: str,
    *,
    after: int | None,
    read_after: Callable[[int], Awaitable[list[dict[str, Any]]]],
    is_final: Callable[[dict[str, Any]], bool] = lambda _m: False,
) -> AsyncIterator[dict[str, Any]]:
    """Replay messages with seq > `after`, then follow live ones: in seq order, each once.

    `read_after(seq)` returns one page of stored messages after `seq`; pages are read until one comes
    back empty — on start (replay) and whenever a live message shows a gap (a dropped pub/sub message, or
    one published before this subscriber attached). Live messages otherwise cost no database read.
    """
    last = after or 0
    read_database = True
    async with hub.listen(channel) as queue:
        while True:
            if read_database:
                batch = await read_after(last)
                read_database = bool(batch)
            else:
                message = await queue.get()
                if message["seq"] <= last:
                    continue
                if message["seq"] > last + 1:
                    read_database = True  # the gap and this message are stored: read them in order
                    continue
                batch = [message]
            for message in batch:
                last = message["seq"]
                yield message
                if is_final(message):
                    return

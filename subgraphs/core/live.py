"""Live updates for subscriptions: persisted per-stream events with a `seq`, fanned out through Redis.

Writers append an event row (seq = next number of that stream) in their transaction and, after commit,
publish it on `live:<channel>`. Each process holds ONE Redis pub/sub connection feeding in-process queues,
however many subscribers it serves. A subscriber first attaches its queue, then replays rows after
`after` from PostgreSQL, then follows live, skipping what it has seen and re-reading any gap — so a client
that reconnects with its last `seq` misses nothing and sees nothing twice. A stream whose final event the
client already saw completes at once. A `StreamGuard` re-checks the subscriber's session and access while
the stream is open and ends it with a typed error (`SESSION_ENDED`, `ACCESS_REVOKED`) when they are gone.

A process that stops gracefully first ends its open streams with `UNAVAILABLE` (retryable; `drain_all`,
called by `coursegraph serve` before uvicorn closes the WebSockets): the router's WebSocket client would
otherwise reconnect on uvicorn's close code 1012 and subscribe again with the client's original `after`,
replaying events the client already has. Ended with an error, the client resubscribes with its last seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from redis.asyncio import Redis
from sqlalchemy import DateTime, Integer, TextClause, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.aio import Mailbox
from subgraphs.core.db import utcnow
from subgraphs.core.errors import DomainError, Forbidden, Unavailable
from subgraphs.core.events import stamp_for_cache
from subgraphs.core.ids import to_uuid

if TYPE_CHECKING:
    from subgraphs.core.context import Runtime

log = logging.getLogger("coursegraph.live")

QUEUE_SIZE = 1000
# Put in every subscriber's queue when the process stops: `follow` ends the stream with RESTARTING.
_DRAIN: dict[str, Any] = {"drain": True}
# Put in one subscriber's queue when its guard is due: `follow` re-checks access.
_RECHECK: dict[str, Any] = {"recheck": True}
_HUBS: weakref.WeakSet[LiveHub] = weakref.WeakSet()
RESTARTING = "This service is restarting; subscribe again with `after` set to the last seq you received."


class StreamEventMixin:
    """A domain's persisted live events: `class LabEvent(Base, StreamEventMixin)`."""

    stream_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    def as_message(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "data": self.data}


StreamEventT = TypeVar("StreamEventT", bound=StreamEventMixin)


async def append_stream_event(
    session: AsyncSession, model: type[StreamEventT], stream_id: uuid.UUID, data: dict[str, Any]
) -> StreamEventT:
    """Add the next event of a stream in the caller's transaction (publish it after commit)."""
    # Serialize writers of one stream so seq numbers are gap-free and unique.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": str(stream_id)}
    )
    last = await session.scalar(select(func.max(model.seq)).where(model.stream_id == stream_id))
    # pyright: ignore: `model` is a mapped subclass (SQLAlchemy gives it the column keyword constructor).
    row = model(stream_id=stream_id, seq=(last or 0) + 1, at=utcnow(), data=data)  # pyright: ignore[reportCallIssue]
    session.add(row)
    await session.flush()
    return row


async def append_stream_events(
    session: AsyncSession, model: type[StreamEventT], events: Sequence[tuple[uuid.UUID, dict[str, Any]]]
) -> list[StreamEventT]:
    """`append_stream_event` for several (stream, data), in two statements whatever their number: the
    streams' locks in key order (the order concurrent writers of several streams take them), then one
    insert numbering each stream's events after its last seq, in the order given (a statement that began
    after the locks sees every seq their previous holders committed). Returns the rows, in that order."""
    if not events:
        return []
    streams = sorted({stream for stream, _ in events}, key=str)
    await session.execute(_LOCK_STREAMS, {"k": [str(stream) for stream in streams]})
    at = utcnow()
    table = model.__table__.fullname  # pyright: ignore[reportAttributeAccessIssue]  # a mapped subclass
    appended = await session.execute(
        _append_statement(table),
        {
            "stream_id": [stream for stream, _ in events],
            "data": [orjson.dumps(data).decode() for _, data in events],
            "at": at,
        },
    )
    seqs: dict[uuid.UUID, list[int]] = {}
    for stream, seq in appended:
        seqs.setdefault(stream, []).append(seq)
    for numbers in seqs.values():
        numbers.sort(reverse=True)  # popped smallest first: each stream's events in the order given
    # pyright: ignore: `model` is a mapped subclass (SQLAlchemy gives it the column keyword constructor).
    return [
        model(stream_id=stream, seq=seqs[stream].pop(), at=at, data=data)  # pyright: ignore[reportCallIssue]
        for stream, data in events
    ]


@cache
def _append_statement(table: str) -> TextClause:
    return text(_APPEND_STREAM_EVENTS.format(table=table))


_LOCK_STREAMS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
    "FROM unnest(CAST(:k AS text[])) WITH ORDINALITY AS s(k, n) ORDER BY n"
)
_APPEND_STREAM_EVENTS = """
WITH e AS (
    SELECT * FROM unnest(CAST(:stream_id AS uuid[]), CAST(:data AS text[]))
        WITH ORDINALITY AS e(stream_id, data, n)
)
INSERT INTO {table} (stream_id, seq, at, data)
SELECT e.stream_id,
    coalesce((SELECT max(t.seq) FROM {table} AS t WHERE t.stream_id = e.stream_id), 0)
        + row_number() OVER (PARTITION BY e.stream_id ORDER BY e.n),
    CAST(:at AS timestamptz), CAST(e.data AS jsonb)
FROM e
RETURNING stream_id, seq
"""


class LiveHub:
    """One Redis pub/sub connection per process, fanned out to in-process subscriber queues."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._queues: dict[str, set[Mailbox]] = defaultdict(set)
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._draining = False
        self._drained = asyncio.Event()  # set once draining and no subscriber is left
        _HUBS.add(self)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Publish to `live:<channel>`. A channel is about one thing (`<kind>:<id>`): its id is stamped in
        the same MULTI for the router's response cache, so a subscriber told of a change that asks again
        is never answered from before it (docs/performance.md)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            about = to_uuid(channel.rpartition(":")[2])
            stamp_for_cache(pipe, [str(about)] if about else [])
            pipe.publish(f"live:{channel}", orjson.dumps(message))
            await pipe.execute()

    async def publish_or_log(self, channel: str, *messages: dict[str, Any], of: str) -> None:
        """Publish each message of a stream whose events were just committed. A failure is logged, not
        raised: the commit stands and subscribers re-read the stored events. `of` names the stream in the
        log ("export <id>")."""
        for message in messages:
            try:
                await self.publish(channel, message)
            except Exception:
                log.exception("could not publish a live event of %s", of)

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[Mailbox]:
        if self._draining:
            raise Unavailable(RESTARTING)
        queue = Mailbox(maxsize=QUEUE_SIZE)  # one per open stream: lighter than an asyncio.Queue
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
                if self._draining and not self._queues:
                    self._drained.set()

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
                _put(queue, payload)

    def drain(self) -> None:
        """End every open stream of this hub (and refuse new ones): the process is stopping."""
        self._draining = True
        if not self._queues:
            self._drained.set()
        for queues in self._queues.values():
            for queue in queues:
                _put(queue, _DRAIN)

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()


class SessionEnded(DomainError):
    """The subscriber's session ended (signed out, revoked) while its stream was open."""

    default_code = "SESSION_ENDED"
    default_message = "Your session ended, so this stream was closed. Sign in again to follow it."


class AccessRevoked(Forbidden):
    """The subscriber may no longer see the stream (e.g. removed from the organization)."""

    default_code = "ACCESS_REVOKED"
    default_message = "You may no longer follow this stream, so it was closed."


@dataclass(frozen=True)
class StreamGuard:
    """What `follow` re-checks while a stream is open: `check()` raises `SessionEnded` / `AccessRevoked`
    once access is gone. It runs every `every` seconds, whether events flow or not (built by
    `Context.stream_guard`)."""

    check: Callable[[], Awaitable[None]]
    every: float


class SharedChecks:
    """Stream re-checks shared within a process: streams that ask the same question (`key`: the same caller
    about the same stream) within `window` seconds of each other get one answer, its error included.
    1,000 followers of 10 labs by one caller re-check 10 times per window, not 1,000 times per interval."""

    def __init__(self) -> None:
        self._answers: dict[Hashable, tuple[float, asyncio.Future[None]]] = {}

    async def run(self, key: Hashable, window: float, check: Callable[[], Awaitable[None]]) -> None:
        now = time.monotonic()
        asked = self._answers.get(key)
        if asked is None or now - asked[0] >= window:
            if len(self._answers) >= 1000:  # forget the stale answers
                self._answers = {k: v for k, v in self._answers.items() if now - v[0] < window}
            answer = asyncio.ensure_future(check())
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen: no warning
            asked = self._answers[key] = (now, answer)
        # shield: a stream that ends while waiting does not cancel the others' answer
        await asyncio.shield(asked[1])


class BatchedExists:
    """Redis `EXISTS` of the keys asked within `window` seconds, in one round trip: the session re-checks
    of 1,000 open streams of 1,000 different callers are 200 commands a second, each with its own
    connection checkout, retry wrapper and reply; batched, a few pipelines. An error reaches every caller
    of the batch."""

    def __init__(self, window: float = 0.05) -> None:
        self.window = window
        self._pending: dict[str, list[asyncio.Future[bool]]] = {}

    async def exists(self, redis: Redis, key: str) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()
        if not self._pending:
            loop.call_later(self.window, self._flush, redis)
        self._pending.setdefault(key, []).append(answer)
        return await answer

    def _flush(self, redis: Redis) -> None:
        batch, self._pending = self._pending, {}
        task = asyncio.ensure_future(self._ask(redis, batch))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    @staticmethod
    async def _ask(redis: Redis, batch: dict[str, list[asyncio.Future[bool]]]) -> None:
        keys = list(batch)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(key)
                found = await pipe.execute()
        except Exception as exc:
            for answers in batch.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
            return
        for key, exists in zip(keys, found, strict=True):
            for answer in batch[key]:
                if not answer.done():  # its stream may have ended meanwhile
                    answer.set_result(bool(exists))


_BACKGROUND: set[asyncio.Task] = set()  # the batches being asked (a task needs a reference to live)


def stored_after(
    runtime: Runtime, model: type[StreamEventMixin], stream_id: uuid.UUID, *, page: int = 500
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
    guard: StreamGuard | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Replay messages with seq > `after`, then follow live ones: in seq order, each once.

    `read_after(seq)` returns one page of stored messages after `seq`; pages are read until one comes
    back empty — on start (replay) and whenever a live message shows a gap (a dropped pub/sub message, or
    one published before this subscriber attached). Live messages otherwise cost no database read.
    The stream ends after a final message (`is_final`), also when that message is the one at `after`:
    a client that saw the end and reconnects gets `complete` at once, not a stream that never ends.
    With a `guard`, access is re-checked every `guard.every` seconds; its error ends the stream.
    """
    last = after or 0
    read_database = True
    replaying = True
    checked_at = time.monotonic()
    loop = asyncio.get_running_loop()
    # A timer puts _RECHECK in the queue when the guard is due (one timer per check, not a timeout
    # around every message's wait: that was a tenth of the labs CPU per delivery with 1,000 streams).
    wake: asyncio.Handle | None = None
    wake_at = 0.0  # in loop time (uvloop's handle of a zero delay has no `when`)
    async with hub.listen(channel) as queue:
        try:
            while True:
                if guard is not None and time.monotonic() - checked_at >= guard.every:
                    await guard.check()
                    checked_at = time.monotonic()
                    if wake is not None:
                        wake.cancel()
                        wake = None
                if read_database:
                    batch = await read_after(last)
                    read_database = bool(batch)
                    if replaying and not batch and last > 0 and await _ended_at(read_after, last, is_final):
                        return
                    replaying = False
                else:
                    # (a timer long past without its _RECHECK: dropped from a full queue; set another)
                    if guard is not None and (wake is None or loop.time() > wake_at + 1.0):
                        wait = _until_check(guard, checked_at)
                        wake, wake_at = loop.call_later(wait, _put, queue, _RECHECK), loop.time() + wait
                    message = await queue.get()
                    if message is _RECHECK:
                        wake = None  # fired (a timer may fire a little early: the check may not be due yet)
                        continue
                    if message is _DRAIN:
                        raise Unavailable(RESTARTING)
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
        finally:
            if wake is not None:
                wake.cancel()


async def drain_all(timeout: float) -> None:
    """End the open streams of every hub of this process with a retryable error, and wait (at most
    `timeout` seconds) until their subscribers have been told."""
    hubs = list(_HUBS)
    for hub in hubs:
        hub.drain()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(hub._drained.wait() for hub in hubs)), timeout)
    for _ in range(20):  # let the subscription tasks send their error and `complete` before the close
        await asyncio.sleep(0)


async def _ended_at(
    read_after: Callable[[int], Awaitable[list[dict[str, Any]]]],
    seq: int,
    is_final: Callable[[dict[str, Any]], bool],
) -> bool:
    """Whether the stored message `seq` (the last one the client saw) is the stream's final one."""
    seen = await read_after(seq - 1)
    return bool(seen) and seen[0]["seq"] == seq and is_final(seen[0])


def _until_check(guard: StreamGuard, checked_at: float) -> float:
    return max(0.0, guard.every - (time.monotonic() - checked_at))


def _put(queue: Mailbox, message: dict[str, Any]) -> None:
    if queue.full():
        # A stalled subscriber re-reads from the database instead of holding memory.
        queue.get_nowait()
    queue.put_nowait(message)


@dataclass(frozen=True)
class JobEvents:
    """The progress events of one kind of job (an export, a generation, a lab): stored in `model` as the
    stream `job.id`, published on `channel(job.id)`, ending at a message whose status is in `terminal`.
    `visible(runtime, meta, job_id)` is the service function that answers the job to a caller who may see it
    (and refuses anyone else); callers keep following while `can_view(caller, job)`."""

    model: type[StreamEventMixin]
    channel: Callable[[uuid.UUID], str]
    terminal: Collection[str]
    visible: Callable[[Any, Any, uuid.UUID], Awaitable[Any]]
    can_view: Callable[[Any, Any], Awaitable[bool]]
    # What an open stream keeps of the job for `can_view`'s re-checks (the whole row unless told: a lab's
    # ORM row is ~2 KiB per subscriber, for two ids).
    kept: Callable[[Any], Any] = lambda job: job

    async def follow(
        self, context: Any, job_id: uuid.UUID, *, after: int | None
    ) -> AsyncIterator[dict[str, Any]]:
        """`follow` for a subscription to the events of the job `job_id`: found by `visible` for the request
        `context`'s caller first, then, while it is open, the caller's session and `can_view(caller, job)`
        are re-checked."""
        runtime = context.runtime
        job = self.kept(await self.visible(runtime, context.meta, job_id))

        async def still_allowed(meta: Any) -> bool:
            return await self.can_view(meta.caller, job)

        async for message in follow(
            runtime.live,
            self.channel(job_id),
            after=after,
            read_after=stored_after(runtime, self.model, job_id),
            is_final=lambda message: message["data"]["status"] in self.terminal,
            guard=context.stream_guard(still_allowed, shared_by=self.channel(job_id)),
        ):
            yield message


E = TypeVar("E")


def job_event(
    event_type: Callable[..., E], message: dict[str, Any], status: Callable[[str], Any], **extra: Any
) -> E:
    """A job's progress message (seq, at, and status, progress and message in its data) as the GraphQL
    type `event_type`; `status` reads the status into the type's enum, `extra` are the type's other fields."""
    data = message["data"]
    return event_type(
        seq=message["seq"],
        at=datetime.fromisoformat(message["at"]),
        status=status(data["status"]),
        progress=data["progress"],
        message=data["message"],
        **extra,
    )

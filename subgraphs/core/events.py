"""Domain events: transactional outbox -> Redis Streams -> consumer groups.

A service writes its change and an outbox row in ONE transaction (`emit`). The relay publishes unpublished
rows to the stream `events.<domain>` and marks them published; consumers read with a consumer group, ack
after handling, dedupe by event id, and re-claim what a dead consumer left pending. Delivery is at least
once; nothing is lost if Redis or a worker dies between steps.

PostgreSQL is the truth, Redis can be lost (restarted empty, flushed, failed over): consumers record what
they handled in PostgreSQL (`ConsumedLedger`, also their dedupe) and register their groups there; a
consumer whose group vanished recreates it; and the relay, finding its marker key gone, publishes again
every recent outbox row some registered group has not confirmed (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

import orjson
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT, StreamRangeResponse
from sqlalchemy import (
    BigInteger,
    CursorResult,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    and_,
    delete,
    exists,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from subgraphs.contracts.base import EventPayload
from subgraphs.core.db import domain_base, utcnow
from subgraphs.core.redis_state import begin_rebuild, finish_rebuild, rebuilding_key

if TYPE_CHECKING:  # core.context imports this module
    from subgraphs.core.context import RequestMeta

log = logging.getLogger("coursegraph.events")


def keep_running(stop: asyncio.Event) -> bool:
    """The condition of a worker loop: False once `stop` is set; raises CancelledError once the task was
    cancelled, even if the cancellation was swallowed below us — Python 3.11's asyncio.wait_for returns
    the result instead when the awaited operation finishes at the moment of the cancel (redis-py wraps every
    command's write in it), and a loop that never looks again would run forever in a cancelled task."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
    return not stop.is_set()


STREAM_PREFIX = "events."
STREAM_MAXLEN = 1_000_000  # approximate cap; consumers keep up far inside it


class Event(BaseModel):
    """The envelope every domain event travels in (version 1)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str  # "<domain>.<entity>.<verb>", e.g. "users.user.registered"
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_id: str | None = None
    organization_id: str | None = None
    subject_ids: dict[str, str] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None
    source_ip: str | None = None
    version: int = 1

    @property
    def domain(self) -> str:
        return self.type.split(".", 1)[0]


def domain_event(
    payload: EventPayload,
    *,
    actor: str | None,
    meta: RequestMeta | None = None,
    organization_id: Any = None,
    subjects: Mapping[str, Any] | None = None,
) -> Event:
    """The envelope of `payload` (a typed contract): who did it, in which organization, about which
    entities (ids as strings; a subject that is None is left out) and, given the request (`meta`; a worker
    has none), where it came from."""
    return Event(
        type=payload.event_type(),
        actor_id=actor,
        organization_id=str(organization_id) if organization_id else None,
        subject_ids={k: str(v) for k, v in (subjects or {}).items() if v is not None},
        payload=payload.wire(),
        request_id=meta.request_id if meta else None,
        source_ip=meta.client_ip if meta else None,
    )


def request_event(
    meta: RequestMeta,
    payload: EventPayload,
    *,
    organization_id: Any = None,
    subjects: Mapping[str, Any] | None = None,
) -> Event:
    """`domain_event` of a change a request made: its caller is the actor."""
    return domain_event(
        payload, actor=meta.principal.subject, meta=meta, organization_id=organization_id, subjects=subjects
    )


class OutboxMixin:
    """`class Outbox(Base, OutboxMixin)` in each domain: its table `<schema>.outbox`."""

    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    type: Mapped[str] = mapped_column(String(120))
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    if TYPE_CHECKING:
        # What each domain's declarative base gives its `Outbox`: the metadata and the keyword constructor.
        metadata: ClassVar[MetaData]

        def __init__(self, *, id: uuid.UUID, type: str, event: dict[str, Any]) -> None: ...

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        # Only unpublished rows are scanned by the relay; a partial index keeps that cheap forever.
        return (
            Index(
                f"ix_{cls.metadata.schema}_outbox_unpublished",
                "position",
                postgresql_where=text("published_at IS NULL"),
            ),
        )


# Where `emit` notes the events of a transaction (outbox, event id, the ids the event names), so that
# `publishing_transaction` can stamp them for the router's cache before the commit and publish them after.
EMITTED = "coursegraph_emitted"
Emitted = tuple[Any, uuid.UUID, set[str]]


def emit(session: AsyncSession, outbox: type[OutboxMixin], event: Event) -> Event:
    """Record `event` in the caller's transaction; it is published once that commits (at once by a
    `publishing_transaction`: requests', workers' and consumers'; else by the relay)."""
    wire = event.model_dump(mode="json")
    session.add(outbox(id=event.id, type=event.type, event=wire))
    session.info.setdefault(EMITTED, []).append((outbox, event.id, ids_named(wire)))
    return event


# --- what consumers confirmed, in PostgreSQL (the kernel's own pg schema `events`) ----------------------

EventsBase = domain_base("events")


class ConsumerGroup(EventsBase):
    """A consumer group that reads a stream: the relay publishes again what such a group did not confirm."""

    __tablename__ = "consumer_group"

    stream: Mapped[str] = mapped_column(String(120), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsumedEvent(EventsBase):
    """An event a consumer group has handled (its durable dedupe; kept for `dedupe_ttl_seconds`)."""

    __tablename__ = "consumed_event"

    group_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    consumed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


_CONSUMED = cast(
    Table, ConsumedEvent.__table__
)  # Core, not the ORM's bulk insert (it wants one row per dict)
# The ids go as text, parsed by PostgreSQL (not one uuid.UUID per id in Python).
_RECORD = text(
    f"INSERT INTO {_CONSUMED.fullname} (group_name, event_id, consumed_at) "
    "SELECT CAST(:group_name AS varchar), e, CAST(:consumed_at AS timestamptz) "
    "FROM unnest(CAST(:event_id AS uuid[])) AS e ON CONFLICT DO NOTHING"
)


class ConsumedLedger:
    """Consumers' confirmations in PostgreSQL: survives Redis, tells the relay what to publish again."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def register(self, stream: str, group: str) -> None:
        stmt = insert(ConsumerGroup).values(stream=stream, group_name=group)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ConsumerGroup.stream, ConsumerGroup.group_name], set_={"seen_at": utcnow()}
        )
        async with self.sessionmaker() as session, session.begin():
            await session.execute(stmt)

    async def seen(self, group: str, event_ids: list[str]) -> set[str]:
        """Which of `event_ids` the group has handled (one query for a whole read)."""
        if not event_ids:
            return set()
        async with self.sessionmaker() as session:
            found = await session.scalars(
                select(ConsumedEvent.event_id).where(
                    ConsumedEvent.group_name == group,
                    ConsumedEvent.event_id.in_([uuid.UUID(e) for e in event_ids]),
                )
            )
            return {str(event_id) for event_id in found}

    async def record(self, group: str, *event_ids: str) -> None:
        if event_ids:
            async with self.sessionmaker() as session, session.begin():
                await self.record_in(session, group, event_ids)

    @staticmethod
    async def record_in(session: AsyncSession, group: str, event_ids: Sequence[str]) -> None:
        """`record` in the caller's transaction: a consumer that applies a batch in one transaction confirms
        it in that same one (no second commit per batch)."""
        if event_ids:
            await session.execute(
                _RECORD,
                {"group_name": group, "event_id": list(event_ids), "consumed_at": utcnow()},
            )


def stream_name(domain: str) -> str:
    return STREAM_PREFIX + domain


def stream_fields(event: dict[str, Any] | Event) -> dict[FieldT, EncodableT]:
    """The fields of one stream entry, exactly as the relay writes them (an outbox row's JSON envelope)."""
    if isinstance(event, Event):
        event = event.model_dump(mode="json")
    return {"id": str(event["id"]), "event": orjson.dumps(event)}


# XADD of a batch of entries to one stream as ONE command: redis-py packs and parses every command in
# Python (~20 us an XADD), a script call takes the whole batch as the arguments of one command.
# KEYS[1]: the stream; ARGV: the approximate MAXLEN, then each entry's id and envelope.
_XADD_MANY = """
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[i], 'event', ARGV[i + 1])
end
return (#ARGV - 1) / 2
"""


def queue_xadds(
    pipe: Pipeline, entries: Iterable[tuple[str, dict[str, Any] | Event]], *, maxlen: int = STREAM_MAXLEN
) -> None:
    """Queue on `pipe` the XADD of each (stream, envelope), fields as `stream_fields` makes them: one
    command per stream, entries in their order."""
    batches: dict[str, list[EncodableT]] = {}
    for stream, event in entries:
        fields = stream_fields(event)
        batches.setdefault(stream, []).extend((fields["id"], fields["event"]))
    for stream, args in batches.items():
        pipe.eval(_XADD_MANY, 1, stream, maxlen, *args)


# Present while the streams in Redis hold everything the relay published (see redis_state.py).
RELAY_MARKER = "events:relay:complete"


async def stamp_before_commit(redis: Redis, emitted: list[Emitted]) -> None:
    """Stamp the ids the transaction's events name for the router's cache just before it commits (they are
    stamped again as the events are published): an answer begun before then is stale from the commit on,
    whenever the publish comes. Best effort, like the publish: it must never keep a change from its commit."""
    try:
        async with redis.pipeline(transaction=False) as pipe:  # one script: atomic by itself
            stamp_for_cache(pipe, {named for _, _, names in emitted for named in names})
            await pipe.execute()
    except Exception:
        log.warning(
            "stamping the ids of a transaction's events failed; they are stamped as published", exc_info=True
        )


async def publish_committed(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, emitted: list[Emitted]
) -> None:
    """Publish the events a request's transaction just committed, before the request answers: the next
    request of the client, to any subgraph, finds them in the stream (read your writes, docs/reliability.md).
    Best effort: what fails here stays unpublished in the outbox and the relay publishes it."""
    by_outbox: dict[Any, list[uuid.UUID]] = {}
    for outbox, event_id, _ in emitted:
        by_outbox.setdefault(outbox, []).append(event_id)
    try:
        for outbox, ids in by_outbox.items():
            async with sessionmaker() as session, session.begin():
                # Rows the relay holds (locked) are skipped: it publishes them itself.
                rows = (
                    await session.execute(
                        select(outbox.id, outbox.event)
                        .where(outbox.id.in_(ids), outbox.published_at.is_(None))
                        .order_by(outbox.position)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not rows:
                    continue
                entries = [(stream_name(outbox.__table__.schema), row.event) for row in rows]
                marker = await _xadd_marked(redis, entries)
                await session.execute(
                    update(outbox).where(outbox.id.in_([r.id for r in rows])).values(published_at=utcnow())
                )
            await _republish_if_lost(redis, marker, entries)
    except Exception:
        log.warning("publishing committed events failed; the relay will publish them", exc_info=True)


# The relay's marker and the token of a rebuild under way: each rebuild makes a new one of either, and a
# loss of Redis drops both, so the pair differs after any loss, one during a rebuild (marker absent) too.
_MARKER_KEYS = (RELAY_MARKER, rebuilding_key(RELAY_MARKER))
Marker = tuple[bytes | None, ...]


# The router's response cache (router/response-cache.ts) keeps an answer only while nothing it shows has
# changed since it began computing it. Every event stamps each id it names (its actor, its subjects, its
# organization) with the next value of one counter, so an answer that shows an id stamped later than the
# counter's value when it began is stale (the event's change was committed before it was published).
CACHE_SEQUENCE_KEY = "router:cache:sequence"
CACHE_STAMP_PREFIX = "router:cache:stamp:"
CACHE_STAMP_TTL_SECONDS = 86_400  # far longer than any entry lives (an hour at most)
_STAMP_SCRIPT = """
local stamp = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], stamp, 'EX', ARGV[1]) end
return stamp
"""


def stamp_for_cache(pipe: Pipeline, named: Collection[str]) -> None:
    """Queue on `pipe` (a MULTI) the stamping of `named` ids with the next value of the sequence."""
    if named:
        stamps = [CACHE_STAMP_PREFIX + named_id for named_id in sorted(named)]
        pipe.eval(_STAMP_SCRIPT, 1 + len(stamps), CACHE_SEQUENCE_KEY, *stamps, CACHE_STAMP_TTL_SECONDS)


def ids_named(event: dict[str, Any]) -> set[str]:
    """The ids an event's change concerns: its actor, its subjects and its organization."""
    subjects = (event.get("subject_ids") or {}).values()
    named = {event.get("actor_id"), event.get("organization_id"), *subjects}
    return {str(named_id) for named_id in named if named_id}


async def _xadd_marked(redis: Redis, entries: list[tuple[str, dict[str, Any]]]) -> Marker:
    """XADD the entries, stamp the ids they name for the router's cache, and read the relay's marker, in
    one MULTI: the marker tells afterwards whether Redis lost its data since (`_republish_if_lost`)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.mget(_MARKER_KEYS)
        queue_xadds(pipe, entries)
        stamp_for_cache(pipe, {named for _, event in entries for named in ids_named(event)})
        return tuple((await pipe.execute())[0])


async def _republish_if_lost(redis: Redis, marker: Marker, entries: list[tuple[str, dict[str, Any]]]) -> None:
    """After the commit that marked the entries published: if the marker changed since their XADD, Redis
    lost its data in between, and a relay may have published again what was unconfirmed before this commit
    made these rows count — so publish them again here (consumers skip what they already handled).
    Unchanged and absent (no rebuild begun yet) is safe: the relay's rebuild, begun later, sees the rows."""
    if tuple(await redis.mget(_MARKER_KEYS)) == marker:
        return
    async with redis.pipeline(transaction=False) as pipe:
        queue_xadds(pipe, entries)
        await pipe.execute()


def _stream_id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


# A stream entry as our clients read it: they answer bytes (no decode_responses), which redis-py's reply
# types leave open (`bytes | str`, and None in places).
Message = tuple[bytes, dict[bytes, bytes]]


def _messages(reply: StreamRangeResponse | None) -> list[Message]:
    """The entries of an XRANGE / XREVRANGE reply (a list, empty when there are none)."""
    return cast(list[Message], reply or [])


async def consumer_caught_up(redis: Redis, stream: str, group: str, target: tuple[int, int]) -> bool | None:
    """Whether `group` has handled every entry of `stream` up to `target` (delivered and none pending);
    None when the group does not exist (no consumer of it runs: there is nothing to wait for)."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return None
    info = next((g for g in groups if _text(g["name"]) == group), None)
    if info is None:
        return None
    if _stream_id(info["last-delivered-id"]) < target:
        return False
    pending = await redis.xpending(stream, group)
    return not pending["pending"] or _stream_id(pending["min"]) > target


async def wait_for_consumer(redis: Redis, stream: str, group: str, *, timeout: float) -> bool:
    """Wait (at most `timeout` seconds) until `group` has handled everything `stream` holds now.

    A service whose projection misses something a client may have just written elsewhere calls this and
    looks again: the producing request published its event before answering (`publish_committed`), so
    once the consumer is past the stream's current end, the projection reflects that write."""
    try:
        last = _messages(await redis.xrevrange(stream, count=1))
    except ResponseError:
        return False
    if not last:
        return True
    target = _stream_id(last[0][0])
    deadline = time.monotonic() + timeout
    while not (caught_up := await consumer_caught_up(redis, stream, group, target)):
        if caught_up is None:
            return False
        if time.monotonic() >= deadline:
            log.warning("consumer %s did not reach %s of %s within %.1f s", group, target, stream, timeout)
            return False
        await asyncio.sleep(0.005)
    return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class OutboxRelay:
    """Moves committed outbox rows of one or more domains into their Redis streams."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        outboxes: dict[str, type[OutboxMixin]],
        *,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        republish_window_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._redis = redis
        self._outboxes = outboxes
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._window = republish_window_seconds

    async def relay_once(self) -> int:
        """Publish one batch per domain; returns how many events were published. First, if Redis lost the
        relay's marker (restarted empty, flushed), publish again what consumers have not confirmed."""
        if not await self._redis.exists(RELAY_MARKER):
            await self.republish_unconfirmed()
        published = 0
        for domain, outbox in self._outboxes.items():
            async with self._sessionmaker() as session, session.begin():
                rows = (
                    await session.execute(
                        select(outbox.id, outbox.event)
                        .where(outbox.published_at.is_(None))
                        .order_by(outbox.position)
                        .limit(self._batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not rows:
                    continue
                entries = [(stream_name(domain), row.event) for row in rows]
                marker = await _xadd_marked(self._redis, entries)
                # If this commit fails after XADD, the rows go again: consumers dedupe by event id.
                await session.execute(
                    update(outbox).where(outbox.id.in_([r.id for r in rows])).values(published_at=utcnow())
                )
                published += len(rows)
            await _republish_if_lost(self._redis, marker, entries)
        return published

    async def republish_unconfirmed(self) -> int:
        """Publish again every outbox row published within the dedupe window that some registered consumer
        group of its stream (registered before it was published) has not confirmed in the ledger. Consumers
        skip what they did handle, so publishing too much is harmless; publishing too little is not."""
        started = time.monotonic()
        token = await begin_rebuild(self._redis, RELAY_MARKER)
        since = utcnow() - timedelta(seconds=self._window)
        total = 0
        for domain, outbox in self._outboxes.items():
            stream = stream_name(domain)
            unconfirmed = exists().where(
                ConsumerGroup.stream == stream,
                ConsumerGroup.registered_at <= outbox.published_at,
                ConsumerGroup.seen_at > since,
                # Correlated to both enclosing tables: left to itself SQLAlchemy correlates only to the
                # nearest one, and "this group confirmed ANY outbox row" hid every event that a group
                # confirming others had missed (the lost events of the flush test).
                ~exists()
                .where(
                    ConsumedEvent.group_name == ConsumerGroup.group_name, ConsumedEvent.event_id == outbox.id
                )
                .correlate(ConsumerGroup, outbox),
            )
            after = -1
            while True:
                async with self._sessionmaker() as session:
                    rows = (
                        await session.execute(
                            select(outbox.position, outbox.event)
                            .where(
                                and_(outbox.published_at.is_not(None), outbox.published_at > since),
                                outbox.position > after,
                                unconfirmed,
                            )
                            .order_by(outbox.position)
                            .limit(self._batch_size)
                        )
                    ).all()
                if not rows:
                    break
                async with self._redis.pipeline(transaction=False) as pipe:
                    queue_xadds(pipe, ((stream, row.event) for row in rows))
                    await pipe.execute()
                after = rows[-1].position
                total += len(rows)
        if await finish_rebuild(self._redis, RELAY_MARKER, token):
            log.warning(
                "relay: its marker was missing in Redis (first start, or Redis lost its data): "
                "published %d unconfirmed event(s) again in %.2f s",
                total,
                time.monotonic() - started,
            )
        return total

    async def prune_ledger(self) -> int:
        """Forget confirmations older than the dedupe window (nothing that old is published again)."""
        async with self._sessionmaker() as session, session.begin():
            # A DELETE answers a CursorResult (it has the rowcount); execute's signature says only Result.
            result = await session.execute(
                delete(ConsumedEvent).where(
                    ConsumedEvent.consumed_at < utcnow() - timedelta(seconds=self._window)
                )
            )
        return cast(CursorResult[Any], result).rowcount or 0

    async def run(self, stop: asyncio.Event) -> None:
        next_prune = time.monotonic()
        while keep_running(stop):
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + 3600
                    await self.prune_ledger()
                if await self.relay_once():
                    continue  # there may be more: drain before sleeping
            except Exception:
                log.exception("outbox relay failed; retrying")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._poll_interval)
            except TimeoutError:
                pass


DEADLETTER_PREFIX = "deadletter."


def deadletter_stream(group: str) -> str:
    return DEADLETTER_PREFIX + group


@dataclass(frozen=True)
class DeadLetter:
    group: str
    message_id: str  # in the dead-letter stream
    event_id: str
    event_type: str
    stream: str  # where the event came from
    error: str


async def dead_letters(redis: Redis, group: str | None = None, *, count: int = 100) -> list[DeadLetter]:
    """Dead-lettered events, oldest first: of one consumer group, or of every group."""
    if group is not None:
        streams = [deadletter_stream(group)]
    else:
        streams = sorted(
            [key.decode() async for key in redis.scan_iter(match=DEADLETTER_PREFIX + "*", _type="stream")]
        )
    letters: list[DeadLetter] = []
    for stream in streams:
        for message_id, fields in _messages(await redis.xrange(stream, count=count)):
            event = orjson.loads(fields[b"event"])
            letters.append(
                DeadLetter(
                    group=stream.removeprefix(DEADLETTER_PREFIX),
                    message_id=message_id.decode(),
                    event_id=fields[b"id"].decode(),
                    event_type=event.get("type", "?"),
                    stream=fields[b"stream"].decode(),
                    error=fields[b"error"].decode(),
                )
            )
    return letters


async def replay_dead_letters(redis: Redis, group: str, message_ids: list[str] | None = None) -> int:
    """Put dead-lettered events of `group` back on their streams (all, or those message ids) and forget their
    failure counts, so the group's consumer tries them afresh. Other groups of the stream skip them: they are
    marked handled there (dedupe by event id). Returns how many were replayed."""
    stream = deadletter_stream(group)
    entries = (
        _messages(await redis.xrange(stream))
        if message_ids is None
        else [
            entry
            for message_id in message_ids
            for entry in _messages(await redis.xrange(stream, message_id, message_id))
        ]
    )
    for message_id, fields in entries:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"failures:{group}:{fields[b'id'].decode()}")
            pipe.xadd(fields[b"stream"].decode(), {"id": fields[b"id"], "event": fields[b"event"]})
            pipe.xdel(stream, message_id)
            await pipe.execute()
    return len(entries)


class Consumer:
    """Base for event consumers. Subclasses set `group`, `streams` and implement `handle`.

    `handle` must be idempotent or use `dedupe`-protected side effects: an event is redelivered when a
    consumer dies between handling and ack. Events already marked handled are acked and skipped.
    A failing event never blocks the others: it stays pending and is retried once idle for
    `claim_idle_ms`; after `max_attempts` failures it moves to the stream `deadletter.<group>` (with the
    error) and is acked, to be inspected and replayed with `coursegraph events dead-letters` / `replay`.
    """

    group: ClassVar[str]
    streams: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        redis: Redis,
        *,
        name: str | None = None,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        dedupe_ttl_seconds: int = 7 * 24 * 3600,
        max_attempts: int = 5,
        ledger: ConsumedLedger | None = None,
    ) -> None:
        self.redis = redis
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._dedupe_ttl = dedupe_ttl_seconds
        self._max_attempts = max_attempts
        # With a ledger (the worker's consumers) what was handled is recorded in PostgreSQL and survives
        # Redis; without one (tests of the kernel) in Redis keys.
        self.ledger = ledger
        self._known_done: set[str] = set()  # of the messages being processed (`_prefetch_done`)

    async def handle(self, event: Event) -> None:
        raise NotImplementedError

    def _done_key(self, event_id: str) -> str:
        return f"consumed:{self.group}:{event_id}"

    async def ensure_groups(self) -> None:
        """Create the group on each stream (and the stream) unless it exists; from the stream's start, so a
        group recreated after Redis lost it reads what the relay publishes again."""
        for stream in self.streams:
            if self.ledger is not None:
                await self.ledger.register(stream, self.group)
            try:
                await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def _done(self, event_id: str) -> bool:
        if self.ledger is not None:
            if event_id in self._known_done:
                return True
            return bool(await self.ledger.seen(self.group, [event_id]))
        return bool(await self.redis.exists(self._done_key(event_id)))

    async def _prefetch_done(self, messages: list[tuple[str, Message]]) -> None:
        """Look the events of one read up in the ledger at once (instead of one query per event)."""
        if self.ledger is not None:
            ids = [fields[b"id"].decode() for _, (_, fields) in messages]
            self._known_done = await self.ledger.seen(self.group, ids)

    async def _mark_done(self, event_id: str) -> None:
        if self.ledger is not None:
            await self.ledger.record(self.group, event_id)
        else:
            await self.redis.set(self._done_key(event_id), 1, ex=self._dedupe_ttl)

    async def _process(self, stream: str, message_id: bytes, fields: dict[bytes, bytes]) -> bool:
        """Handle one message; True when it is done (acked), False when it stays pending for a retry."""
        event_id = fields[b"id"].decode()
        if not await self._done(event_id):
            try:
                await self.handle(Event.model_validate_json(fields[b"event"]))
            except Exception as exc:
                return await self._failed(stream, message_id, event_id, fields, exc)
            await self._mark_done(event_id)
        await self.redis.xack(stream, self.group, message_id)
        return True

    async def _failed(
        self, stream: str, message_id: bytes, event_id: str, fields: dict[bytes, bytes], exc: Exception
    ) -> bool:
        key = f"failures:{self.group}:{event_id}"
        attempts = await self.redis.incr(key)
        await self.redis.expire(key, self._dedupe_ttl)
        if attempts < self._max_attempts:
            log.warning(
                "consumer %s: event %s failed (attempt %d), will retry",
                self.group,
                event_id,
                attempts,
                exc_info=exc,
            )
            return False
        log.error(
            "consumer %s: event %s failed %d times; dead-lettered",
            self.group,
            event_id,
            attempts,
            exc_info=exc,
        )
        await self.redis.xadd(
            deadletter_stream(self.group), {**fields, b"stream": stream, b"error": repr(exc)}
        )
        await self.redis.xack(stream, self.group, message_id)
        return True

    async def claim_idle(self) -> list[tuple[str, Message]]:
        """The pending messages of the consumer's streams idle past `claim_idle_ms` (failed, or left by a
        consumer that died between read and ack, this one before a restart included), claimed by this
        consumer: one XAUTOCLAIM per stream, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self.streams:
                pipe.xautoclaim(
                    stream,
                    self.group,
                    self.name,
                    min_idle_time=self._claim_idle_ms,
                    start_id="0-0",
                    count=100,
                )
            replies = await pipe.execute()  # NOGROUP raises: `run` recreates the groups
        claimed: list[tuple[str, Message]] = []
        for stream, reply in zip(self.streams, replies, strict=True):
            # Redis 6.2 answers 2 elements, 7+ answers 3: the messages come second (6.2 lists deleted ones
            # bare, without fields).
            claimed += [(stream, (message_id, fields)) for message_id, fields in reply[1] if fields]
        return claimed

    async def ack(self, messages: list[tuple[str, Message]]) -> None:
        """Ack handled messages: one XACK per stream, in one round trip."""
        ids: dict[str, list[bytes]] = {}
        for stream, (message_id, _) in messages:
            ids.setdefault(stream, []).append(message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, message_ids in ids.items():
                pipe.xack(stream, self.group, *message_ids)
            await pipe.execute()

    async def read_new(
        self, *, count: int, block_ms: int | None = None, wait: bool = True
    ) -> list[tuple[str, Message]]:
        """New messages of the consumer's streams (waiting up to `block_ms` for some unless not `wait`),
        with their stream."""
        reply = await self.redis.xreadgroup(
            self.group,
            self.name,
            {s: ">" for s in self.streams},
            count=count,
            block=(self._block_ms if block_ms is None else block_ms) if wait else None,
        )
        # Our clients speak RESP2 in bytes: a list of [stream, messages]; the declared type covers RESP3 too.
        streams = cast(list[tuple[bytes, list[Message]]], reply or [])
        return [
            (stream.decode(), message) for stream, messages in streams for message in messages if message[1]
        ]

    async def consume_once(self, *, block_ms: int | None = None) -> int:
        """Retry pending messages idle past `claim_idle_ms`, then read new ones. Returns how many are done."""
        done = await self._process_all(await self.claim_idle())
        return done + await self._process_all(await self.read_new(count=100, block_ms=block_ms))

    async def _process_all(self, messages: list[tuple[str, Message]]) -> int:
        await self._prefetch_done(messages)
        done = 0
        for stream, (message_id, fields) in messages:
            done += await self._process(stream, message_id, fields)
        self._known_done = set()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        ready = False
        while keep_running(stop):
            try:
                if not ready:
                    await self.ensure_groups()
                    ready = True
                await self.consume_once()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("consumer %s failed; retrying", self.group)
                    await asyncio.sleep(1)
                    continue
                # Redis lost the group (restarted empty, flushed): recreate it; the relay publishes again
                # what this group did not confirm, and what it did is skipped (the ledger).
                log.warning("consumer %s: its group is gone from Redis; recreating it", self.group)
                ready = False
            except Exception:
                log.exception("consumer %s failed; retrying", self.group)
                ready = False
                await asyncio.sleep(1)

"""The event kernel (subgraphs/core/events.py) on real PostgreSQL and Redis: transactional outbox, relay to
`events.users`, and consumer groups (ack after handling, re-claim from dead consumers, dedupe by event id).

Consumers here are a test-only subclass with a group of their own, created at the stream's end, so they
see only what the test relays (plus whatever other tests left unpublished, which they ignore).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, ClassVar

import orjson
import pytest
from redis import Redis as SyncRedis
from sqlalchemy import func, select, update
from sqlalchemy.event import listen
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from subgraphs.core.context import publishing_transaction
from subgraphs.core.events import (
    CACHE_SEQUENCE_KEY,
    CACHE_STAMP_PREFIX,
    Consumer,
    Event,
    OutboxRelay,
    dead_letters,
    emit,
    queue_xadds,
    replay_dead_letters,
    stream_fields,
    stream_name,
)
from subgraphs.users.models import Outbox

STREAM = stream_name("users")


class Boom(RuntimeError):
    pass


class RecordingConsumer(Consumer):
    """Records the ids of the events it handles; raises for the ids in `fail_ids`."""

    group: ClassVar[str] = "unused"  # every instance gets its own group (below)
    streams: ClassVar[tuple[str, ...]] = (STREAM,)

    def __init__(
        self, redis: Any, *, group: str, fail_ids: set[uuid.UUID] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(redis, block_ms=10, **kwargs)
        self.group = group  # type: ignore[misc]
        self.fail_ids = fail_ids if fail_ids is not None else set()
        self.handled: list[uuid.UUID] = []

    async def handle(self, event: Event) -> None:
        if event.id in self.fail_ids:
            raise Boom(f"cannot handle {event.id}")
        self.handled.append(event.id)


@pytest.fixture
def relay(runtime) -> OutboxRelay:
    return OutboxRelay(runtime.sessionmaker, runtime.redis, {"users": Outbox})


@pytest.fixture
async def group(runtime) -> str:
    """A consumer group of this test, starting at the stream's current end."""
    name = f"tests-{uuid.uuid4().hex[:10]}"
    await runtime.redis.xgroup_create(STREAM, name, id="$", mkstream=True)
    yield name
    await runtime.redis.xgroup_destroy(STREAM, name)


def new_event(kind: str = "kernel_test") -> Event:
    return Event(type=f"users.tests.{kind}", subject_ids={"test": uuid.uuid4().hex}, payload={"n": 1})


async def commit_events(runtime, *events: Event) -> None:
    async with runtime.transaction() as session:
        for event in events:
            emit(session, Outbox, event)


async def drain(relay: OutboxRelay) -> None:
    while await relay.relay_once():
        pass


async def relayed(runtime, relay: OutboxRelay, *events: Event) -> None:
    """Relay, and wait until every event's row is marked published (so its entry is in the stream).

    Another relay (the e2e platform's worker runs one on this database) may hold a row when ours skips
    it: the row is published when that one commits, which is what this waits for.
    """
    ids = [event.id for event in events]

    async def published() -> bool:
        async with runtime.transaction() as session:
            done = await session.scalar(
                select(func.count()).where(Outbox.id.in_(ids), Outbox.published_at.is_not(None))
            )
        return done == len(ids)

    async def poll() -> None:
        await drain(relay)
        while not await published():  # noqa: ASYNC110 - a database condition; nothing to wait on
            await asyncio.sleep(0.01)
            await drain(relay)

    await asyncio.wait_for(poll(), 10)


async def entries_for(runtime, event_id: uuid.UUID) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Stream entries carrying `event_id` (message id, fields)."""
    entries = await runtime.redis.xrange(STREAM, "-", "+")
    return [(mid, fields) for mid, fields in entries if fields[b"id"] == str(event_id).encode()]


async def pending_ids(runtime, group: str) -> dict[bytes, bytes]:
    """message id -> consumer name, for everything read by `group` but not acked."""
    pending = await runtime.redis.xpending_range(STREAM, group, min="-", max="+", count=10_000)
    return {p["message_id"]: p["consumer"] for p in pending}


async def outbox_row(runtime, event_id: uuid.UUID) -> Outbox | None:
    async with runtime.transaction() as session:
        return await session.scalar(select(Outbox).where(Outbox.id == event_id))


# --- outbox and relay -------------------------------------------------------------------------------------


async def test_emit_in_rolled_back_transaction_is_not_relayed(runtime, relay):
    event = new_event("rolled_back")
    with pytest.raises(Boom):
        async with runtime.transaction() as session:
            emit(session, Outbox, event)
            await session.flush()  # the row really reached the database before the rollback
            assert await session.scalar(select(Outbox.id).where(Outbox.id == event.id)) == event.id
            raise Boom("the business change failed")
    await drain(relay)
    assert await outbox_row(runtime, event.id) is None
    assert await entries_for(runtime, event.id) == []


async def test_emit_committed_is_relayed_exactly_once(runtime, relay):
    event = new_event("committed")
    await commit_events(runtime, event)
    assert await outbox_row(runtime, event.id) is not None

    await relayed(runtime, relay, event)
    await drain(relay)  # a second pass publishes nothing again

    entries = await entries_for(runtime, event.id)
    assert len(entries) == 1, entries
    received = Event.model_validate(orjson.loads(entries[0][1][b"event"]))
    assert received == event
    assert (await outbox_row(runtime, event.id)).published_at is not None


async def test_relaying_stamps_every_id_the_event_names(runtime, relay):
    """The router's response cache drops an answer showing an id stamped after it began."""
    actor, student, course, organization, bystander = (str(uuid.uuid4()) for _ in range(5))
    keys = [CACHE_STAMP_PREFIX + named for named in (actor, student, course, organization, bystander)]
    before = int(await runtime.redis.get(CACHE_SEQUENCE_KEY) or 0)
    event = new_event("names_ids")
    event.actor_id, event.organization_id = actor, organization
    event.subject_ids = {"user_id": student, "course_id": course}
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    stamp = int(await runtime.redis.get(CACHE_SEQUENCE_KEY))
    assert stamp > before
    assert await runtime.redis.mget(keys) == [str(stamp).encode()] * 4 + [None]
    assert 0 < await runtime.redis.ttl(keys[0]) <= 86_400


async def test_a_transaction_stamps_the_ids_its_events_name_before_it_commits(runtime):
    """Stamped again as published, but first before the commit: once the change is visible, no answer
    from before it passes the router's cache, however late the publish after the commit comes (a busy
    worker's loop, a process that died in between)."""
    course = str(uuid.uuid4())
    event = new_event("stamped_before_commit")
    event.subject_ids = {"course_id": course}
    stamp_key = CACHE_STAMP_PREFIX + course
    before = int(await runtime.redis.get(CACHE_SEQUENCE_KEY) or 0)
    at_commit: list[bytes | None] = []

    class ObservedSession(Session):
        pass

    # A real second connection reads Redis the moment PostgreSQL has committed, before the publish.
    with SyncRedis.from_url(runtime.settings.redis.url) as observer:
        listen(ObservedSession, "after_commit", lambda _: at_commit.append(observer.get(stamp_key)))
        sessionmaker = async_sessionmaker(runtime.engine, sync_session_class=ObservedSession)
        async with publishing_transaction(sessionmaker, runtime.redis) as session:
            emit(session, Outbox, event)
    # The first commit is the transaction's (the second, the publish's marking its row published).
    assert at_commit[0] is not None and int(at_commit[0]) > before, at_commit
    assert int(await runtime.redis.get(stamp_key)) > int(at_commit[0])  # and stamped again as published


async def test_relays_in_parallel_publish_each_event_once(runtime):
    events = [new_event("parallel") for _ in range(30)]
    await commit_events(runtime, *events)
    relays = [
        OutboxRelay(runtime.sessionmaker, runtime.redis, {"users": Outbox}, batch_size=7) for _ in range(3)
    ]
    await asyncio.gather(*(drain(r) for r in relays))
    await relayed(runtime, relays[0], *events)
    for event in events:
        assert len(await entries_for(runtime, event.id)) == 1, event.id


async def test_relay_keeps_commit_order(runtime, relay):
    events = [new_event("ordered") for _ in range(5)]
    for event in events:  # five separate commits
        await commit_events(runtime, event)
    await relayed(runtime, relay, *events)
    positions = [(await entries_for(runtime, e.id))[0][0] for e in events]
    assert positions == sorted(positions, key=lambda mid: tuple(int(p) for p in mid.split(b"-")))


async def test_a_batch_of_entries_lands_in_its_streams_in_order_as_stream_fields_makes_them(runtime):
    """The relay's XADDs go as one command per stream (queue_xadds): the same entries, in order."""
    first, second = (f"events.kernel-test-{uuid.uuid4().hex[:10]}" for _ in range(2))
    events = [new_event("batched") for _ in range(5)]
    entries = [(first, events[0]), (second, events[1]), (first, events[2].model_dump(mode="json"))]
    entries += [(first, events[3]), (second, events[4])]
    async with runtime.redis.pipeline(transaction=True) as pipe:
        queue_xadds(pipe, entries, maxlen=1000)
        assert await pipe.execute() == [3, 2]
    for stream, expected in ((first, [events[0], events[2], events[3]]), (second, [events[1], events[4]])):
        found = [fields for _, fields in await runtime.redis.xrange(stream)]
        wanted = [
            {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in stream_fields(e).items()}
            for e in expected
        ]
        assert found == wanted
        await runtime.redis.delete(stream)


# --- consumers --------------------------------------------------------------------------------


async def test_consumer_handles_and_acks(runtime, relay, group):
    event = new_event()
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    consumer = RecordingConsumer(runtime.redis, group=group, name="solo")
    await consumer.consume_once(block_ms=10)
    assert consumer.handled.count(event.id) == 1
    assert await pending_ids(runtime, group) == {}
    assert await runtime.redis.exists(f"consumed:{group}:{event.id}")


async def test_consumer_failure_leaves_message_pending_and_another_reclaims(runtime, relay, group):
    event = new_event("fails_once")
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    [(message_id, _)] = await entries_for(runtime, event.id)

    first = RecordingConsumer(runtime.redis, group=group, name="A", fail_ids={event.id})
    with contextlib.suppress(Boom):  # whether the failure propagates or is logged is the kernel's choice
        await first.consume_once(block_ms=10)
    assert event.id not in first.handled
    assert (await pending_ids(runtime, group)).get(message_id) == b"A"  # read, not acked

    second = RecordingConsumer(runtime.redis, group=group, name="B", claim_idle_ms=0)
    await second.consume_once(block_ms=10)
    assert second.handled.count(event.id) == 1
    assert message_id not in await pending_ids(runtime, group)

    # The first consumer, back on its feet, does not handle it again.
    first.fail_ids.clear()
    await first.consume_once(block_ms=10)
    assert event.id not in first.handled


async def test_consumer_failure_does_not_block_later_events(runtime, relay, group):
    """A poison event (its handler always fails) must not stall every event behind it."""
    poison, later = new_event("poison"), new_event("after_poison")
    await commit_events(runtime, poison)
    await commit_events(runtime, later)
    await relayed(runtime, relay, poison, later)

    consumer = RecordingConsumer(runtime.redis, group=group, name="A", fail_ids={poison.id})
    for _ in range(3):  # what `Consumer.run` does: call consume_once again after a failure
        with contextlib.suppress(Boom):
            await consumer.consume_once(block_ms=10)
        if later.id in consumer.handled:
            break
    assert later.id in consumer.handled, "the event after a failing one was never handled"


async def test_redelivered_handled_event_is_not_handled_twice(runtime, relay, group):
    event = new_event("redelivered")
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    consumer = RecordingConsumer(runtime.redis, group=group, name="A")
    await consumer.consume_once(block_ms=10)
    assert consumer.handled.count(event.id) == 1

    # The relay died after XADD but before marking the row published: the row goes out again.
    async with runtime.transaction() as session:
        await session.execute(update(Outbox).where(Outbox.id == event.id).values(published_at=None))
    await relayed(runtime, relay, event)
    assert len(await entries_for(runtime, event.id)) == 2

    await consumer.consume_once(block_ms=10)
    other = RecordingConsumer(runtime.redis, group=group, name="B", claim_idle_ms=0)
    await other.consume_once(block_ms=10)
    assert consumer.handled.count(event.id) + other.handled.count(event.id) == 1
    assert await pending_ids(runtime, group) == {}  # the duplicate was acked, not left pending


async def test_killed_between_read_and_ack_is_processed_once_by_another(runtime, relay, group):
    event = new_event("killed")
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    [(message_id, _)] = await entries_for(runtime, event.id)

    # Consumer A reads the message and dies before handling/acking it.
    read = await runtime.redis.xreadgroup(group, "A", {STREAM: ">"}, count=1000)
    assert message_id in [mid for _, messages in read for mid, _ in messages]
    assert (await pending_ids(runtime, group)).get(message_id) == b"A"

    b = RecordingConsumer(runtime.redis, group=group, name="B", claim_idle_ms=0)
    await b.consume_once(block_ms=10)
    assert b.handled.count(event.id) == 1
    assert message_id not in await pending_ids(runtime, group)

    # A restarts (same name) and finds nothing of it left to do; neither does B on its next round.
    restarted = RecordingConsumer(runtime.redis, group=group, name="A")
    await restarted.consume_once(block_ms=10)
    await b.consume_once(block_ms=10)
    assert event.id not in restarted.handled
    assert b.handled.count(event.id) == 1


async def test_consumer_without_claim_leaves_fresh_pending_to_its_owner(runtime, relay, group):
    """Re-claiming waits for claim_idle_ms: a slow but alive consumer is not robbed."""
    event = new_event("slow")
    await commit_events(runtime, event)
    await relayed(runtime, relay, event)
    [(message_id, _)] = await entries_for(runtime, event.id)
    await runtime.redis.xreadgroup(group, "A", {STREAM: ">"}, count=1000)

    patient = RecordingConsumer(runtime.redis, group=group, name="B", claim_idle_ms=60_000)
    await patient.consume_once(block_ms=10)
    assert event.id not in patient.handled
    assert (await pending_ids(runtime, group)).get(message_id) == b"A"


async def test_poison_event_is_dead_lettered_listed_and_replayed_once_fixed(runtime, relay, group):
    poison = new_event("dead_letter")
    await commit_events(runtime, poison)
    await relayed(runtime, relay, poison)
    bystander_group = f"{group}-bystander"
    await runtime.redis.xgroup_create(STREAM, bystander_group, id="0")
    bystander = RecordingConsumer(runtime.redis, group=bystander_group, name="C")
    # From the stream's start: earlier tests' entries come first (a read takes 100 at most).
    while poison.id not in bystander.handled and await bystander.consume_once(block_ms=10):
        pass
    assert poison.id in bystander.handled

    consumer = RecordingConsumer(
        runtime.redis, group=group, name="A", fail_ids={poison.id}, claim_idle_ms=0, max_attempts=2
    )
    for _ in range(3):
        await consumer.consume_once(block_ms=10)
    assert await pending_ids(runtime, group) == {}  # given up on: acked, not blocking
    letters = [
        letter for letter in await dead_letters(runtime.redis, group) if letter.event_id == str(poison.id)
    ]
    assert len(letters) == 1
    assert letters[0].event_type == "users.tests.dead_letter" and letters[0].stream == STREAM
    assert "Boom" in letters[0].error
    assert letters[0] in await dead_letters(runtime.redis)  # listed among every group's too

    consumer.fail_ids.clear()  # the cause is fixed
    assert await replay_dead_letters(runtime.redis, group, [letters[0].message_id]) == 1
    await consumer.consume_once(block_ms=10)
    await bystander.consume_once(block_ms=10)
    assert consumer.handled.count(poison.id) == 1
    assert bystander.handled.count(poison.id) == 1  # the other group skipped the replayed copy
    assert await dead_letters(runtime.redis, group) == []
    await runtime.redis.xgroup_destroy(STREAM, bystander_group)
    await runtime.redis.delete(f"deadletter.{group}")


async def test_a_consumer_whose_cancellation_is_swallowed_below_it_still_ends(runtime, group):
    """Python 3.11's asyncio.wait_for (redis-py wraps every write in it) returns the result instead of
    raising when a cancel arrives as the write finishes; the run loop must still end, not consume forever."""
    rounds: list[int] = []
    reading = asyncio.Event()

    class Swallowing(RecordingConsumer):
        async def consume_once(self, *, block_ms: int | None = None) -> int:
            rounds.append(1)
            reading.set()
            try:
                return await super().consume_once(block_ms=5000)
            except asyncio.CancelledError:
                return 0  # swallowed, as that wait_for does

    task = asyncio.create_task(Swallowing(runtime.redis, group=group, name="swallow").run(asyncio.Event()))
    await asyncio.wait_for(reading.wait(), 10)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)
    if not done:
        task.cancel()
    assert task in done and task.cancelled(), "the loop went on in a cancelled task"
    assert len(rounds) == 1

"""Redis lost between relay and consumption: no event is lost, none is applied twice (issue 16).

A Redis of the test's own is flushed (and, in the second test, restarted empty) after the relay published
a batch that one consumer group had handled and another had not. The relay notices its marker is gone and
publishes again from the outbox what was not confirmed; the consumers recreate their groups (NOGROUP) and
skip what their ledger in PostgreSQL says they handled. Every event is counted per group.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from typing import Any, ClassVar

import pytest

from subgraphs.core.events import (
    RELAY_MARKER,
    ConsumedLedger,
    Consumer,
    Event,
    OutboxRelay,
    emit,
    stream_name,
)
from subgraphs.users.models import Outbox
from tests.waiting import eventually

STREAM = stream_name("users")


class CountingConsumer(Consumer):
    """Counts how often each event of this test was applied."""

    group: ClassVar[str] = "unused"
    streams: ClassVar[tuple[str, ...]] = (STREAM,)

    def __init__(self, redis: Any, *, group: str, mine: set[uuid.UUID], **kwargs: Any) -> None:
        super().__init__(redis, block_ms=20, **kwargs)
        self.group = group  # type: ignore[misc]
        self.mine = mine
        self.applied: Counter[uuid.UUID] = Counter()

    async def handle(self, event: Event) -> None:
        if event.id in self.mine:
            self.applied[event.id] += 1


async def commit_events(sessionmaker: Any, count: int) -> list[uuid.UUID]:
    """Outbox rows committed outside a request (so only the relay under test publishes them)."""
    events = [Event(type="users.tests.redis_loss", payload={"n": n}) for n in range(count)]
    async with sessionmaker() as session, session.begin():
        for event in events:
            emit(session, Outbox, event)
    return [e.id for e in events]


@contextlib.asynccontextmanager
async def running(*tasks: Any):
    stop = asyncio.Event()
    jobs = [asyncio.create_task(t.run(stop)) for t in tasks]
    try:
        yield
    finally:
        stop.set()
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)


async def _scenario(runtime: Any, own_redis: Any, lose_redis) -> None:  # noqa: ANN001
    redis = own_redis.client()
    ledger = ConsumedLedger(runtime.sessionmaker)
    relay = OutboxRelay(runtime.sessionmaker, redis, {"users": Outbox}, poll_interval=0.05)
    mine: set[uuid.UUID] = set()
    tag = uuid.uuid4().hex[:8]
    fast = CountingConsumer(redis, group=f"fault-fast-{tag}", mine=mine, ledger=ledger)
    slow = CountingConsumer(redis, group=f"fault-slow-{tag}", mine=mine, ledger=ledger)
    try:
        await fast.ensure_groups()
        await slow.ensure_groups()
        # Both groups have confirmed earlier events: what `slow` misses below must still count as missed.
        earlier = await commit_events(runtime.sessionmaker, 3)
        mine.update(earlier)
        while await relay.relay_once():
            pass
        await eventually(lambda: _drain(fast, earlier))
        await eventually(lambda: _drain(slow, earlier))
        first = await commit_events(runtime.sessionmaker, 40)
        mine.update(first)
        while await relay.relay_once():
            pass
        # `fast` handles the batch; `slow` has not read it yet when Redis loses everything.
        await eventually(lambda: _drain(fast, first))
        assert set(slow.applied) == set(earlier)
        started = time.monotonic()
        await lose_redis()
        second = await commit_events(runtime.sessionmaker, 25)
        mine.update(second)
        async with running(relay, fast, slow):

            async def both_have_all() -> bool:
                return set(slow.applied) == mine and set(fast.applied) == mine

            await eventually(
                both_have_all,
                timeout=30,
                what="every event reaches both groups after the loss",
            )
        print(f"\nevents flowing again {time.monotonic() - started:.2f} s after Redis was lost")
        assert set(fast.applied.values()) == {1}, "an event was applied twice"
        assert set(slow.applied.values()) == {1}, "an event was applied twice"
        assert await redis.exists(RELAY_MARKER)
    finally:
        await redis.aclose()


async def _drain(consumer: CountingConsumer, ids: list[uuid.UUID]) -> bool:
    await consumer.consume_once(block_ms=10)
    return set(ids) <= set(consumer.applied)


async def test_flushed_redis_loses_no_event_and_applies_none_twice(runtime, own_redis):
    async def flush() -> None:
        client = own_redis.client()
        await client.flushall()
        await client.aclose()

    await _scenario(runtime, own_redis, flush)


async def test_redis_restarted_empty_loses_no_event_and_applies_none_twice(runtime, own_redis):
    async def restart() -> None:
        await asyncio.to_thread(own_redis.restart_empty)

    await _scenario(runtime, own_redis, restart)


@pytest.mark.parametrize("rebuild_under_way", [False, True], ids=["marker-set", "rebuild-under-way"])
async def test_events_whose_publish_straddles_a_flush_are_published_again(
    runtime, own_redis, rebuild_under_way
):
    """Redis flushed between a publisher's XADD and the commit that marks the rows published, and the
    relay's republish ran in between (it could not see those rows as published yet): the publisher notices
    the relay's marker changed and publishes them again, so the consumer still gets each once. The second
    case is a flush while the relay rebuilds (its marker absent before the XADD) whose next rebuild has not
    finished when the publisher looks (absent after too): only the rebuild's token tells them apart."""
    from sqlalchemy import select, update

    from subgraphs.core.db import utcnow
    from subgraphs.core.events import _republish_if_lost, _xadd_marked
    from subgraphs.core.redis_state import begin_rebuild

    async def rebuild_begun() -> None:  # what the relay's republish_unconfirmed holds until it finishes
        await redis.delete(RELAY_MARKER)
        await begin_rebuild(redis, RELAY_MARKER)

    redis = own_redis.client()
    relay = OutboxRelay(runtime.sessionmaker, redis, {"users": Outbox})
    mine: set[uuid.UUID] = set()
    consumer = CountingConsumer(
        redis,
        group=f"fault-straddle-{uuid.uuid4().hex[:8]}",
        mine=mine,
        ledger=ConsumedLedger(runtime.sessionmaker),
    )
    try:
        await consumer.ensure_groups()
        while await relay.relay_once():  # whatever else is unpublished, and the relay's marker set
            pass
        if rebuild_under_way:
            await rebuild_begun()
        ids = await commit_events(runtime.sessionmaker, 5)
        mine.update(ids)
        async with runtime.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(Outbox.id, Outbox.event).where(Outbox.id.in_(ids)).with_for_update()
                )
            ).all()
            entries = [(STREAM, row.event) for row in rows]
            marker = await _xadd_marked(redis, entries)
            await redis.flushall()  # the XADDs are lost ...
            await relay.republish_unconfirmed()  # ... and the republish cannot see these rows yet
            if rebuild_under_way:  # ... nor has it finished
                await rebuild_begun()
            await session.execute(update(Outbox).where(Outbox.id.in_(ids)).values(published_at=utcnow()))
        await _republish_if_lost(redis, marker, entries)
        await consumer.ensure_groups()

        async def all_applied() -> bool:
            await consumer.consume_once(block_ms=10)
            return set(consumer.applied) == mine

        await eventually(all_applied, timeout=15, what="the straddling events reach the consumer")
        assert set(consumer.applied.values()) == {1}
    finally:
        await redis.aclose()

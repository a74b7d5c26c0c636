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
        first = await commit_events(runtime.sessionmaker, 40)
        mine.update(first)
        while await relay.relay_once():
            pass
        # `fast` handles the batch; `slow` has not read it yet when Redis loses everything.
        await eventually(lambda: _drain(fast, first))
        assert not slow.applied
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

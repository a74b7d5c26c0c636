"""The live kernel behind `accountEvents(after)` (subgraphs/core/live.py), driven directly: persisted
per-stream events with a seq, published through the process's LiveHub, followed with replay + live.

Every wait is on a condition (a message arriving, a subscription being registered in Redis), bounded by a
generous timeout so a bug fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from subgraphs.core.live import append_stream_event, append_stream_events, follow
from subgraphs.users.models import AccountEvent

TIMEOUT = 10.0


async def append(runtime, stream_id: uuid.UUID, kind: str) -> dict[str, Any]:
    async with runtime.transaction() as session:
        row = await append_stream_event(session, AccountEvent, stream_id, {"kind": kind})
        return row.as_message()


def reader(runtime, stream_id: uuid.UUID, *, page: int | None = None):
    """A `read_after` like the one `accountEvents` uses (which reads pages of at most 1000 rows)."""

    async def read_after(seq: int) -> list[dict[str, Any]]:
        async with runtime.transaction() as session:
            stmt = (
                select(AccountEvent)
                .where(AccountEvent.stream_id == stream_id, AccountEvent.seq > seq)
                .order_by(AccountEvent.seq)
            )
            rows = await session.scalars(stmt.limit(page) if page else stmt)
            return [row.as_message() for row in rows]

    return read_after


class Follower:
    """Runs `follow(...)` in a task and collects what it yields."""

    def __init__(
        self,
        runtime,
        channel: str,
        stream_id: uuid.UUID,
        *,
        after: int | None,
        final: str | None = None,
        page: int | None = None,
    ):
        self.received: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._iterator = follow(
            runtime.live,
            channel,
            after=after,
            read_after=reader(runtime, stream_id, page=page),
            is_final=(lambda m: m["data"]["kind"] == final) if final else (lambda _m: False),
        )
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for message in self._iterator:
            async with self._changed:
                self.received.append(message)
                self._changed.notify_all()

    async def wait_for_count(self, count: int) -> list[int]:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.received) >= count or self.task.done())

        await asyncio.wait_for(reached(), TIMEOUT)
        if self.task.done() and self.task.exception():
            raise self.task.exception()  # type: ignore[misc]
        return self.seqs

    @property
    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.received]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def wait_until_subscribed(
    runtime, channel: str, subscribers: int = 1, *, exactly: bool = False
) -> None:
    """Wait until Redis counts `subscribers` on the channel (at least, or exactly): once the hub's SUBSCRIBE
    is registered, a PUBLISH reaches it."""

    async def reached() -> bool:
        [(_, count)] = await runtime.redis.pubsub_numsub(f"live:{channel}")
        return count == subscribers if exactly else count >= subscribers

    async def poll() -> None:
        # Redis offers no notification for this: poll the condition (bounded by TIMEOUT below).
        while not await reached():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), TIMEOUT)


@pytest.fixture
async def stream(runtime) -> AsyncIterator[tuple[uuid.UUID, str]]:
    stream_id = uuid.uuid4()
    yield stream_id, f"tests.live:{stream_id}"


async def test_follow_replays_after_then_goes_live(runtime, stream):
    stream_id, channel = stream
    for kind in ("A", "B", "C"):
        await append(runtime, stream_id, kind)
    follower = Follower(runtime, channel, stream_id, after=1)
    try:
        assert await follower.wait_for_count(2) == [2, 3]  # replay: only after `after`
        await wait_until_subscribed(runtime, channel)
        message = await append(runtime, stream_id, "D")
        await runtime.live.publish(channel, message)
        assert await follower.wait_for_count(3) == [2, 3, 4]
        assert [m["data"]["kind"] for m in follower.received] == ["B", "C", "D"]
    finally:
        await follower.stop()


async def test_follow_from_start_when_after_is_none(runtime, stream):
    stream_id, channel = stream
    await append(runtime, stream_id, "A")
    await append(runtime, stream_id, "B")
    follower = Follower(runtime, channel, stream_id, after=None)
    try:
        assert await follower.wait_for_count(2) == [1, 2]
    finally:
        await follower.stop()


async def test_follow_skips_duplicates_and_fills_gaps_from_db(runtime, stream):
    stream_id, channel = stream
    first = await append(runtime, stream_id, "A")
    follower = Follower(runtime, channel, stream_id, after=0)
    try:
        assert await follower.wait_for_count(1) == [1]
        await wait_until_subscribed(runtime, channel)

        # Duplicates of what was replayed are dropped.
        await runtime.live.publish(channel, first)
        # seq 2 and 3 are committed but only 4 is published (2 and 3 were "lost"): the gap is read
        # from the database.
        await append(runtime, stream_id, "B")
        await append(runtime, stream_id, "C")
        fourth = await append(runtime, stream_id, "D")
        await runtime.live.publish(channel, fourth)
        assert await follower.wait_for_count(4) == [1, 2, 3, 4]

        # Late re-deliveries of anything seen are dropped; the next new one comes through once.
        await runtime.live.publish(channel, fourth)
        await runtime.live.publish(channel, first)
        fifth = await append(runtime, stream_id, "E")
        await runtime.live.publish(channel, fifth)
        await runtime.live.publish(channel, fifth)
        sixth = await append(runtime, stream_id, "F")
        await runtime.live.publish(channel, sixth)
        assert await follower.wait_for_count(6) == [1, 2, 3, 4, 5, 6]
        assert [m["data"]["kind"] for m in follower.received] == ["A", "B", "C", "D", "E", "F"]
    finally:
        await follower.stop()


async def test_follow_reconnect_with_last_seq_misses_nothing(runtime, stream):
    stream_id, channel = stream
    await append(runtime, stream_id, "A")
    await append(runtime, stream_id, "B")
    first = Follower(runtime, channel, stream_id, after=0)
    try:
        assert await first.wait_for_count(2) == [1, 2]
    finally:
        await first.stop()
    # While disconnected, two more events happen (published to nobody).
    for kind in ("C", "D"):
        await runtime.live.publish(channel, await append(runtime, stream_id, kind))
    second = Follower(runtime, channel, stream_id, after=first.seqs[-1])
    try:
        assert await second.wait_for_count(2) == [3, 4]
        await wait_until_subscribed(runtime, channel)
        await runtime.live.publish(channel, await append(runtime, stream_id, "E"))
        assert await second.wait_for_count(3) == [3, 4, 5]
    finally:
        await second.stop()


async def test_follow_fans_out_to_every_subscriber_of_a_channel(runtime, stream):
    stream_id, channel = stream
    followers = [Follower(runtime, channel, stream_id, after=0) for _ in range(3)]
    try:
        # All attach through the hub's one pub/sub connection: Redis sees a single subscriber.
        await wait_until_subscribed(runtime, channel)
        await runtime.live.publish(channel, await append(runtime, stream_id, "A"))
        for follower in followers:
            assert await follower.wait_for_count(1) == [1]
        [(_, count)] = await runtime.redis.pubsub_numsub(f"live:{channel}")
        assert count == 1
    finally:
        for follower in followers:
            await follower.stop()


async def test_follow_ends_after_final_message(runtime, stream):
    stream_id, channel = stream
    follower = Follower(runtime, channel, stream_id, after=0, final="DONE")
    try:
        await wait_until_subscribed(runtime, channel)
        await runtime.live.publish(channel, await append(runtime, stream_id, "A"))
        await runtime.live.publish(channel, await append(runtime, stream_id, "DONE"))
        await runtime.live.publish(channel, await append(runtime, stream_id, "AFTER"))
        await asyncio.wait_for(follower.task, TIMEOUT)
        assert follower.seqs == [1, 2]
    finally:
        await follower.stop()


async def test_append_stream_event_seq_is_gap_free_under_concurrency(runtime, stream):
    stream_id, _ = stream
    messages = await asyncio.gather(*(append(runtime, stream_id, f"K{i}") for i in range(10)))
    assert sorted(m["seq"] for m in messages) == list(range(1, 11))


async def test_appending_several_events_numbers_each_stream_in_order_beside_single_appends(runtime, stream):
    """`append_stream_events` (several streams in two statements) continues each stream's seq, in the
    order given, and stays gap-free among concurrent single and batch appends."""
    stream_id, _ = stream
    other = uuid.uuid4()
    await append(runtime, stream_id, "FIRST")

    async def batch(tag: str) -> list[dict[str, Any]]:
        async with runtime.transaction() as session:
            events = [(stream_id, {"kind": f"{tag}1"}), (other, {"kind": f"{tag}1"})]
            events += [(stream_id, {"kind": f"{tag}2"})]
            return [row.as_message() for row in await append_stream_events(session, AccountEvent, events)]

    first = await batch("A")
    assert [(m["seq"], m["data"]["kind"]) for m in first] == [(2, "A1"), (1, "A1"), (3, "A2")]
    results = await asyncio.gather(
        *(batch(f"B{i}") for i in range(4)), *(append(runtime, stream_id, f"S{i}") for i in range(4))
    )
    async with runtime.transaction() as session:
        stored = (
            await session.execute(
                select(AccountEvent.stream_id, AccountEvent.seq, AccountEvent.data).where(
                    AccountEvent.stream_id.in_([stream_id, other])
                )
            )
        ).all()
    seqs = {s: sorted(seq for sid, seq, _ in stored if sid == s) for s in (stream_id, other)}
    assert seqs == {stream_id: list(range(1, 16)), other: list(range(1, 6))}
    by_seq = {(sid, seq): data["kind"] for sid, seq, data in stored}
    for messages in results[:4]:  # each batch's two events of one stream: in the order given
        kinds = [(m["seq"], m["data"]["kind"]) for m in messages]
        assert by_seq[(stream_id, kinds[0][0])] == kinds[0][1] and kinds[0][0] < kinds[2][0]


async def test_unsubscribes_when_last_follower_leaves(runtime, stream):
    stream_id, channel = stream
    follower = Follower(runtime, channel, stream_id, after=0)
    await wait_until_subscribed(runtime, channel)
    await follower.stop()

    await wait_until_subscribed(runtime, channel, subscribers=0, exactly=True)


async def test_follow_replays_everything_when_read_after_pages(runtime, stream):
    """`accountEvents` reads at most 1000 rows per `read_after` call. A client further behind than one page
    must still get everything without waiting for a new event (here: pages of 10, 25 events behind)."""
    stream_id, channel = stream
    async with runtime.transaction() as session:
        for i in range(25):
            await append_stream_event(session, AccountEvent, stream_id, {"kind": f"K{i}"})
    follower = Follower(runtime, channel, stream_id, after=0, page=10)
    try:
        with contextlib.suppress(TimeoutError):
            await follower.wait_for_count(25)
        assert follower.seqs == list(range(1, 26)), f"replay stopped after {len(follower.seqs)} of 25"
    finally:
        await follower.stop()


async def test_follow_fills_a_gap_longer_than_a_page(runtime, stream):
    stream_id, channel = stream
    follower = Follower(runtime, channel, stream_id, after=0, page=10)
    try:
        await wait_until_subscribed(runtime, channel)
        async with runtime.transaction() as session:
            for i in range(24):
                await append_stream_event(session, AccountEvent, stream_id, {"kind": f"K{i}"})
        # Only seq 25 is published; 1-24 must be read from the database, page after page.
        await runtime.live.publish(channel, await append(runtime, stream_id, "LAST"))
        with contextlib.suppress(TimeoutError):
            await follower.wait_for_count(25)
        assert follower.seqs == list(range(1, 26)), f"gap fill stopped after {len(follower.seqs)} of 25"
    finally:
        await follower.stop()

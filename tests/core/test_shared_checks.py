"""Open streams' access re-checks shared within a process (core/live.py `SharedChecks`): one answer per
question and window, errors included; a stream that ends while waiting does not take the answer along.
Their session checks asked within a window go to Redis together (`BatchedExists`)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from subgraphs.core.live import AccessRevoked, BatchedExists, SharedChecks


class Counted:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error
        self.release = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error


async def test_streams_asking_the_same_question_share_one_answer():
    checks, alice, bob = SharedChecks(), Counted(), Counted()
    waiting = [asyncio.create_task(checks.run(("alice", "lab-1"), 60, alice)) for _ in range(50)]
    other = asyncio.create_task(checks.run(("bob", "lab-1"), 60, bob))
    await asyncio.sleep(0)
    alice.release.set()
    bob.release.set()
    await asyncio.gather(*waiting, other)
    assert (alice.calls, bob.calls) == (1, 1)
    await checks.run(("alice", "lab-1"), 60, alice)  # still within the window
    assert alice.calls == 1
    await checks.run(("alice", "lab-1"), 0, alice)  # past it: asked again
    assert alice.calls == 2


async def test_a_refusal_reaches_every_stream_that_shares_it():
    checks, revoked = SharedChecks(), Counted(AccessRevoked())
    waiting = [asyncio.create_task(checks.run("key", 60, revoked)) for _ in range(3)]
    await asyncio.sleep(0)
    revoked.release.set()
    for outcome in await asyncio.gather(*waiting, return_exceptions=True):
        assert isinstance(outcome, AccessRevoked)
    with pytest.raises(AccessRevoked):
        await checks.run("key", 60, revoked)
    assert revoked.calls == 1


async def test_a_stream_that_ends_while_waiting_does_not_cancel_the_others_answer():
    checks, check = SharedChecks(), Counted()
    first = asyncio.create_task(checks.run("key", 60, check))
    second = asyncio.create_task(checks.run("key", 60, check))
    await asyncio.sleep(0)
    first.cancel()
    check.release.set()
    await second
    assert first.cancelled() and check.calls == 1


class CountedPipelines:
    """A real Redis client that counts the pipelines made of it."""

    def __init__(self, redis: Redis) -> None:
        self.redis, self.pipelines = redis, 0

    def pipeline(self, **kwargs: object) -> object:
        self.pipelines += 1
        return self.redis.pipeline(**kwargs)  # pyright: ignore[reportArgumentType]


async def test_session_checks_asked_together_are_one_round_trip_with_each_its_answer(settings):  # noqa: ANN001
    redis = Redis.from_url(settings.redis.url)
    try:
        await redis.set("batched-exists:a", "1", ex=60)
        counted, batched = CountedPipelines(redis), BatchedExists(window=0.01)
        keys = ["batched-exists:a", "batched-exists:missing"] * 50
        answers = await asyncio.gather(*(batched.exists(counted, key) for key in keys))  # pyright: ignore[reportArgumentType]
        assert answers == [True, False] * 50
        assert counted.pipelines == 1
        assert await batched.exists(counted, "batched-exists:a") is True  # pyright: ignore[reportArgumentType]
        assert counted.pipelines == 2
    finally:
        await redis.delete("batched-exists:a")
        await redis.aclose()


async def test_a_failed_batch_fails_every_check_in_it():
    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)  # nothing listens there
    batched = BatchedExists(window=0.01)
    outcomes = await asyncio.gather(
        *(batched.exists(broken, f"k{n}") for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, Exception) for outcome in outcomes)
    await broken.aclose()

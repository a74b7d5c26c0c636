"""An open stream re-checks its caller's access (core.live.follow's `guard`), whether events flow or not,
and ends with the guard's error once access is gone."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from subgraphs.core.live import AccessRevoked, LiveHub, StreamGuard, follow


async def test_a_quiet_stream_ends_when_access_is_revoked(settings):  # noqa: ANN001
    redis = Redis.from_url(settings.redis.url)
    hub = LiveHub(redis)
    stored = [{"seq": 1, "status": "RUNNING"}]
    revoked, checked_thrice = asyncio.Event(), asyncio.Event()
    checks = 0

    async def read_after(seq: int) -> list[dict]:
        return [m for m in stored if m["seq"] > seq]

    async def check() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:
            checked_thrice.set()
        if revoked.is_set():
            raise AccessRevoked()

    received: list[dict] = []

    async def subscriber() -> None:
        guard = StreamGuard(check=check, every=0.05)
        async for message in follow(hub, "guard-test", after=None, read_after=read_after, guard=guard):
            received.append(message)

    task = asyncio.create_task(subscriber())
    try:
        await asyncio.wait_for(checked_thrice.wait(), 5)  # re-checked again and again, nothing published
        assert not task.done()
        revoked.set()
        with pytest.raises(AccessRevoked):
            await asyncio.wait_for(task, 5)
        assert received == stored
    finally:
        task.cancel()
        await hub.close()
        await redis.aclose()


async def test_a_busy_stream_is_re_checked_too(settings):  # noqa: ANN001
    redis = Redis.from_url(settings.redis.url)
    hub = LiveHub(redis)
    checks = 0

    async def read_after(seq: int) -> list[dict]:
        return []

    async def check() -> None:
        nonlocal checks
        checks += 1
        if checks >= 3:
            raise AccessRevoked()

    async def subscriber() -> None:
        guard = StreamGuard(check=check, every=0.05)
        async for _message in follow(hub, "guard-busy", after=None, read_after=read_after, guard=guard):
            pass

    task = asyncio.create_task(subscriber())
    try:
        seq = 0
        while not task.done():  # events keep flowing: the stream still ends at the third check
            seq += 1
            await hub.publish("guard-busy", {"seq": seq})
            await asyncio.sleep(0.01)
            assert seq < 2000, "the guard was not re-checked while events flowed"
        with pytest.raises(AccessRevoked):
            await task
    finally:
        task.cancel()
        await hub.close()
        await redis.aclose()

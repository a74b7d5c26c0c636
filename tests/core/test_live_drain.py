"""A stopping subgraph ends its open streams with a retryable error (core.live.drain_all), and refuses new
ones, so the router never resubscribes by itself with a client's stale `after` (docs/reliability.md)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from subgraphs.core.errors import Unavailable
from subgraphs.core.live import LiveHub, follow


async def test_drain_ends_an_open_stream_with_unavailable_and_refuses_new_ones(settings):  # noqa: ANN001
    redis = Redis.from_url(settings.redis.url)
    hub = LiveHub(redis)
    stored = [{"seq": 1, "status": "RUNNING"}]

    async def read_after(seq: int) -> list[dict]:
        return [m for m in stored if m["seq"] > seq]

    received: list[dict] = []
    replayed = asyncio.Event()

    async def subscriber() -> None:
        async for message in follow(hub, "drain-test", after=None, read_after=read_after):
            received.append(message)
            replayed.set()

    task = asyncio.create_task(subscriber())
    try:
        await asyncio.wait_for(replayed.wait(), 5)
        # What drain_all does to every hub of a stopping process (not called here: it would drain the
        # hubs of the other apps this test process serves).
        hub.drain()
        with pytest.raises(Unavailable) as ended:
            await asyncio.wait_for(task, 5)
        assert ended.value.extensions == {"code": "UNAVAILABLE", "retryable": True}
        assert received == stored
        with pytest.raises(Unavailable):
            async with hub.listen("drain-test"):
                pass
    finally:
        task.cancel()
        await hub.close()
        await redis.aclose()

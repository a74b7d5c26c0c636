"""A live message stamps the id its channel is about for the router's response cache (response-cache.ts):
a subscriber told of a change that asks again is never answered from before it."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from subgraphs.core.events import CACHE_SEQUENCE_KEY, CACHE_STAMP_PREFIX
from subgraphs.core.live import LiveHub


async def test_a_live_message_stamps_its_channels_id_before_it_is_delivered(settings):  # noqa: ANN001
    redis = Redis.from_url(settings.redis.url)
    hub = LiveHub(redis)
    job = uuid.uuid4()
    try:
        async with hub.listen(f"generation:{job}") as queue:
            before = int(await redis.get(CACHE_SEQUENCE_KEY) or 0)
            await hub.publish(f"generation:{job}", {"seq": 1})
            await queue.get()
            stamp = await redis.get(CACHE_STAMP_PREFIX + str(job))  # set in the same MULTI as the message
        assert stamp is not None and int(stamp) == int(await redis.get(CACHE_SEQUENCE_KEY)) > before
        await hub.publish("not-about-one-thing", {"seq": 1})  # no id: nothing stamped, still published
        assert int(await redis.get(CACHE_SEQUENCE_KEY)) == int(stamp)
    finally:
        await hub.close()
        await redis.aclose()

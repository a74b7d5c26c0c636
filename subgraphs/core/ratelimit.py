"""Redis-backed sliding-window rate limits, shared by every replica.

Each call to `hit` counts one attempt (so alias-batched mutations count one by one). The window is a
sorted set of attempt timestamps, trimmed and counted atomically in one Lua script.
"""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis

from subgraphs.core.errors import RateLimited

_SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.ceil((tonumber(oldest[2]) + window - now) / 1000)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return 0
"""


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, bucket: str, *, limit: int, window_seconds: int) -> None:
        """Count one attempt in `bucket`; raise `RateLimited` (with retry-after) once `limit` is reached."""
        retry_after = await self._retry_after(bucket, limit, window_seconds)
        if retry_after > 0:
            raise RateLimited(retry_after)

    async def allow(self, bucket: str, *, limit: int, window_seconds: int) -> bool:
        """Like `hit`, for limits applied silently (an error would tell the caller something)."""
        return await self._retry_after(bucket, limit, window_seconds) == 0

    async def _retry_after(self, bucket: str, limit: int, window_seconds: int) -> int:
        now_ms = int(time.time() * 1000)
        retry_after = await self._script(
            keys=[f"ratelimit:{bucket}"],
            args=[now_ms, window_seconds * 1000, limit, f"{now_ms}-{uuid.uuid4().hex[:8]}"],
        )
        return int(retry_after)

    async def reset(self, bucket: str) -> None:
        await self._redis.delete(f"ratelimit:{bucket}")

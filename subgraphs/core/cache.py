"""A small JSON cache on Redis. Keys are namespaced; every entry has a TTL; writers invalidate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis


class Cache:
    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"cache:{namespace}:"

    async def get(self, key: str) -> Any | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, *, ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + key, orjson.dumps(value), ex=ttl_seconds)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + k for k in keys))

    async def get_or_set(self, key: str, *, ttl_seconds: int, compute: Callable[[], Awaitable[Any]]) -> Any:
        cached = await self.get(key)
        if cached is not None:
            return cached
        value = await compute()
        await self.set(key, value, ttl_seconds=ttl_seconds)
        return value

"""Redis-held state that is rebuilt from PostgreSQL when Redis lost it.

Redis may come back empty at any moment (a restart without persistence, a failover, a FLUSHALL). Each
piece of state kept there that others rely on (the membership projection, the revoked API clients, the
relay's view of what was published) has a MARKER key: present means "complete". Whoever owns the state
(a worker task, `RedisStateKeeper`) rebuilds it when the marker is missing and sets the marker last;
readers that must not decide on incomplete state check the marker in the same round trip as their read
and, without it, wait briefly for the rebuild (`wait_for_marker`) or refuse with a retryable error.

A rebuild that Redis loses again halfway must not set the marker: `begin_rebuild` stores a token,
`finish_rebuild` sets the marker only if that token survived (one Lua script, atomic).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from subgraphs.core.errors import Unavailable

log = logging.getLogger("coursegraph.redis_state")

__all__ = ["RebuildableState", "RedisStateKeeper", "Unavailable", "wait_for_marker"]

_FINISH = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


def connect(
    url: str, *, max_connections: int = 100, wait_seconds: float = 5.0, idle_check_seconds: float = 5.0
) -> Redis:
    """The platform's Redis client: survives Redis restarting. A pooled connection idle for
    `idle_check_seconds` is checked (PING) before use, and one that Redis closed meanwhile (it restarted)
    is replaced by a new connection before the command is sent, so the first requests after a restart do
    not fail on old connections. No command retry: redis-py's Retry re-issued a blocking read that a task
    cancellation had interrupted, so a cancelled worker loop read on (tests/core/test_events.py, the
    swallowed cancel); a client error while Redis is down is the typed, retryable UNAVAILABLE instead.

    At `max_connections` in use, a command WAITS up to `wait_seconds` for one instead of failing at once
    (redis-py's plain pool raises MaxConnectionsError): a burst — a thousand open subscriptions
    re-checking their access, many WebSocket handshakes at once — queues instead of ending streams."""
    from redis.asyncio import BlockingConnectionPool

    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_seconds,
        health_check_interval=idle_check_seconds,
    )
    pool.connection_class = _reconnecting(pool.connection_class)  # redis://, rediss:// or unix:// alike
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def _reconnecting(base: type[AbstractConnection]) -> type[AbstractConnection]:
    class Reconnecting(base):  # the connection class of the URL's scheme
        """Its idle check, when the connection is dead, connects again (once) instead of failing: the
        command itself was not sent yet, so nothing is re-issued."""

        async def on_connect_check_health(self, check_health: bool = True) -> None:
            # No idle check inside the handshake: its PING would read the reply of a handshake command
            # (redis-py does that when it reconnects a pooled connection that Redis closed).
            await super().on_connect_check_health(check_health=False)

        async def check_health(self) -> None:
            try:
                await super().check_health()
            except RedisConnectionError:
                # As redis-py connects a connection it finds closed; raises when Redis is still unreachable.
                await self.connect_check_health(check_health=False)

    return Reconnecting


def rebuilding_key(marker: str) -> str:
    """Where a rebuild of `marker`'s state keeps its token while it runs."""
    return marker + ":rebuilding"


async def begin_rebuild(redis: Redis, marker: str) -> str:
    token = uuid.uuid4().hex
    await redis.set(rebuilding_key(marker), token)
    return token


async def finish_rebuild(redis: Redis, marker: str, token: str) -> bool:
    """Set `marker` unless Redis lost the rebuild's token meanwhile (then the rebuild must run again)."""
    return bool(await redis.eval(_FINISH, 2, marker, rebuilding_key(marker), token))


async def wait_for_marker(redis: Redis, marker: str, *, timeout: float, interval: float = 0.05) -> None:
    """Return once `marker` exists; raise `Unavailable` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await redis.exists(marker):
        if time.monotonic() >= deadline:
            raise Unavailable()
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class RebuildableState:
    """One piece of Redis state: its marker and how to rebuild it from PostgreSQL (returns a count)."""

    name: str
    marker: str
    rebuild: Callable[[], Awaitable[int]]


class RedisStateKeeper:
    """A worker task: checks each state's marker every `interval` seconds and rebuilds what is missing."""

    def __init__(self, redis: Redis, states: list[RebuildableState], *, interval: float = 0.25) -> None:
        self.redis = redis
        self.states = states
        self._interval = interval

    async def ensure(self) -> list[str]:
        """Rebuild every state whose marker is missing; returns the names of those rebuilt completely."""
        rebuilt = []
        for state in self.states:
            if await self.redis.exists(state.marker):
                continue
            started = time.monotonic()
            token = await begin_rebuild(self.redis, state.marker)
            count = await state.rebuild()
            if await finish_rebuild(self.redis, state.marker, token):
                log.warning(
                    "redis state %s was missing (Redis restarted or flushed): rebuilt %d entries in %.2f s",
                    state.name,
                    count,
                    time.monotonic() - started,
                )
                rebuilt.append(state.name)
        return rebuilt

    async def run(self, stop: asyncio.Event) -> None:
        from subgraphs.core.events import keep_running

        while keep_running(stop):
            try:
                await self.ensure()
            except Exception:  # Redis or PostgreSQL unreachable: try again next round
                log.exception("redis state check failed; retrying")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._interval)
            except TimeoutError:
                pass

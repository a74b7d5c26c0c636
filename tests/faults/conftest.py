"""Fault tests: real servers that the test owns (never the shared PostgreSQL/Redis), real failures."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from subgraphs.core.embedded import EmbeddedRedis
from tests.services import free_port


class OwnRedis:
    """A redis-server of this test only: it may be flushed, killed, and restarted empty."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedRedis(data_dir, port=free_port())
        self.url = self.server.start()

    def client(self) -> Redis:
        return Redis.from_url(self.url)

    def restart_empty(self) -> None:
        """What a restart without persistence (or a failover to an empty replica) does."""
        self.server.stop()
        shutil.rmtree(self.server.redis_dir, ignore_errors=True)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    server = OwnRedis(tmp_path / "own-redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
async def fault_redis(tmp_path_factory) -> AsyncIterator[OwnRedis]:  # noqa: ANN001
    server = OwnRedis(tmp_path_factory.mktemp("fault-platform-redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
async def fault_platform(database: None, fake_anthropic, fault_redis: OwnRedis):  # noqa: ANN001, ANN201
    """The whole platform as processes (every subgraph, the worker, the router) on a Redis of its own, for
    the fault tests only: they kill and restart its processes and flush or restart its Redis."""
    from tests.platform import running_platform

    env = {
        "REDIS_URL": fault_redis.url,
        # A generation job whose worker died is requeued once its lease expires: keep that short here.
        "COURSEGRAPH_GENERATOR__LEASE_SECONDS": "5",
        # So is an export job's (its steps renew it), and a lab start whose worker died fails this soon.
        "COURSEGRAPH_CONTENT__EXPORT_LEASE_SECONDS": "5",
        "COURSEGRAPH_LABS__START_TIMEOUT_SECONDS": "15",
    }
    async with running_platform(fake_anthropic.url, extra_env=env) as platform:
        await _redis_state_rebuilt(fault_redis)
        yield platform


async def _redis_state_rebuilt(redis_server: OwnRedis) -> None:
    """The platform starts on an empty Redis: its worker rebuilds the Redis-held state from PostgreSQL,
    which holds everything the run made so far (minutes' worth under load). The fault tests start once it
    has, so a fault is what they measure."""
    from subgraphs.core.auth import REVOKED_CLIENTS_MARKER
    from subgraphs.core.rbac import MEMBERSHIPS_MARKER
    from tests.waiting import eventually

    client = redis_server.client()
    try:

        async def rebuilt() -> bool:
            return await client.exists(MEMBERSHIPS_MARKER, REVOKED_CLIENTS_MARKER) == 2

        await eventually(rebuilt, timeout=300, interval=0.5, what="the Redis-held state rebuilt")
    finally:
        await client.aclose()

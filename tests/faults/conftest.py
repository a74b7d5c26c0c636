"""Fault tests: real servers that the test owns (never the shared PostgreSQL/Redis), real failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform import OwnRedis, OwnServices, own_services


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    server = OwnRedis(tmp_path / "own-redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
async def fault_services(database: None, tmp_path_factory) -> AsyncIterator[OwnServices]:  # noqa: ANN001
    async with own_services("faults", tmp_path_factory.mktemp("fault-platform-redis")) as services:
        yield services


@pytest.fixture(scope="package")
def fault_redis(fault_services: OwnServices) -> OwnRedis:
    return fault_services.redis


@pytest.fixture(scope="package")
async def fault_runtime(fault_services: OwnServices) -> AsyncIterator[Any]:
    """A runtime on the fault platform's database and Redis, to look at what the platform did."""
    async with fault_services.runtime() as runtime:
        yield runtime


@pytest.fixture(scope="package")
async def fault_platform(fault_services: OwnServices, fake_anthropic):  # noqa: ANN001, ANN201
    """The whole platform as processes (every subgraph, the worker, the router) on a database and a Redis
    of its own, for the fault tests only: they kill and restart its processes and flush or restart its
    Redis."""
    from tests.platform import running_platform

    env = {
        # A generation job whose worker died is requeued once its lease expires: keep that short here.
        "COURSEGRAPH_GENERATOR__LEASE_SECONDS": "5",
        # So is an export job's (its steps renew it), and a lab start whose worker died fails this soon.
        "COURSEGRAPH_CONTENT__EXPORT_LEASE_SECONDS": "5",
        "COURSEGRAPH_LABS__START_TIMEOUT_SECONDS": "15",
    }
    async with running_platform(fake_anthropic.url, services=fault_services, extra_env=env) as platform:
        yield platform

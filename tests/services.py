"""Which PostgreSQL and Redis the tests use: the ones on 127.0.0.1 when they answer, else embedded ones.

In CI (CI=true) the local services must be there: a missing one fails the run instead of silently
falling back or skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# Each test run gets its own PostgreSQL database and Redis db, so parallel runs never meet.
TEST_DB_PREFIX = "coursegraph_test_"
RUN_ID = uuid.uuid4().hex[:10]
# The creation time is in the name: a crashed run's database is dropped by a later run once it is old.
TEST_DB = f"{TEST_DB_PREFIX}{int(time.time())}_{RUN_ID}"
STALE_AFTER_SECONDS = 6 * 3600
REDIS_CLAIM_KEY = "coursegraph:test-run"
REDIS_CLAIM_SECONDS = 6 * 3600


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any, **config: Any) -> AsyncIterator[int]:
    """`app` served by a real uvicorn in this event loop on a free port (yielded) until the block ends."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def resolve_services(data_dir: Path) -> tuple[str, str, list]:
    """(admin database URL, redis URL, embedded servers to stop at the end)."""
    started: list = []
    if port_open(5432):
        pg_admin = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    elif in_ci():
        raise RuntimeError("CI: PostgreSQL is not answering on 127.0.0.1:5432")
    else:
        from subgraphs.tooling.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(data_dir / "postgres")
        pg_admin = server.start()
        started.append(server)
    if port_open(6379):
        redis_url = claim_redis_db("redis://127.0.0.1:6379")
    elif in_ci():
        raise RuntimeError("CI: Redis is not answering on 127.0.0.1:6379")
    else:
        from subgraphs.tooling.embedded import EmbeddedRedis

        server = EmbeddedRedis(data_dir / "redis")
        redis_url = claim_redis_db(server.start().rsplit("/", 1)[0])
        started.append(server)
    return pg_admin, redis_url, started


def claim_redis_db(base_url: str) -> str:
    """The first Redis db (1-15) no other live run holds; claimed with an expiring marker, emptied."""
    import redis

    for db in range(1, 16):
        client = redis.Redis.from_url(f"{base_url}/{db}")
        try:
            if client.set(REDIS_CLAIM_KEY, RUN_ID, nx=True, ex=REDIS_CLAIM_SECONDS):
                for key in client.scan_iter(count=1000):
                    if key != REDIS_CLAIM_KEY.encode():
                        client.delete(key)
                return f"{base_url}/{db}"
        finally:
            client.close()
    raise RuntimeError("every Redis db 1-15 is claimed by another test run")


def release_redis_db(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        if client.get(REDIS_CLAIM_KEY) == RUN_ID.encode():
            client.flushdb()
    finally:
        client.close()

"""Which PostgreSQL and Redis the tests use: the ones on 127.0.0.1 when they answer, else embedded ones.

In CI (CI=true) the local services must be there: a missing one fails the run instead of silently
falling back or skipping.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

TEST_DB = "coursegraph_test"
TEST_REDIS_DB = 9


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


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
        from subgraphs.core.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(data_dir / "postgres")
        pg_admin = server.start()
        started.append(server)
    if port_open(6379):
        redis_url = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
    elif in_ci():
        raise RuntimeError("CI: Redis is not answering on 127.0.0.1:6379")
    else:
        from subgraphs.core.embedded import EmbeddedRedis

        server = EmbeddedRedis(data_dir / "redis")
        redis_url = server.start().rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}"
        started.append(server)
    return pg_admin, redis_url, started

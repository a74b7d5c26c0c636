"""Real embedded PostgreSQL and Redis servers (no mocks): data survives a restart, nothing is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from subgraphs.tooling.embedded import EmbeddedPostgres, EmbeddedRedis

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:  # a zombie is dead, merely not yet reaped by whoever inherited it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_until_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after {timeout}s"
        time.sleep(0.02)


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_postgres_keeps_data_across_restart(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "data", port=free_port())
    try:
        url = pg.start()
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/coursegraph"
        assert pg.start() == url  # idempotent while running
        conn = await asyncpg.connect(dsn(url))
        try:
            await conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
            await conn.execute("INSERT INTO notes VALUES (1, 'kept')")
            assert await conn.fetchval("SELECT current_setting('server_version_num')::int") >= 180000
        finally:
            await conn.close()
        pid = pg.pid
        assert pid is not None
        pg.stop()
        assert pg.pid is None
        wait_until_gone(pid)

        assert pg.start() == url
        conn = await asyncpg.connect(dsn(url))
        try:
            assert await conn.fetchval("SELECT body FROM notes WHERE id = 1") == "kept"
        finally:
            await conn.close()
    finally:
        pg.stop()


async def test_postgres_takes_over_a_server_left_running(tmp_path: Path) -> None:
    port = free_port()
    first = EmbeddedPostgres(tmp_path / "data", port=port)
    second = EmbeddedPostgres(tmp_path / "data", port=port)
    try:
        first.start()
        leftover = first.pid
        assert leftover is not None
        url = second.start()  # finds the live postmaster via postmaster.pid, shuts it down, starts anew
        wait_until_gone(leftover)
        conn = await asyncpg.connect(dsn(url))
        await conn.close()
    finally:
        second.stop()
        first.stop()


async def test_redis_keeps_data_across_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data", port=free_port())
    try:
        url = server.start()
        assert url == f"redis://127.0.0.1:{server.port}/0"
        client = aioredis.from_url(url)
        await client.set("greeting", "hello")
        await client.aclose()
        pid = server.pid
        assert pid is not None
        server.stop()
        wait_until_gone(pid)
        assert (tmp_path / "data" / "redis" / "appendonly.aof").stat().st_size > 0

        client = aioredis.from_url(server.start())
        assert await client.get("greeting") == b"hello"
        await client.aclose()
    finally:
        server.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.parametrize("kind", ["EmbeddedPostgres", "EmbeddedRedis"])
def test_servers_die_with_their_parent(tmp_path: Path, kind: str) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from subgraphs.tooling.embedded import {kind}
        server = {kind}(Path(sys.argv[1]), port={free_port()})
        server.start()
        print(server.pid, flush=True)
        time.sleep(600)  # until the test SIGKILLs us
    """)
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = parent.stdout.readline()  # type: ignore[union-attr]
        assert line.strip(), f"parent produced no pid (exit {parent.poll()})"
        server_pid = int(line)
        assert pid_alive(server_pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    wait_until_gone(server_pid)

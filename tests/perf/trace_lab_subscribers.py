"""Where the labs subgraph's memory per subscriber goes (tracemalloc), without the router.

    uv run python tests/perf/trace_lab_subscribers.py [--subscribers 300] [--top 25]

Self-contained: a fresh database, one RUNNING lab session, the labs subgraph's ASGI app served by uvicorn
in THIS process (as `coursegraph serve labs` runs it). A child process opens `--subscribers` WebSocket
connections straight to the subgraph (graphql-transport-ws, one `labSessionEvents` subscription each, as
the router does). Prints the RSS growth and the Python allocations (tracemalloc) per subscriber, and the
source lines that hold the most of them. For reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, free_port, release_redis_db, resolve_services  # noqa: E402

EVENTS = """subscription($id: ID!, $after: Int) {
  labSessionEvents(sessionId: $id, after: $after) { seq status message } }"""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def clients(url: str, token: str, session_id: str, count: int) -> None:
    """The child process: `count` subscribers that hold their subscription until stdin closes."""
    import websockets

    async def one() -> websockets.ClientConnection:
        ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[arg-type]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": EVENTS, "variables": {"id": session_id, "after": 0}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "next"
        return ws

    sockets = []
    for start in range(0, count, 50):
        sockets += await asyncio.gather(*(one() for _ in range(min(50, count - start))))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for ws in sockets:
        await ws.close()


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="coursegraph-trace-"))
    pg_admin, redis_url, embedded = resolve_services(tmp)
    os.environ.update(
        {
            "COURSEGRAPH_ENVIRONMENT": "test",
            "DATABASE_URL": pg_admin.rsplit("/", 1)[0] + f"/{TEST_DB}",
            "REDIS_URL": redis_url,
            "COURSEGRAPH_DATA_DIR": str(tmp),
            "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": str(tmp / "keys" / "signing-keys.json"),
            "COURSEGRAPH_MAIL__DIRECTORY": str(tmp / "mail"),
            "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "100000000",
            "COURSEGRAPH_LABS__RUNTIME": "process",
            "COURSEGRAPH_LABS__WORKSPACE_DIR": str(tmp / "labs"),
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


async def run(args: argparse.Namespace) -> None:
    import uvicorn

    from subgraphs.core.db import utcnow
    from subgraphs.core.live import append_stream_event
    from subgraphs.core.settings import get_settings
    from subgraphs.core.ws_protocol import SubgraphWebSockets
    from subgraphs.labs.app import create_app
    from subgraphs.labs.models import LabEvent, LabSession
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.keys import SigningKeys
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    port = free_port()
    # --ws: the subgraphs' protocol (websockets-sansio without compression on /graphql), or one of uvicorn's
    # others for comparison, also without compression.
    ws: Any = SubgraphWebSockets if args.ws == "subgraph" else args.ws
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, ws=ws, ws_per_message_deflate=False, log_level="warning"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - a benchmark's start-up
        await asyncio.sleep(0.05)
    runtime = app.state.runtime
    watcher = await Minter(settings, runtime).user("site_admin")
    sid = uuid.uuid4()
    now = utcnow()
    async with runtime.transaction() as session:
        session.add(
            LabSession(
                id=sid,
                user_id=uuid.UUID(watcher.id),
                organization_id=uuid.uuid4(),
                exercise_id=uuid.uuid4(),
                course_id=uuid.uuid4(),
                template_id=uuid.uuid4(),
                ide="VSCODE",
                status="RUNNING",
                workspace_key=f"trace-{sid.hex[:8]}",
                image="coursegraph/lab-vscode:1",
                cpus=1.0,
                memory_bytes=1024**3,
                pids=64,
                created_at=now,
                status_changed_at=now,
                last_activity_at=now,
                running_seconds_unreported=0.0,
            )
        )
        await session.flush()
        await append_stream_event(
            session, LabEvent, sid, {"status": "RUNNING", "progress": 100, "message": "ok"}
        )

    async def subscribers(count: int) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            f"ws://127.0.0.1:{port}/graphql",
            watcher.token,
            str(sid),
            str(count),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        assert (await child.stdout.readline()).strip() == b"ready"
        return child

    async def stop(child: asyncio.subprocess.Process) -> None:
        assert child.stdin is not None
        child.stdin.close()
        await child.wait()

    await stop(await subscribers(20))  # warm-up: caches, first-use imports, the hub's reader
    await asyncio.sleep(1)
    gc.collect()
    types_before = _types() if args.types else None
    tracemalloc.start(args.frames)
    before, rss_before = tracemalloc.take_snapshot(), rss_kib()
    started = time.perf_counter()
    child = await subscribers(args.subscribers)
    opened = time.perf_counter() - started
    await asyncio.sleep(1)
    gc.collect()
    after, rss_after = tracemalloc.take_snapshot(), rss_kib()
    types_after = _types() if args.types else None
    await stop(child)
    server.should_exit = True
    await serving

    n = args.subscribers
    stats = after.compare_to(before, "traceback" if args.frames > 1 else "lineno")
    traced = sum(s.size_diff for s in stats)
    print(f"{n} subscribers straight to the labs subgraph, subscribed in {opened:.1f} s")
    print(
        f"per subscriber: RSS {(rss_after - rss_before) / n:6.1f} KiB (tracemalloc itself included), "
        f"Python allocations {traced / n / 1024:6.1f} KiB"
    )
    print(f"top {args.top} sources (bytes per subscriber, blocks per subscriber):")
    for stat in stats[: args.top]:
        where = stat.traceback.format()[-1 if args.frames == 1 else 0].strip()
        if args.frames > 1:
            where = " <- ".join(line.strip() for line in stat.traceback.format()[::2][:4])
        print(f"  {stat.size_diff / n:8.0f} B {stat.count_diff / n:6.1f}  {where}")
    if types_before is not None and types_after is not None:
        print(f"objects gc tracks, by type (own size and count per subscriber, top {args.top}):")
        grown = {
            name: (count - types_before.get(name, (0, 0))[0], size - types_before.get(name, (0, 0))[1])
            for name, (count, size) in types_after.items()
        }
        for name, (count, size) in sorted(grown.items(), key=lambda kv: -kv[1][1])[: args.top]:
            print(f"  {size / n:8.0f} B {count / n:6.1f}  {name}")


def _types() -> dict[str, tuple[int, int]]:
    """(count, total sys.getsizeof) of the objects gc tracks, by qualified type name."""
    gc.collect()
    found: dict[str, tuple[int, int]] = {}
    for obj in gc.get_objects():
        kind = type(obj)
        name = f"{kind.__module__}.{kind.__qualname__}"
        count, size = found.get(name, (0, 0))
        found[name] = (count + 1, size + sys.getsizeof(obj))
    return found


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(clients(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--frames", type=int, default=1, help="traceback depth (1: group by line)")
    parser.add_argument("--types", action="store_true", help="also the objects gc tracks, by type")
    parser.add_argument(
        "--ws", default="subgraph", choices=["subgraph", "websockets", "websockets-sansio", "wsproto"]
    )
    asyncio.run(main(parser.parse_args()))

"""Benchmark: many live followers of lab events through the router.

    uv run python tests/perf/bench_lab_fanout.py [--subscribers 1000] [--sessions 10] [--rate 20]
        [--seconds 10] [--callers 1]

Self-contained: a fresh database; every subgraph and the real Hive Gateway router as processes (as the e2e
tests run them); `--sessions` RUNNING lab sessions. `--subscribers` WebSocket clients (graphql-transport-ws,
one connection each, spread evenly over the sessions and over `--callers` tokens) subscribe to
`labSessionEvents` through the router.
Then events are appended to the sessions' streams and published (as the worker does: row in PostgreSQL,
then Redis pub/sub) at `--rate` events per second in total, round robin, for `--seconds`. Prints the
delivery latency (publish → a client has the event) p50/p99/max over every delivery, how many deliveries
arrived, the CPU time the labs subgraph and the router spent per delivery (publishing until the last
delivery) and the resident memory they added per subscriber. Not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, free_port, release_redis_db, resolve_services  # noqa: E402

EVENTS = """subscription($id: ID!, $after: Int) {
  labSessionEvents(sessionId: $id, after: $after) { seq status message } }"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (the router may fork)."""
    total = rss_kib(pid)
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    total += rss_kib(int(child.name))
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (neighbours on the machine change it little)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="coursegraph-bench-"))
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
    import websockets

    from subgraphs.core.db import utcnow
    from subgraphs.core.domains import DOMAINS
    from subgraphs.core.live import append_stream_event
    from subgraphs.core.settings import get_settings
    from subgraphs.labs import transitions
    from subgraphs.labs.models import LabEvent, LabSession
    from subgraphs.organizations.app import create_app as create_organizations
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.tooling.paths import ROUTER_DIR
    from subgraphs.tooling.router import router_argv, router_env
    from subgraphs.tooling.supervisor import ProcessSpec, supervised
    from subgraphs.users.keys import SigningKeys
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    orgs_app = create_organizations(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with orgs_app.router.lifespan_context(orgs_app):
        runtime = orgs_app.state.runtime
        minter = Minter(settings, runtime)
        watcher = await minter.user("site_admin")
        # The router shares one upstream connection among one caller's subscriptions: `--callers` tokens
        # (site admins, who may follow any lab), subscriber n uses token n % callers.
        tokens = [watcher.token] + [(await minter.user("site_admin")).token for _ in range(args.callers - 1)]
        now = utcnow()
        session_ids = [uuid.uuid4() for _ in range(args.sessions)]
        async with runtime.transaction() as session:
            for sid in session_ids:
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
                        workspace_key=f"bench-{sid.hex[:8]}",
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
                    session, LabEvent, sid, {"status": "RUNNING", "progress": 100, "message": "ready"}
                )

        ports = {domain: free_port() for domain in DOMAINS}
        urls = {domain: f"http://127.0.0.1:{port}" for domain, port in ports.items()}
        env = {
            k: v for k, v in os.environ.items() if k.startswith(("COURSEGRAPH_", "DATABASE_URL", "REDIS_URL"))
        }
        env["COURSEGRAPH_AUTH__JWKS_URL"] = f"{urls['users']}/.well-known/jwks.json"
        python = sys.executable
        specs = [
            ProcessSpec(
                name=d,
                argv=[python, "-m", "subgraphs.tooling.cli", "serve", d, "--port", str(ports[d])],
                env=env,
                ready_url=f"{urls[d]}/ready",
            )
            for d in DOMAINS
        ]
        router_port = free_port()
        gateway_env = {
            **env,
            **router_env(settings),
            "CG_PORT": str(router_port),
            "CG_JWKS_URL": env["COURSEGRAPH_AUTH__JWKS_URL"],
            "CG_SUBGRAPH_URLS": json.dumps({d: f"{u}/graphql" for d, u in urls.items()}),
        }
        router = ProcessSpec(
            name="router",
            argv=router_argv(),
            env=gateway_env,
            cwd=ROUTER_DIR,
            ready_url=f"http://127.0.0.1:{router_port}/readiness",
            ready_timeout=90,
        )
        sink = io.StringIO()  # the processes' output is not the benchmark's
        async with supervised(specs, output=sink) as supervisor:
            await supervisor.start(router)
            labs_pid, router_pid = supervisor.pid("labs"), supervisor.pid("router")
            ws_url = f"ws://127.0.0.1:{router_port}/graphql"
            sent: dict[tuple[str, int], float] = {}
            latencies: list[float] = []
            received = 0
            ended: collections.Counter[str] = collections.Counter()  # streams that ended early, by message

            async def subscriber(n: int, ready: asyncio.Event) -> None:
                try:
                    await follow(n, ready)
                except Exception as exc:  # counted below; the others go on
                    ended[f"failed: {exc!r}"[:300]] += 1
                finally:
                    ready.set()  # a subscriber that failed to subscribe must not hang the benchmark

            async def follow(n: int, ready: asyncio.Event) -> None:
                nonlocal received
                sid = str(session_ids[n % len(session_ids)])
                async with websockets.connect(
                    ws_url, subprotocols=["graphql-transport-ws"], max_queue=None
                ) as ws:
                    await ws.send(
                        json.dumps(
                            {
                                "type": "connection_init",
                                "payload": {"Authorization": f"Bearer {tokens[n % len(tokens)]}"},
                            }
                        )
                    )
                    assert json.loads(await ws.recv())["type"] == "connection_ack"
                    payload = {"query": EVENTS, "variables": {"id": sid, "after": 0}}
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                    first = json.loads(await asyncio.wait_for(ws.recv(), 60))  # the replayed "ready"
                    assert first["type"] == "next", first
                    ready.set()
                    async for raw in ws:
                        at = time.perf_counter()
                        message = json.loads(raw)
                        if message["type"] != "next" or message["payload"].get("errors"):
                            ended[json.dumps(message)[:300]] += 1
                            return
                        event = message["payload"]["data"]["labSessionEvents"]
                        start = sent.get((sid, event["seq"]))
                        if start is not None:
                            latencies.append(at - start)
                            received += 1

            base_labs, base_router = tree_rss_kib(labs_pid), tree_rss_kib(router_pid)
            readies = [asyncio.Event() for _ in range(args.subscribers)]
            tasks = []
            opened = time.perf_counter()
            for n in range(args.subscribers):
                tasks.append(asyncio.create_task(subscriber(n, readies[n])))
                if n % 50 == 49:
                    await asyncio.gather(*(r.wait() for r in readies[n - 49 : n + 1]))
            await asyncio.gather(*(r.wait() for r in readies))
            opened = time.perf_counter() - opened
            await asyncio.sleep(1)
            labs_kib, router_kib = tree_rss_kib(labs_pid) - base_labs, tree_rss_kib(router_pid) - base_router

            cpu_before = {
                name: cpu_seconds(pid) for name, pid in (("labs", labs_pid), ("router", router_pid))
            }
            # Publish as the worker does: a stored row, then Redis pub/sub; at a fixed total rate.
            interval = 1.0 / args.rate
            total = int(args.rate * args.seconds)
            next_at = time.perf_counter()
            for i in range(total):
                sid = session_ids[i % len(session_ids)]
                async with runtime.transaction() as session:
                    row = await append_stream_event(
                        session, LabEvent, sid, {"status": "RUNNING", "progress": 100, "message": f"tick {i}"}
                    )
                    message = row.as_message()
                sent[(str(sid), message["seq"])] = time.perf_counter()
                await runtime.live.publish(transitions.channel(sid), message)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            expected = total * (args.subscribers // args.sessions)
            deadline = time.perf_counter() + 30
            while received < expected and time.perf_counter() < deadline:  # noqa: ASYNC110 - bounded poll
                await asyncio.sleep(0.1)
            cpu = {
                name: cpu_seconds(pid) - cpu_before[name]
                for name, pid in (("labs", labs_pid), ("router", router_pid))
            }
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, Exception):
                    ended[repr(outcome)[:300]] += 1

    ms = sorted(v * 1000 for v in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print(
        f"{args.subscribers} subscribers ({args.callers} callers) over {args.sessions} sessions, router; "
        f"{total} events at {args.rate}/s for {args.seconds} s; subscribed in {opened:.1f} s"
    )
    print(f"deliveries: {received} of {expected} expected")
    for message, count in ended.most_common(5):
        print(f"streams ended early: {count} x {message}")
    if ms:
        p50 = statistics.median(ms)
        print(f"delivery latency  p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   max {ms[-1]:8.1f} ms")
    per = max(received, 1) / 1e6
    print(
        f"CPU per delivery: labs subgraph {cpu['labs'] / per:6.0f} µs, router {cpu['router'] / per:6.0f} µs"
    )
    print(
        f"memory per subscriber: labs subgraph {labs_kib / args.subscribers:6.1f} KiB, "
        f"router {router_kib / args.subscribers:6.1f} KiB (RSS growth / subscribers)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=1, help="distinct tokens among the subscribers")
    asyncio.run(main(parser.parse_args()))

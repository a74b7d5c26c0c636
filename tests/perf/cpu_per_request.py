"""CPU time per dashboard request, per process: the figure a shared machine disturbs least.

Requests/s and latency on a busy machine depend on what the neighbours do; the CPU milliseconds each
process spends per request much less so. Sends `--requests` dashboard queries at `--clients` concurrency to
`--url` (the router, or the floor of tests/perf/dashboard_floor.py) as `--students` scale students, and
reads each given process's CPU time (user + system, children included) from /proc before and after:

    uv run python tests/perf/cpu_per_request.py --router http://127.0.0.1:4000 \\
        --pid router=$(pgrep -f 'hive-gateway supergraph' | head -1) \\
        --pid courses=$(pgrep -f 'serve courses' | head -1) --pid quizzes=... --pid users=...

PostgreSQL backends of the database in DATABASE_URL are summed as `postgres` (connections that close
during the run are missed). Figures are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import httpx

from tests.perf.bench_dashboard import DASHBOARD, LOGIN

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and its waited-for children (uvicorn workers, forks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS + sum(
        cpu_seconds(int(child)) for child in _children(pid)
    )


def _children(pid: int) -> list[str]:
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            children += path.read_text().split()
    return children


def postgres_seconds(database: str) -> float:
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if command.startswith("postgres:") and f" {database} " in command:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICKS
        except OSError:
            continue  # ended meanwhile
    return total


def snapshot(pids: dict[str, int], database: str) -> dict[str, float]:
    return {**{name: cpu_seconds(pid) for name, pid in pids.items()}, "postgres": postgres_seconds(database)}


async def main() -> None:
    from subgraphs.core.seeding import DEMO_PASSWORD, SCALE_STUDENT_EMAIL
    from subgraphs.core.settings import get_settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="http://127.0.0.1:4000", help="where students sign in")
    parser.add_argument("--url", help="what is measured (default: the router's /graphql)")
    parser.add_argument("--pid", action="append", default=[], help="name=PID, repeated")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--students", type=int, default=10)
    args = parser.parse_args()
    url = args.url or f"{args.router}/graphql"
    pids = {name: int(pid) for name, pid in (p.split("=", 1) for p in args.pid)}
    database = get_settings().database.url.rsplit("/", 1)[-1].split("?")[0]
    async with httpx.AsyncClient(base_url=args.router, timeout=60) as http:
        headers = []
        for n in range(args.students):
            body = {"input": {"email": SCALE_STUDENT_EMAIL.format(n), "password": DEMO_PASSWORD}}
            answer = await http.post("/graphql", json={"query": LOGIN, "variables": body})
            headers.append({"Authorization": f"Bearer {answer.json()['data']['login']['accessToken']}"})
    limits = httpx.Limits(max_connections=args.clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        for h in headers:  # warm up: first requests of a token, connections
            await http.post(url, json={"query": DASHBOARD}, headers=h)
        queue = iter(range(args.requests))

        async def client(n: int) -> None:
            for _ in queue:
                response = await http.post(url, json={"query": DASHBOARD}, headers=headers[n % len(headers)])
                assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]

        before, started = snapshot(pids, database), time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(args.clients)))
        wall, after = time.perf_counter() - started, snapshot(pids, database)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{url}: {args.requests / wall:.1f} req/s at {args.clients} clients  (load {load})")
    for name in after:
        print(f"  {name:10} {1000 * (after[name] - before[name]) / args.requests:7.2f} CPU ms/request")


if __name__ == "__main__":
    asyncio.run(main())

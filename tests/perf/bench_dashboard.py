"""Benchmark: the student dashboard through the router and directly against the subgraphs.

The dashboard is one query: me -> enrollments -> course -> instructor (users), modules -> lessons,
exercises (courses), quizzes -> my attempts (quizzes). Run it against a live platform holding the scale
data, with the per-principal API rate limit raised (100/min by default would trip at once) and the
per-IP login limit raised (one login per simulated student):

    export COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL=100000000 COURSEGRAPH_RATE_LIMITS__LOGIN_PER_IP=100000
    uv run coursegraph seed --scale        # 200 courses, 2,000 students, 20,000 enrollments, 50,000 attempts
    make run                               # in another terminal (same environment)
    uv run python tests/perf/bench_dashboard.py [--duration 15] [--clients 10 50] [--students 50]

With `COURSEGRAPH_ROUTER__RESPONSE_CACHE_TTL_MS=5000` in that environment the router answers repeated
queries of a token from its per-caller cache (router/response-cache.ts); docs/performance.md has the
figures with and without it.

For each of 10 and 50 concurrent clients and a fixed duration it prints requests/s and p50/p95/p99
latency (with the machine's load average) of: the dashboard through the router; the courses subgraph's
part straight to it (`_entities` of the User with enrollments, courses, modules, lessons, exercises); the
quizzes subgraph's part straight to it (`_entities` of the student's courses with quizzes and my
attempts); and the floor (tests/perf/dashboard_floor.py: the same JSON from one SQL statement in a bare
ASGI app, one uvicorn process, JWT verified), which this script starts itself with the same environment.
Every student's answer from the floor is compared with the router's and must be equal. Last, the
router / floor ratio of requests/s per client count. It also prints the SQL statements
one request executes on each subgraph, counted in-process on that subgraph's engine (the same app, same
database) — they must not depend on the number of enrollments (tests/subgraphs/courses/test_entities.py
asserts it). Figures are for reading; nothing is asserted here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  ... on LoginSuccess { accessToken user { id } } ... on Error { code } } }"""
DASHBOARD = """{ me { fullName enrollments(first: 20) { edges { node { status progressPercent
  course { id title instructor { fullName }
    modules { nodes { title lessons { nodes { title completed } } } } exercises { nodes { title } }
    quizzes { nodes { title myAttempts { nodes { score maxScore passed } } } } } } } } } }"""
COURSES_PART = """query($r: [_Any!]!) { _entities(representations: $r) { ... on User {
  enrollments(first: 20) { edges { node { status progressPercent course { id title instructor { id }
    modules { nodes { title lessons { nodes { title completed } } } }
    exercises { nodes { title } } } } } } } } }"""
QUIZZES_PART = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Course {
  quizzes { nodes { title myAttempts { nodes { score maxScore passed } } } } } } }"""


class Scenario:
    def __init__(self, name: str, url: str, bodies: list[tuple[dict, dict]]) -> None:
        self.name, self.url, self.bodies = name, url, bodies  # one (json, headers) per simulated student


def load_average() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


@asynccontextmanager
async def floor_server() -> AsyncIterator[str]:
    """tests/perf/dashboard_floor.py in one uvicorn process on a free port; yields its /graphql URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "uvicorn", "tests.perf.dashboard_floor:app", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    process = await asyncio.create_subprocess_exec(*argv, cwd=Path(__file__).resolve().parents[2])
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.post(url)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        await process.wait()


async def measure(scenario: Scenario, clients: int, duration: float) -> tuple[float, str]:
    latencies: list[float] = []
    errors = 0
    first_error = ""
    deadline = time.perf_counter() + duration
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:

        async def client(n: int) -> None:
            nonlocal errors, first_error
            body, headers = scenario.bodies[n % len(scenario.bodies)]
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.post(scenario.url, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or response.json().get("errors"):
                    errors += 1
                    first_error = first_error or f"{response.status_code} {response.text[:300]}"

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        wall = time.perf_counter() - started
    q = [v * 1000 for v in statistics.quantiles(latencies, n=100)]
    rate = len(latencies) / wall
    return rate, (
        f"{scenario.name:28} clients={clients:3}  {rate:7.1f} req/s  p50={q[49]:7.1f} ms  "
        f"p95={q[94]:7.1f} ms  p99={q[98]:7.1f} ms  n={len(latencies)} errors={errors}  ({load_average()})"
        + (f"\n    first error: {first_error}" if first_error else "")
    )


async def statements_per_request(token: str, user_id: str, course_ids: list[str]) -> dict[str, int]:
    """Run each subgraph's part once in-process and count the SQL statements its engine executes."""
    from sqlalchemy import event

    from subgraphs.core.settings import get_settings
    from subgraphs.courses.app import create_app as courses_app
    from subgraphs.quizzes.app import create_app as quizzes_app

    settings = get_settings()
    counts = {}
    for name, factory, query, reps in (
        ("courses", courses_app, COURSES_PART, [{"__typename": "User", "id": user_id}]),
        ("quizzes", quizzes_app, QUIZZES_PART, [{"__typename": "Course", "id": c} for c in course_ids]),
    ):
        app = factory(settings)  # verifies tokens with the running platform's JWKS
        async with app.router.lifespan_context(app):
            statements: list[str] = []

            def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                statements.append(statement)  # noqa: B023 - used within this iteration only

            engine = app.state.runtime.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            try:
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50999))
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                    response = await http.post(
                        "/graphql",
                        json={"query": query, "variables": {"r": reps}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert response.status_code == 200 and "errors" not in response.json(), response.text[
                        :300
                    ]
            finally:
                event.remove(engine, "before_cursor_execute", count)
            counts[name] = len(statements)
    return counts


async def main() -> None:
    from subgraphs.core.seeding import DEMO_PASSWORD, SCALE_STUDENT_EMAIL

    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="http://127.0.0.1:4000")
    parser.add_argument("--courses", default="http://127.0.0.1:4003")
    parser.add_argument("--quizzes", default="http://127.0.0.1:4004")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario and client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--students", type=int, default=50, help="distinct students signed in")
    args = parser.parse_args()

    async with httpx.AsyncClient(base_url=args.router, timeout=60) as http:
        students = []
        for n in range(args.students):
            body = {"input": {"email": SCALE_STUDENT_EMAIL.format(n), "password": DEMO_PASSWORD}}
            login = (await http.post("/graphql", json={"query": LOGIN, "variables": body})).json()["data"][
                "login"
            ]
            assert "accessToken" in login, f"login failed ({login}); did you run `coursegraph seed --scale`?"
            headers = {"Authorization": f"Bearer {login['accessToken']}"}
            dashboard = (await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)).json()
            assert "errors" not in dashboard, dashboard
            edges = dashboard["data"]["me"]["enrollments"]["edges"]
            students.append((login["user"]["id"], headers, [e["node"]["course"]["id"] for e in edges]))
    user_id, headers, course_ids = students[0]
    print(f"{len(students)} students signed in; {len(course_ids)} enrollments each on the dashboard")
    counts = await statements_per_request(headers["Authorization"].split(" ", 1)[1], user_id, course_ids)
    print("SQL statements per dashboard request: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    scenarios = [
        Scenario(
            "dashboard via router",
            f"{args.router}/graphql",
            [({"query": DASHBOARD}, h) for _, h, _ in students],
        ),
        Scenario(
            "courses part, direct",
            f"{args.courses}/graphql",
            [
                ({"query": COURSES_PART, "variables": {"r": [{"__typename": "User", "id": u}]}}, h)
                for u, h, _ in students
            ],
        ),
        Scenario(
            "quizzes part, direct",
            f"{args.quizzes}/graphql",
            [
                (
                    {
                        "query": QUIZZES_PART,
                        "variables": {"r": [{"__typename": "Course", "id": c} for c in cs]},
                    },
                    h,
                )
                for _, h, cs in students
            ],
        ),
    ]
    async with floor_server() as floor_url, httpx.AsyncClient(timeout=60) as http:
        for _, h, _ in students:  # the floor is a yardstick only if it answers exactly the same
            via_router = (
                await http.post(f"{args.router}/graphql", json={"query": DASHBOARD}, headers=h)
            ).json()
            from_floor = (await http.post(floor_url, json={"query": DASHBOARD}, headers=h)).json()
            assert via_router == from_floor, f"the floor answers differently:\n{via_router}\n{from_floor}"
        print(f"the floor's answer equals the router's for all {len(students)} students")
        scenarios.append(
            Scenario(
                "floor (one SQL statement)", floor_url, [({"query": DASHBOARD}, h) for _, h, _ in students]
            )
        )
        rates: dict[tuple[str, int], float] = {}
        # Router and floor alternate per client count, so both see the same neighbours' load.
        for clients in args.clients:
            for scenario in scenarios:
                rates[(scenario.name, clients)], line = await measure(scenario, clients, args.duration)
                print(line, flush=True)
            router, floor = rates[(scenarios[0].name, clients)], rates[(scenarios[-1].name, clients)]
            print(
                f"router / floor at {clients} clients: {router / floor:.3f}  ({load_average()})", flush=True
            )


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark: the request path through the router and straight to the users subgraph.

Run against a live platform whose per-principal limits are raised (they would otherwise trip):

    COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL=10000000 \
    COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT=10000 make run      # in another terminal
    uv run python tests/perf/bench_request_path.py [--router http://127.0.0.1:4000] [--requests 2000]

Prints latency percentiles and throughput for: `me` through the router, `me` directly on the subgraph
(token verification + session check + one loader query), `_entities` for 50 users (the router's join
path), and `login` (argon2id-bound by design). Targets, on a 2-core machine: router `me` p95 < 25 ms;
subgraph `me` p95 < 10 ms; these are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

DEMO = {"email": "admin@coursegraph.dev", "password": "coursegraph-demo"}
LOGIN = """mutation($input: LoginInput!) { login(input: $input) { ... on LoginSuccess { accessToken } } }"""


async def timed(client: httpx.AsyncClient, url: str, body: dict, headers: dict) -> float:
    started = time.perf_counter()
    response = await client.post(url, json=body, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "errors" not in response.json(), response.text[:300]
    return elapsed


async def run(name: str, url: str, body: dict, headers: dict, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    queue = iter(range(requests))
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            for _ in queue:
                latencies.append(await timed(client, url, body, headers))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:32} n={len(latencies):5}  p50={q[49] * 1000:6.1f} ms  p95={q[94] * 1000:6.1f} ms  "
        f"p99={q[98] * 1000:6.1f} ms  {len(latencies) / wall:7.0f} req/s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="http://127.0.0.1:4000")
    parser.add_argument("--users", default="http://127.0.0.1:4001")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    async with httpx.AsyncClient() as client:
        login = await client.post(
            f"{args.router}/graphql", json={"query": LOGIN, "variables": {"input": DEMO}}
        )
        token = login.json()["data"]["login"]["accessToken"]
        users = await client.post(
            f"{args.router}/graphql",
            json={"query": "{ users(first: 50) { edges { node { id } } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        ids = [e["node"]["id"] for e in users.json()["data"]["users"]["edges"]]
    auth = {"Authorization": f"Bearer {token}"}
    me = {"query": "{ me { id email role } }"}
    entities = {
        "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }",
        "variables": {"r": [{"__typename": "User", "id": i} for i in ids]},
    }
    n, c = args.requests, args.concurrency
    await run("me via router", f"{args.router}/graphql", me, auth, n, c)
    await run("me on users subgraph", f"{args.users}/graphql", me, auth, n, c)
    await run(f"_entities x{len(ids)} on users", f"{args.users}/graphql", entities, auth, n, c)
    await run(
        "login (argon2id)",
        f"{args.router}/graphql",
        {"query": LOGIN, "variables": {"input": DEMO}},
        {},
        50,
        2,
    )


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark: AI generation jobs against the local fake Anthropic server at a fixed token rate.

    uv run python tests/perf/bench_generation.py [--rounds 10] [--tokens-per-second 200]

Self-contained: a fresh database (PostgreSQL and Redis on 127.0.0.1, else embedded ones, as the tests),
the generator and organizations subgraphs in-process (ASGI), the worker's job code in-process with the
real `anthropic` SDK streaming from tests/fakes/anthropic_server.py (4 characters a token, one 16-character
delta per 4 tokens). Per round: `generateSyllabus` through the subgraph, then the worker runs the job
while a subscriber follows its live channel. Prints:
  - time to first progress event (worker start → first event carrying partial text, as a subscriber
    receives it through Redis pub/sub),
  - end-to-end job time (worker start → SUCCEEDED event received),
  - cache-hit latency (an identical generateSyllabus answered SUCCEEDED from the cache, client-side).
Queue pickup (relay poll + consumer block) is not included: it is bounded by the event settings.
Figures are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, release_redis_db, resolve_services  # noqa: E402

GENERATE = """mutation($input: GenerateSyllabusInput!) { generateSyllabus(input: $input) {
  __typename ... on GenerationJobSuccess { job { id status cached } } } }"""


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):9.2f} ms   p95 {p95:9.2f} ms   max {ms[-1]:9.2f} ms   (n={len(ms)})"


async def main(rounds: int, tokens_per_second: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="coursegraph-bench-"))
    pg_admin, redis_url, embedded = resolve_services(tmp)
    database_url = pg_admin.rsplit("/", 1)[0] + f"/{TEST_DB}"
    os.environ.update(
        {
            "COURSEGRAPH_ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "COURSEGRAPH_DATA_DIR": str(tmp),
            "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": str(tmp / "keys" / "signing-keys.json"),
            "COURSEGRAPH_MAIL__DIRECTORY": str(tmp / "mail"),
            "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "100000000",
        }
    )
    from tests.fakes.anthropic_server import MODEL, FakeAnthropic

    server = FakeAnthropic().start()
    # The subgraph (cache key) and the worker both see the fake server as the configured Anthropic API.
    os.environ.update(
        {
            "COURSEGRAPH_GENERATOR__ANTHROPIC_API_KEY": "sk-bench",
            "COURSEGRAPH_GENERATOR__BASE_URL": server.url,
            "COURSEGRAPH_GENERATOR__MODEL": MODEL,
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(server, rounds, tokens_per_second)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        server.stop()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


async def run(server: Any, rounds: int, tokens_per_second: float) -> None:
    import httpx

    from subgraphs.core.context import WorkerRuntime
    from subgraphs.core.live import LiveHub
    from subgraphs.core.settings import get_settings
    from subgraphs.generator import api, jobs, running
    from subgraphs.generator.app import create_app as create_generator
    from subgraphs.generator.providers.anthropic import AnthropicGenerator
    from subgraphs.organizations.app import create_app as create_organizations
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.keys import SigningKeys
    from tests.fakes.anthropic_server import syllabus_for
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    chunk_chars = 16
    server.default = lambda body: syllabus_for(
        body, chunk_chars=chunk_chars, seconds_per_chunk=(chunk_chars / 4) / tokens_per_second
    )
    keys = lambda s: SigningKeys(s).get_public  # noqa: E731
    orgs_app = create_organizations(settings, key_loader_factory=keys)
    gen_app = create_generator(settings, key_loader_factory=keys)
    async with orgs_app.router.lifespan_context(orgs_app), gen_app.router.lifespan_context(gen_app):
        minter = Minter(settings, orgs_app.state.runtime)
        owner = await minter.user()
        org = await minter.organization(owner)
        instructor = await minter.member(org, "instructor")
        runtime = gen_app.state.runtime
        worker = WorkerRuntime(settings, runtime.sessionmaker, runtime.redis, LiveHub(runtime.redis))
        generator = AnthropicGenerator(settings.generator)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=gen_app), base_url="http://generator")
        headers = {"Authorization": f"Bearer {instructor.token}"}

        async def generate(title: str) -> tuple[dict, float]:
            variables = {
                "input": {
                    "organizationId": org,
                    "title": title,
                    "audience": "engineers",
                    "durationWeeks": 8,
                    "difficulty": "INTERMEDIATE",
                }
            }
            t0 = time.perf_counter()
            body = (
                await client.post(
                    "/graphql", json={"query": GENERATE, "variables": variables}, headers=headers
                )
            ).json()
            return body["data"]["generateSyllabus"]["job"], time.perf_counter() - t0

        first_event, end_to_end, cache_hits, sizes = [], [], [], []
        for i in range(rounds):
            title = f"Bench course {i} {uuid.uuid4().hex[:6]}"
            job, _ = await generate(title)
            job_id = uuid.UUID(job["id"])
            async with runtime.live.listen(jobs.channel(job_id)) as queue:
                started = time.perf_counter()
                task = asyncio.create_task(running.run_job(worker, generator, job_id))
                first = None
                while True:
                    message = await asyncio.wait_for(queue.get(), 60)
                    if first is None and message["data"]["partial"]:
                        first = time.perf_counter() - started
                    if message["data"]["status"] == "SUCCEEDED":
                        end_to_end.append(time.perf_counter() - started)
                        break
                assert await task == "SUCCEEDED"
            first_event.append(first)
            row = await api.get_job(runtime, instructor.meta, job_id)
            sizes.append(row.output_tokens)
            hit, latency = await generate(title)
            assert hit["cached"] and hit["status"] == "SUCCEEDED"
            cache_hits.append(latency)
        await client.aclose()
    print(
        f"fake model: {tokens_per_second:.0f} tokens/s, {chunk_chars}-character deltas; "
        f"answers of ~{statistics.median(sizes):.0f} output tokens (8-week syllabus)"
    )
    print(f"time to first progress event  {summary(first_event)}")
    print(f"end-to-end job time           {summary(end_to_end)}")
    print(f"cache-hit generateSyllabus    {summary(cache_hits)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tokens-per-second", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.tokens_per_second))

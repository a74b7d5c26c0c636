"""Benchmark: time from `startLab` to RUNNING of a real JupyterLab lab, and its idle memory, on the process
runtime and on Docker.

    uv run python tests/perf/bench_lab_start.py [--sessions 20] [--runtimes process,docker]

Self-contained: a fresh database (PostgreSQL and Redis on 127.0.0.1, else embedded ones, as the tests),
the labs, courses and organizations subgraphs in-process (ASGI), and the worker side in-process for real:
the outbox relay (default poll interval, 0.2 s), the labs projection consumer and the labs lifecycle
(intent consumer + monitor) on a real runtime, with the platform's JUPYTER template — local processes
(JupyterLab from the project's environment, sandboxed with bubblewrap where it works, as `make run` runs
it), or Docker containers of `coursegraph/lab-jupyter:1` (built by `coursegraph labs build-images`).
One session at a time: `startLab` is posted, then the session's live stream is followed (core
live.follow, as labSessionEvents does) until RUNNING, which the worker sets only once JupyterLab answers
its health check (`<base url>api/status`); the running, idle lab's memory is read from its runtime
(`stats()`: the processes' RSS, or the container's working set) after IDLE_SECONDS; the lab is then
stopped. Prints p50 / p95 / max of startLab → RUNNING (client-side), of the startLab mutation alone, and of
the idle memory. Not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from tests.services import RUN_ID, TEST_DB, release_redis_db, resolve_services  # noqa: E402

START = """mutation($input: StartLabInput!) { startLab(input: $input) {
  __typename ... on LabSessionSuccess { session { id status } } ... on Error { code message } } }"""
JUPYTER_IMAGE = "coursegraph/lab-jupyter:1"
STOP = "mutation($id: ID!) { stopLab(input: {sessionId: $id}) { __typename } }"


IDLE_SECONDS = 3.0


def memory_summary(values: list[int]) -> str:
    mib = sorted(v / 2**20 for v in values)
    return f"p50 {statistics.median(mib):8.1f} MiB  max {mib[-1]:8.1f} MiB  (n={len(mib)})"


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):8.1f} ms   p95 {p95:8.1f} ms   max {ms[-1]:8.1f} ms   (n={len(ms)})"


async def main(sessions: int, runtimes: list[str]) -> None:
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
            "COURSEGRAPH_LABS__WORKSPACE_DIR": str(tmp / "labs"),
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(sessions, runtimes, tmp)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


async def run(sessions: int, runtimes: list[str], tmp: Path) -> None:
    import httpx
    from sqlalchemy import select, update

    from subgraphs.core.domains import WorkerDeps, outboxes
    from subgraphs.core.events import OutboxRelay
    from subgraphs.core.live import follow
    from subgraphs.core.settings import get_settings
    from subgraphs.courses.app import create_app as create_courses
    from subgraphs.courses.exercises import create_exercise
    from subgraphs.labs import starting, states, transitions
    from subgraphs.labs.app import create_app as create_labs
    from subgraphs.labs.models import ExerciseProjection, LabEvent
    from subgraphs.labs.projection import LabsProjectionConsumer
    from subgraphs.labs.runtimes import sandbox
    from subgraphs.labs.runtimes.docker import DockerRuntime
    from subgraphs.labs.runtimes.process import ProcessRuntime
    from subgraphs.labs.worker import build_lifecycle
    from subgraphs.organizations.app import create_app as create_organizations
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.keys import SigningKeys
    from tests.labs_support import docker_available
    from tests.subgraphs.courses.factories import CourseFactory

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    keys = lambda s: SigningKeys(s).get_public  # noqa: E731
    apps = [
        create_organizations(settings, key_loader_factory=keys),
        create_courses(settings, key_loader_factory=keys),
    ]
    labs_app = create_labs(settings, key_loader_factory=keys)
    async with contextlib.AsyncExitStack() as stack:
        for app in (*apps, labs_app):
            await stack.enter_async_context(app.router.lifespan_context(app))
        from tests.subgraphs.organizations.factories import Minter

        minter = Minter(settings, apps[0].state.runtime)
        factory = CourseFactory(apps[1].state.runtime, minter)
        school = await factory.school()
        course = await factory.course(school)
        exercise = await create_exercise(
            factory.runtime, school.instructor.meta, course_id=course.id, title="Bench", ide="JUPYTER"
        )
        api = labs_app.state.runtime
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=labs_app), base_url="http://labs")
        tuned = settings.model_copy(
            update={
                "labs": settings.labs.model_copy(
                    update={
                        "monitor_interval_seconds": 1.0,
                    }
                )
            }
        )
        deps = WorkerDeps(api.redis, api.sessionmaker, tuned, {"block_ms": 1000, "claim_idle_ms": 30_000})
        stop = asyncio.Event()
        relay = OutboxRelay(
            api.sessionmaker, api.redis, outboxes(), poll_interval=settings.events.relay_poll_interval_seconds
        )
        projection = LabsProjectionConsumer(api.redis, api.sessionmaker, block_ms=100)
        background = [asyncio.create_task(relay.run(stop)), asyncio.create_task(projection.run(stop))]
        while True:  # the exercise reaches the labs projection
            async with api.transaction() as session:
                if await session.get(ExerciseProjection, exercise.id):
                    break
            await asyncio.sleep(0.05)
        # One starter per session: labs of one person are limited (2 running, 10 created per hour).
        starters = [await minter.member(school.org, "instructor") for _ in range(sessions)]

        for kind in runtimes:
            if kind == "docker":
                if not docker_available():
                    print("docker: no engine answers; skipped")
                    continue
                labels = {"coursegraph.bench": RUN_ID}
                labs_rt: Any = await DockerRuntime.connect(tuned.labs, extra_labels=labels)
                if not await labs_rt.images_present([JUPYTER_IMAGE]):
                    print(f"docker: {JUPYTER_IMAGE} is not built (coursegraph labs build-images); skipped")
                    await labs_rt.close()
                    continue
            else:
                mode = "bubblewrap" if sandbox.works() is None else "none"
                print(f"process: sandbox {mode}")
                labs_rt = ProcessRuntime(tmp / "labs", sandbox=mode)
            lifecycle = build_lifecycle(deps, labs_rt)
            run_stop = asyncio.Event()
            worker = asyncio.create_task(lifecycle.run(run_stop))
            while True:  # the worker's first report of what can start
                if "JUPYTER" in await starting.available_ides(api):
                    break
                await asyncio.sleep(0.1)
            to_running, mutation, memory = [], [], []
            for caller in starters:
                headers = {"Authorization": f"Bearer {caller.token}"}
                t0 = time.perf_counter()
                body = (
                    await client.post(
                        "/graphql",
                        json={"query": START, "variables": {"input": {"exerciseId": str(exercise.id)}}},
                        headers=headers,
                    )
                ).json()
                mutation.append(time.perf_counter() - t0)
                lab = body["data"]["startLab"]
                assert lab["__typename"] == "LabSessionSuccess", lab
                lab_id = uuid.UUID(lab["session"]["id"])

                async def read_after(seq: int, lab_id: uuid.UUID = lab_id) -> list[dict]:
                    async with api.transaction() as session:
                        rows = await session.scalars(
                            select(LabEvent)
                            .where(LabEvent.stream_id == lab_id, LabEvent.seq > seq)
                            .order_by(LabEvent.seq)
                        )
                        return [r.as_message() for r in rows]

                async def until_running(lab_id: uuid.UUID = lab_id, read_after: Any = read_after) -> None:
                    async for message in follow(
                        api.live, transitions.channel(lab_id), after=0, read_after=read_after
                    ):
                        if message["data"]["status"] == "RUNNING":
                            return
                        assert message["data"]["status"] != "FAILED", message

                await asyncio.wait_for(until_running(), 180)
                to_running.append(time.perf_counter() - t0)
                await asyncio.sleep(IDLE_SECONDS)
                usage = await labs_rt.stats(lab_id)
                if usage is not None:
                    memory.append(usage.memory_bytes)
                await client.post(
                    "/graphql", json={"query": STOP, "variables": {"id": str(lab_id)}}, headers=headers
                )
            # Let the stops finish, then leave nothing behind.
            await asyncio.sleep(3)
            run_stop.set()
            await worker
            cleanup = (
                DockerRuntime(tuned.labs, extra_labels={"coursegraph.bench": RUN_ID})
                if kind == "docker"
                else ProcessRuntime(tmp / "labs")
            )
            for lab in await cleanup.list_managed():
                await cleanup.stop(lab.session_id)
            await cleanup.close()
            if kind == "docker":  # the workspace volumes too
                import docker

                from tests.labs_support import remove_run_resources

                engine = docker.from_env()
                remove_run_resources(engine, {"coursegraph.bench": RUN_ID})
                engine.close()
            print(f"{kind:8s} startLab → RUNNING   {summary(to_running)}")
            print(f"{kind:8s} startLab mutation    {summary(mutation)}")
            print(f"{kind:8s} idle memory per lab  {memory_summary(memory)}")
            # The next runtime's starters need their live-session slot back.
            async with api.transaction() as session:
                from subgraphs.labs.models import LabSession

                await session.execute(
                    update(LabSession)
                    .where(LabSession.status.in_([s.value for s in states.LIVE]))
                    .values(status="STOPPED")
                )
        stop.set()
        for task in background:
            await task
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--runtimes", default="process,docker")
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.runtimes.split(",")))

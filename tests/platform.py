"""The platform as processes, started by tests: every subgraph, the worker and the real Hive Gateway router.

Ports differ from `make run`'s so the suite never meets a running dev instance. All processes share the
signing keys and mail folder of the run (the environment set in tests/conftest.py). A platform whose tests
act only through it (the browser journeys, the fault tests) runs on a database and a Redis of its own
(`own_services`); the e2e platform shares the run's, as its tests also write through in-process services,
and joins them as a deployment started now would (`join_now`).

Why: a worker started on the run's streams would first work through every event the run emitted so far
(thousands, minutes under load), and a projection read meanwhile misses what a test just wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from subgraphs.core.app import close_runtime, create_runtime
from subgraphs.core.auth import REVOKED_CLIENTS_MARKER
from subgraphs.core.context import Runtime
from subgraphs.core.db import create_engine, create_sessionmaker, utcnow
from subgraphs.core.domains import DOMAINS, outboxes
from subgraphs.core.events import RELAY_MARKER, STREAM_PREFIX
from subgraphs.core.rbac import MEMBERSHIPS_MARKER
from subgraphs.core.settings import Settings, get_settings, normalize_database_url
from subgraphs.tooling.embedded import EmbeddedRedis
from subgraphs.tooling.paths import ROUTER_DIR
from subgraphs.tooling.router import router_argv, router_env
from subgraphs.tooling.supervisor import ProcessSpec, Supervisor, supervised
from tests.fakes.anthropic_server import MODEL as FAKE_MODEL
from tests.services import free_port
from tests.waiting import eventually


@dataclass
class Platform:
    router_url: str
    subgraph_urls: dict[str, str]  # domain -> base URL (no /graphql)
    web_dir: Path  # the router's CG_WEB_DIR
    supervisor: Supervisor | None = None  # to kill or restart one of its processes (tests/faults)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.router_url, timeout=30)


class OwnRedis:
    """A redis-server of one platform or test only: it may be flushed, killed, and restarted empty."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedRedis(data_dir, port=free_port())
        self.url = self.server.start()

    def client(self) -> Redis:
        return Redis.from_url(self.url)

    def restart_empty(self) -> None:
        """What a restart without persistence (or a failover to an empty replica) does."""
        self.server.stop()
        shutil.rmtree(self.server.redis_dir, ignore_errors=True)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


@dataclass
class OwnServices:
    """A migrated database and a Redis of one platform only, and this process's settings pointed at them
    (for a runtime or a seed of the tests' own)."""

    database_url: str
    redis: OwnRedis
    settings: Settings

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url}

    @asynccontextmanager
    async def runtime(self) -> AsyncIterator[Runtime]:
        runtime = await create_runtime("tests", self.settings, key_loader=lambda **_: None)
        try:
            yield runtime
        finally:
            await close_runtime(runtime)


@asynccontextmanager
async def own_services(name: str, data_dir: Path) -> AsyncIterator[OwnServices]:
    from tests.conftest import mark_redis_state_complete, own_database

    database_url = await own_database(name)
    redis = OwnRedis(data_dir)
    await mark_redis_state_complete(redis.url)  # as for the run's: a seed before the platform needs it
    settings = get_settings().model_copy(deep=True)
    settings.database.url = normalize_database_url(database_url)
    settings.redis.url = redis.url
    try:
        yield OwnServices(database_url=database_url, redis=redis, settings=settings)
    finally:
        redis.stop()


async def join_now(settings: Settings) -> None:
    """Let a platform on the run's shared database and Redis start as a deployment started now would: the
    outbox holds nothing unpublished, the streams are empty and every consumer group starts at their end
    (its pending entries gone). What earlier tests emitted was theirs, handled in-process or not at all."""
    redis = Redis.from_url(settings.redis.url)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for outbox in outboxes().values():
                await session.execute(
                    update(outbox).where(outbox.published_at.is_(None)).values(published_at=utcnow())
                )
        async for stream in redis.scan_iter(match=STREAM_PREFIX + "*", _type="stream"):
            await redis.xtrim(stream, maxlen=0)
            for group in await redis.xinfo_groups(stream):
                await redis.xgroup_destroy(stream, group["name"])
                await redis.xgroup_create(stream, group["name"], id="$")
        await redis.set(RELAY_MARKER, "tests")
    finally:
        await redis.aclose()
        await engine.dispose()


@asynccontextmanager
async def running_platform(
    anthropic_url: str,
    *,
    services: OwnServices | None = None,
    web_dir: Path | None = None,
    public_origin: bool = False,
    demo_labs: bool = False,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """Start the platform on `services`, else on the run's database and Redis (`join_now`); `public_origin`
    makes the router's address the origin of mailed links and of browser sessions (what a browser test
    needs), `web_dir` the app the router serves, `demo_labs` runs labs as `make run` does where no lab image
    is built (the demo templates name the real IDE images)."""
    settings = get_settings()
    if services is None:
        await join_now(settings)
    ports = {domain: free_port() for domain in DOMAINS}
    urls = {domain: f"http://127.0.0.1:{port}" for domain, port in ports.items()}
    router_port = free_port()
    router_url = f"http://127.0.0.1:{router_port}"
    web_dir = web_dir or Path(os.environ["COURSEGRAPH_DATA_DIR"]) / "web-dist"
    jwks_url = f"{urls['users']}/.well-known/jwks.json"
    env = {k: v for k, v in os.environ.items() if k.startswith(("COURSEGRAPH_", "DATABASE_URL", "REDIS_URL"))}
    env["COURSEGRAPH_AUTH__JWKS_URL"] = jwks_url
    env.update(services.env() if services else {})
    # The worker's generation jobs call the local fake Anthropic server (the real API is a paid service).
    env["COURSEGRAPH_GENERATOR__ANTHROPIC_API_KEY"] = "sk-e2e-fake"
    env["COURSEGRAPH_GENERATOR__BASE_URL"] = anthropic_url
    env["COURSEGRAPH_GENERATOR__MODEL"] = FAKE_MODEL
    if public_origin:
        env["COURSEGRAPH_MAIL__WEB_BASE_URL"] = router_url
        env["COURSEGRAPH_ROUTER__CORS_ORIGINS"] = json.dumps([router_url])
    # The content worker reads courses through this router with a service token from this users subgraph,
    # and signed file links point at the router's origin.
    env["COURSEGRAPH_ROUTER__SUBGRAPH_URLS"] = json.dumps({d: f"{u}/graphql" for d, u in urls.items()})
    env["COURSEGRAPH_CONTENT__ROUTER_URL"] = router_url
    env["COURSEGRAPH_CONTENT__PUBLIC_URL"] = router_url
    env.update(lab_env(urls["labs"]))
    if demo_labs:
        env["COURSEGRAPH_LABS__RUNTIME"] = "process"
    env.update(extra_env or {})
    python = sys.executable
    specs = [
        ProcessSpec(
            name=domain,
            argv=[python, "-m", "subgraphs.tooling.cli", "serve", domain, "--port", str(ports[domain])],
            env=env,
            ready_url=f"{urls[domain]}/ready",
        )
        for domain in DOMAINS
    ]
    specs.append(ProcessSpec(name="worker", argv=[python, "-m", "subgraphs.tooling.cli", "worker"], env=env))
    gateway_env = {
        **env,
        **router_env(services.settings if services else settings),  # the Redis the subgraphs stamp
        "CG_PORT": str(router_port),
        "CG_JWKS_URL": jwks_url,
        "CG_SUBGRAPH_URLS": json.dumps({domain: f"{url}/graphql" for domain, url in urls.items()}),
        "CG_WEB_DIR": str(web_dir),
    }
    if public_origin:
        gateway_env["CG_CORS_ORIGINS"] = router_url
    router = ProcessSpec(
        name="router",
        argv=router_argv(),
        env=gateway_env,
        cwd=ROUTER_DIR,
        ready_url=f"{router_url}/readiness",
        ready_timeout=90,
    )
    async with supervised(specs) as supervisor:
        await supervisor.start(router)
        if services:
            await redis_state_rebuilt(services.redis)
        yield Platform(router_url=router_url, subgraph_urls=urls, web_dir=web_dir, supervisor=supervisor)


async def redis_state_rebuilt(redis_server: OwnRedis) -> None:
    """A platform started on an empty Redis: its worker rebuilds the Redis-held state from PostgreSQL
    (core/redis_state.py); until then readers answer UNAVAILABLE. Tests start once it has."""
    client = redis_server.client()
    try:

        async def rebuilt() -> bool:
            return await client.exists(MEMBERSHIPS_MARKER, REVOKED_CLIENTS_MARKER) == 2

        await eventually(rebuilt, timeout=60, interval=0.2, what="the Redis-held state rebuilt")
    finally:
        await client.aclose()


def lab_env(labs_url: str) -> dict[str, str]:
    """Labs of the e2e platform: Docker with the registry-free test image when an engine answers (CI has
    one), else local processes; labelled with this run's id so the platform reconciles only its own."""
    from tests.labs_support import TEST_IMAGE, docker_available, ensure_test_image
    from tests.services import RUN_ID

    env = {
        "COURSEGRAPH_LABS__WORKSPACE_DIR": str(Path(os.environ["COURSEGRAPH_DATA_DIR"]) / "labs"),
        "COURSEGRAPH_LABS__INSTANCE": f"e2e-{RUN_ID}",
        "COURSEGRAPH_LABS__MONITOR_INTERVAL_SECONDS": "0.5",
        "COURSEGRAPH_LABS__PUBLIC_URL": labs_url,
        "COURSEGRAPH_LABS__RUNTIME": "process",
        # Sandboxed process labs see the tests' tiny IDE (tests/tiny_ide.py), read-only.
        "COURSEGRAPH_LABS__SANDBOX_READ_ONLY_PATHS": json.dumps([str(Path(__file__).parent)]),
    }
    if docker_available():
        import docker

        client = docker.from_env()
        try:
            ensure_test_image(client)
        except pytest.skip.Exception:  # no static busybox to build it (outside CI): labs run as processes
            return env
        finally:
            client.close()
        allowed = [*get_settings().labs.allowed_images, TEST_IMAGE]
        env.update(
            {"COURSEGRAPH_LABS__RUNTIME": "docker", "COURSEGRAPH_LABS__ALLOWED_IMAGES": json.dumps(allowed)}
        )
    return env

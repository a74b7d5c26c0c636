"""`coursegraph dev`: the whole platform on one machine, no system services needed.

Embedded PostgreSQL and Redis under the data dir (unless DATABASE_URL / REDIS_URL are set), migrations,
demo data, every subgraph, the worker and the router — supervised: a crashed process (embedded databases
included) is restarted with backoff, and everything stops together by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from subgraphs.core.domains import DOMAINS, SUBGRAPH_PORTS
from subgraphs.core.seeding import DEMO_PASSWORD
from subgraphs.core.settings import Settings, get_settings
from subgraphs.tooling.migrations import migrate_database
from subgraphs.tooling.paths import ROUTER_DIR
from subgraphs.tooling.router import router_argv, router_env
from subgraphs.tooling.seed_runner import seed_demo
from subgraphs.tooling.supervisor import ProcessFailed, ProcessSpec, Supervisor

# `coursegraph`, run by this interpreter (the console script may not be on PATH).
COURSEGRAPH = [sys.executable, "-m", "subgraphs.tooling.cli"]


def subgraph_spec(domain: str, env: dict[str, str], settings: Settings) -> ProcessSpec:
    port = SUBGRAPH_PORTS[domain]
    return ProcessSpec(
        name=domain,
        argv=[*COURSEGRAPH, "serve", domain, "--port", str(port)],
        env=env,
        ready_url=f"http://{settings.bind_host}:{port}/ready",
        restart=True,
    )


def platform_specs(settings: Settings, env: dict[str, str]) -> tuple[list[ProcessSpec], ProcessSpec]:
    """The subgraphs and the worker (started together), then the router (needs the JWKS up)."""
    specs = [subgraph_spec(domain, env, settings) for domain in DOMAINS]
    specs.append(ProcessSpec(name="worker", argv=[*COURSEGRAPH, "worker"], env=env, restart=True))
    router = ProcessSpec(
        name="router",
        argv=router_argv(),
        env={**env, **router_env(settings)},
        cwd=ROUTER_DIR,
        ready_url=f"http://{settings.router.host}:{settings.router.port}/readiness",
        ready_timeout=90,
        restart=True,
    )
    return specs, router


async def keep_embedded_running(
    servers: list, supervisor: Supervisor, *, interval: float = 1.0, max_fast_failures: int = 5
) -> None:
    """Restart an embedded PostgreSQL or Redis that died (with backoff, logging why); after repeated
    failures within 10 s of a start, make the supervisor give up. Runs until cancelled."""
    loop = asyncio.get_running_loop()
    started = {id(server): loop.time() for server in servers}
    failures = {id(server): 0 for server in servers}
    while True:
        await asyncio.sleep(interval)
        for server in servers:
            if server.pid is not None:
                continue
            name = type(server).__name__
            key = id(server)
            failures[key] = failures[key] + 1 if loop.time() - started[key] < 10 else 1
            if failures[key] > max_fast_failures:
                supervisor.give_up(name, f"died {max_fast_failures} times in a row soon after starting")
                return
            delay = min(30.0, 0.5 * 2 ** (failures[key] - 1))
            print(f"[supervisor] {name} exited unexpectedly; restarting in {delay:g}s", flush=True)
            await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(server.start)
                print(f"[supervisor] {name} restarted", flush=True)
            except Exception as exc:  # noqa: BLE001 - reported, and counted as the next failure
                print(f"[supervisor] restarting {name} failed: {exc}", flush=True)
            started[key] = loop.time()


async def run_dev(settings: Settings, data_dir: Path) -> int:
    data_dir = data_dir.resolve()
    embedded = []
    env = {"COURSEGRAPH_DATA_DIR": str(data_dir)}
    if not settings.database.url:
        from subgraphs.tooling.embedded import EmbeddedPostgres

        embedded.append(EmbeddedPostgres(data_dir / "postgres"))
        env["DATABASE_URL"] = embedded[-1].start()
    if not settings.redis.url:
        from subgraphs.tooling.embedded import EmbeddedRedis

        embedded.append(EmbeddedRedis(data_dir / "redis"))
        env["REDIS_URL"] = embedded[-1].start()
    # Keys, dev mail and lab workspaces live in the data dir too (unless set), so a rerun reuses them.
    for key, path in (
        ("COURSEGRAPH_AUTH__SIGNING_KEYS_FILE", data_dir / "keys" / "signing-keys.json"),
        ("COURSEGRAPH_MAIL__DIRECTORY", data_dir / "mail"),
        ("COURSEGRAPH_LABS__WORKSPACE_DIR", data_dir / "labs"),
    ):
        if key not in os.environ:
            env[key] = str(path)
    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    try:
        print("migrating the database ...", flush=True)
        await asyncio.to_thread(migrate_database)
        demo = await seed_demo(settings) if not settings.is_production else []
        specs, router = platform_specs(settings, env)
        async with Supervisor() as supervisor:
            try:
                await supervisor.start_many(specs)
                await supervisor.start(router)
            except ProcessFailed as exc:
                print(f"\n{exc}", file=sys.stderr)
                return 1
            _banner(settings, demo, data_dir)
            keeper = asyncio.create_task(keep_embedded_running(embedded, supervisor))
            try:
                return await supervisor.wait()
            finally:
                keeper.cancel()
    finally:
        for server in reversed(embedded):
            server.stop()


def _banner(settings: Settings, demo: list[tuple[str, str]], data_dir: Path) -> None:
    origin = f"http://{settings.router.host}:{settings.router.port}"
    lines = [
        "",
        "CourseGraph is running.",
        f"  Web app:               {origin}/",
        f"  GraphiQL and the API:  {origin}/graphql",
        f"  Data:                  {data_dir}  (mail in {settings.mail.directory})",
        "  Demo logins (password: " + DEMO_PASSWORD + "):",
        *[f"    {role:20} {email}" for email, role in demo],
        "  Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)

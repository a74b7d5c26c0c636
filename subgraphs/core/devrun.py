"""`coursegraph dev`: the whole platform on one machine, no system services needed.

Embedded PostgreSQL and Redis under the data dir (unless DATABASE_URL / REDIS_URL are set), migrations,
demo data, every subgraph, the worker and the router — supervised, stopped together by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from subgraphs.core.cli import DEMO_PASSWORD, ROUTER_DIR, migrate_database, router_argv, router_env, seed_demo
from subgraphs.core.domains import DOMAINS
from subgraphs.core.settings import SUBGRAPH_PORTS, Settings, get_settings
from subgraphs.core.supervisor import ProcessFailed, ProcessSpec, Supervisor


def subgraph_spec(domain: str, env: dict[str, str], settings: Settings) -> ProcessSpec:
    port = SUBGRAPH_PORTS[domain]
    return ProcessSpec(
        name=domain,
        argv=[sys.executable, "-m", "subgraphs.core.cli", "serve", domain, "--port", str(port)],
        env=env,
        ready_url=f"http://{settings.bind_host}:{port}/ready",
    )


def platform_specs(settings: Settings, env: dict[str, str]) -> tuple[list[ProcessSpec], ProcessSpec]:
    """The subgraphs and the worker (started together), then the router (needs the JWKS up)."""
    specs = [subgraph_spec(domain, env, settings) for domain in DOMAINS]
    specs.append(
        ProcessSpec(name="worker", argv=[sys.executable, "-m", "subgraphs.core.cli", "worker"], env=env)
    )
    router = ProcessSpec(
        name="router",
        argv=router_argv(),
        env={**env, **router_env(settings)},
        cwd=ROUTER_DIR,
        ready_url=f"http://{settings.router.host}:{settings.router.port}/readiness",
        ready_timeout=90,
    )
    return specs, router


async def run_dev(settings: Settings, data_dir: Path) -> int:
    data_dir = data_dir.resolve()
    embedded = []
    env = {"COURSEGRAPH_DATA_DIR": str(data_dir)}
    if not settings.database.url:
        from subgraphs.core.embedded import EmbeddedPostgres

        embedded.append(EmbeddedPostgres(data_dir / "postgres"))
        env["DATABASE_URL"] = embedded[-1].start()
    if not settings.redis.url:
        from subgraphs.core.embedded import EmbeddedRedis

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
            return await supervisor.wait()
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

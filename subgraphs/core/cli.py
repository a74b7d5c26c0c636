"""The `coursegraph` command: run, serve, migrate, seed, and keep the schema pipeline honest."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import typer

from subgraphs.core.domains import DOMAINS, app_path, cli_commands, outboxes, schema_of
from subgraphs.core.seeding import (  # noqa: F401 - DEMO_*, SCALE_*: what the demo data is, for tests and devrun
    DEMO_MEMBERSHIPS,
    DEMO_PASSWORD,
    DEMO_USERS,
    SCALE_ORGANIZATION_SLUG,
    SCALE_STUDENT_EMAIL,
    seed_demo,
    seed_scale,
)
from subgraphs.core.settings import SUBGRAPH_PORTS, Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"
ROUTER_DIR = ROOT / "router"

app = typer.Typer(help="CourseGraph: a federated GraphQL platform for course creators.", no_args_is_help=True)
schema_app = typer.Typer(help="Export, compose and check the federated schema.", no_args_is_help=True)
events_app = typer.Typer(help="Inspect and replay dead-lettered events.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(events_app, name="events")
docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
for _name, _commands in cli_commands().items():  # each domain's own (`keys` of users)
    app.add_typer(_commands, name=_name)


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # readiness polls are not news


def _require_services(settings: Settings) -> None:
    if not settings.database.url or not settings.redis.url:
        typer.echo("DATABASE_URL and REDIS_URL must be set (or use `coursegraph dev`).", err=True)
        raise typer.Exit(2)


# --- database ------------------------------------------------------------------------------------


def migrate_database(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    if database_url:  # another database than the settings' (alembic/env.py); the settings stay as they are
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


@app.command()
def migrate() -> None:
    """Apply all database migrations."""
    settings = get_settings()
    _require_services(settings)
    migrate_database()
    typer.echo("database is up to date")


@app.command()
def seed(
    scale: bool = typer.Option(
        False, "--scale", help="Also write benchmark data (tests/perf/bench_dashboard.py)."
    ),
    courses: int = typer.Option(200, help="--scale: published courses."),
    students: int = typer.Option(2000, help="--scale: students."),
    enrollments_per_student: int = typer.Option(10, help="--scale: enrollments per student."),
    attempts: int = typer.Option(50000, help="--scale: submitted quiz attempts."),
) -> None:
    """Create the demo accounts (idempotent; refused in production); `--scale` adds benchmark data."""
    settings = get_settings()
    _require_services(settings)
    for email, role in asyncio.run(seed_demo(settings)):
        typer.echo(f"{role:20} {email}  password: {DEMO_PASSWORD}")
    if scale:
        import time

        started = time.perf_counter()
        counts = asyncio.run(
            seed_scale(
                settings,
                courses=courses,
                students=students,
                enrollments_per_student=enrollments_per_student,
                attempts=attempts,
            )
        )
        if not counts:
            typer.echo("scale data already present (organization scale-academy)")
        else:
            summary = ", ".join(f"{v} {k}" for k, v in counts.items())
            typer.echo(f"scale data: {summary} in {time.perf_counter() - started:.1f} s")


# --- serving -------------------------------------------------------------------------------------


@app.command()
def serve(
    subgraph: str = typer.Argument(..., help=f"One of: {', '.join(DOMAINS)}"),
    port: int | None = typer.Option(None, help="Defaults to the subgraph's standard port."),
    workers: int = typer.Option(1, help="uvicorn worker processes (use several in production)."),
) -> None:
    """Serve one subgraph."""
    import uvicorn

    from subgraphs.core.ws_protocol import SubgraphWebSockets

    if subgraph not in DOMAINS:
        raise typer.BadParameter(f"unknown subgraph {subgraph!r}; choose from {', '.join(DOMAINS)}")
    settings = get_settings()
    _require_services(settings)
    config = uvicorn.Config(
        app_path(subgraph),
        host=settings.bind_host,
        port=port or SUBGRAPH_PORTS[subgraph],
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # client IPs come from X-Forwarded-For of trusted proxies only (core.app)
        ws=SubgraphWebSockets,  # websockets-sansio, without compression on /graphql
        ws_max_size=settings.graphql.max_body_bytes,  # the HTTP body limit, for WebSocket messages
    )
    if config.workers > 1:
        # What uvicorn.run does. uvicorn's Multiprocess builds a plain Server in each worker (it takes no
        # server class), so worker processes close subscriptions with 1012 without draining them first.
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        _draining_server()(config).run()


def _draining_server() -> type:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn, ending open subscriptions with a retryable error before it closes their WebSockets on a
        graceful stop (core.live.drain_all: the router would otherwise resubscribe with a stale `after`)."""

        async def shutdown(self, sockets: list | None = None) -> None:
            from subgraphs.core.live import drain_all

            await drain_all(timeout=2.0)
            await super().shutdown(sockets=sockets)

    return DrainingServer


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The outbox relay and the event consumers of this process."""

    from subgraphs.core.db import create_engine, create_sessionmaker
    from subgraphs.core.domains import WorkerDeps, worker_tasks
    from subgraphs.core.events import ConsumedLedger, OutboxRelay
    from subgraphs.core.mail import MailConsumer
    from subgraphs.core.redis_state import connect as connect_redis

    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    redis = connect_redis(settings.redis.url)
    ev = settings.events
    relay = OutboxRelay(
        sessionmaker,
        redis,
        outboxes(),
        batch_size=ev.relay_batch_size,
        poll_interval=ev.relay_poll_interval_seconds,
        republish_window_seconds=ev.dedupe_ttl_seconds,
    )
    options = {
        "block_ms": ev.consumer_block_ms,
        "claim_idle_ms": ev.consumer_claim_idle_ms,
        "dedupe_ttl_seconds": ev.dedupe_ttl_seconds,
        "max_attempts": ev.consumer_max_attempts,
        "ledger": ConsumedLedger(sessionmaker),
    }
    deps = WorkerDeps(redis=redis, sessionmaker=sessionmaker, settings=settings, consumer_options=options)
    consumers = [MailConsumer(redis, settings.mail, **options)]
    for domain in DOMAINS:
        consumers.extend(worker_tasks(domain, deps))
    try:
        await asyncio.gather(relay.run(stop), *(consumer.run(stop) for consumer in consumers))
    finally:
        await redis.aclose()
        await engine.dispose()


@app.command()
def worker() -> None:
    """Run the outbox relay, the mail consumer and every domain's background tasks until stopped (each
    domain's `worker.py`: membership projection, audit log, the quizzes course projection, AI generation)."""
    settings = get_settings()
    _require_services(settings)
    _logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())


def router_env(settings: Settings) -> dict[str, str]:
    """The router's configuration, derived from the one Settings (router/README.md lists the variables)."""
    g = settings.graphql
    env = {
        "CG_SUPERGRAPH": str(SCHEMA_DIR / "supergraph.graphql"),
        "CG_HOST": settings.router.host,
        "CG_PORT": str(settings.router.port),
        "CG_JWKS_URL": settings.auth.jwks_url,
        "CG_JWT_ISSUER": settings.auth.issuer,
        "CG_JWT_AUDIENCE": settings.auth.audience,
        "CG_PRODUCTION": "1" if settings.is_production else "0",
        "CG_MAX_DEPTH": str(g.max_depth),
        "CG_MAX_TOKENS": str(g.max_tokens),
        "CG_MAX_ALIASES": str(g.max_aliases),
        "CG_MAX_COST": str(g.max_cost),
        "CG_MAX_BODY_BYTES": str(g.max_body_bytes),
        "CG_BODY_TIMEOUT_MS": str(round(g.body_timeout_seconds * 1000)),
        "CG_MAX_JSON_DEPTH": str(g.max_json_depth),
        "CG_CORS_ORIGINS": ",".join(settings.router.cors_origins),
        "CG_ROUTER_SECRET": settings.router.shared_secret,
        "CG_RESPONSE_CACHE_TTL_MS": str(settings.router.response_cache_ttl_ms),
    }
    if settings.router.subgraph_urls:
        env["CG_SUBGRAPH_URLS"] = json.dumps(settings.router.subgraph_urls)
    return env


def router_argv() -> list[str]:
    gateway = ROUTER_DIR / "node_modules" / ".bin" / "hive-gateway"
    if not gateway.exists():
        raise RuntimeError(
            "router dependencies are missing: run `npm ci --prefix router` (or `make install`)"
        )
    # Hive Gateway auto-loads only gateway.{ts,js,...}: name the config explicitly. Run it with cwd=router/.
    return [str(gateway), "supergraph", "--config-path", str(ROUTER_DIR / "gateway.config.ts")]


@app.command()
def router() -> None:
    """Run the federation router (Hive Gateway) in the foreground."""
    settings = get_settings()
    os.chdir(ROUTER_DIR)
    os.execve(router_argv()[0], router_argv(), {**os.environ, **router_env(settings)})


@app.command()
def dev(
    data_dir: Path | None = typer.Option(
        None, help="Where embedded PostgreSQL/Redis keep data (default ./.coursegraph)."
    ),
) -> None:
    """Run the whole platform locally: databases, migrations, demo data, subgraphs, worker, router."""
    from subgraphs.core.devrun import run_dev

    settings = get_settings()
    _logging(settings)
    raise typer.Exit(asyncio.run(run_dev(settings, data_dir or settings.data_dir)))


# --- schema pipeline ------------------------------------------------------------------------------


def export_sdl(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in DOMAINS:
        path = target / f"{domain}.graphql"
        path.write_text(schema_of(domain).as_str() + "\n")
        written.append(path)
    urls = {domain: f"http://127.0.0.1:{SUBGRAPH_PORTS[domain]}/graphql" for domain in DOMAINS}
    (target / "subgraphs.json").write_text(json.dumps(urls, indent=2) + "\n")
    return written


def compose(schema_dir: Path, *, stdout: bool = False) -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (Node 20+ is needed for composition)")
    argv = [node, str(ROUTER_DIR / "compose.mjs"), str(schema_dir)] + (["--stdout"] if stdout else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"composition failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@schema_app.command("export")
def schema_export() -> None:
    """Write each subgraph's SDL to schema/<name>.graphql."""
    for path in export_sdl(SCHEMA_DIR):
        typer.echo(f"wrote {path.relative_to(ROOT)}")


@schema_app.command("compose")
def schema_compose() -> None:
    """Compose schema/supergraph.graphql from the exported SDL (open-source composer)."""
    compose(SCHEMA_DIR)
    typer.echo("wrote schema/supergraph.graphql")


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    from graphql import build_schema, find_breaking_changes

    old = build_schema(old_sdl, assume_valid_sdl=True)
    new = build_schema(new_sdl, assume_valid_sdl=True)
    return [f"{change.type.name}: {change.description}" for change in find_breaking_changes(old, new)]


@schema_app.command("check")
def schema_check(
    against: str | None = typer.Option(
        None, help="A git ref: list breaking changes of the supergraph since it."
    ),
) -> None:
    """Fail when the committed SDL or supergraph is stale or does not compose."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        export_sdl(fresh)
        for path in sorted(fresh.iterdir()):
            committed = SCHEMA_DIR / path.name
            if not committed.exists() or committed.read_text() != path.read_text():
                problems.append(f"schema/{path.name} is stale: run `coursegraph schema export`")
        try:
            supergraph = compose(fresh, stdout=True)
        except RuntimeError as exc:
            problems.append(str(exc))
            supergraph = None
    committed_supergraph = SCHEMA_DIR / "supergraph.graphql"
    if supergraph is not None and (
        not committed_supergraph.exists() or committed_supergraph.read_text() != supergraph
    ):
        problems.append("schema/supergraph.graphql is stale: run `coursegraph schema compose`")
    if against and supergraph is not None:
        old = subprocess.run(
            ["git", "show", f"{against}:schema/supergraph.graphql"], cwd=ROOT, capture_output=True, text=True
        )
        if old.returncode != 0:
            problems.append(f"no schema/supergraph.graphql at {against}")
        else:
            changes = breaking_changes(old.stdout, supergraph)
            for change in changes:
                typer.echo(f"BREAKING {change}")
            if changes:
                problems.append(f"{len(changes)} breaking change(s) since {against}")
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("schema is up to date and composes")


async def _with_redis(settings: Settings, work):  # noqa: ANN001, ANN202
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis.url)
    try:
        return await work(redis)
    finally:
        await redis.aclose()


@events_app.command("dead-letters")
def dead_letters_command(
    group: str | None = typer.Option(None, help="Only this consumer group (e.g. audit-log)."),
) -> None:
    """List events that a consumer gave up on after its retries, with the error."""
    from subgraphs.core.events import dead_letters

    settings = get_settings()
    _require_services(settings)
    letters = asyncio.run(_with_redis(settings, lambda redis: dead_letters(redis, group)))
    for letter in letters:
        typer.echo(
            f"{letter.group}\t{letter.message_id}\t{letter.event_type}\t{letter.event_id}\t"
            f"{letter.stream}\t{letter.error}"
        )
    typer.echo(f"{len(letters)} dead-lettered event(s)", err=True)


@events_app.command("replay")
def replay_command(
    group: str = typer.Argument(..., help="The consumer group whose dead letters to replay."),
    message_ids: list[str] = typer.Argument(None, help="Dead-letter message ids; none: all of the group."),
) -> None:
    """Put dead-lettered events back on their streams so the group's consumer tries them again (after the
    cause is fixed). Other consumer groups skip them: they already handled them."""
    from subgraphs.core.events import replay_dead_letters

    settings = get_settings()
    _require_services(settings)
    count = asyncio.run(
        _with_redis(settings, lambda redis: replay_dead_letters(redis, group, message_ids or None))
    )
    typer.echo(f"replayed {count} event(s) of {group}")


@docs_app.command("settings")
def docs_settings(
    check: bool = typer.Option(False, "--check", help="Only fail when docs/settings.md is stale."),
) -> None:
    """Write docs/settings.md from the Settings model (every variable, its default and meaning)."""
    from subgraphs.core.settings_docs import settings_markdown, undocumented

    missing = undocumented()
    if missing:
        typer.echo(f"no meaning in core/settings_docs.py for: {', '.join(missing)}", err=True)
        raise typer.Exit(1)
    path = ROOT / "docs" / "settings.md"
    text = settings_markdown()
    if check:
        if not path.exists() or path.read_text() != text:
            typer.echo("docs/settings.md is stale: run `coursegraph docs settings`", err=True)
            raise typer.Exit(1)
        return
    path.write_text(text)
    typer.echo(f"wrote {path.relative_to(ROOT)}")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


# Last, after every command is defined: `python -m subgraphs.core.cli events ...` finds them all.
if __name__ == "__main__":
    app()

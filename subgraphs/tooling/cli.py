"""The `coursegraph` command: run, serve, migrate, seed, and keep the schema pipeline honest."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import typer

from subgraphs.core.domains import DOMAINS, SUBGRAPH_PORTS, app_path, cli_commands
from subgraphs.core.seeding import DEMO_PASSWORD
from subgraphs.core.settings import Settings, get_settings
from subgraphs.tooling.devrun import run_dev
from subgraphs.tooling.migrations import migrate_database
from subgraphs.tooling.paths import ROOT, ROUTER_DIR, SCHEMA_DIR
from subgraphs.tooling.router import router_argv, router_env
from subgraphs.tooling.schema_pipeline import compose, export_sdl, schema_problems
from subgraphs.tooling.seed_runner import seed_demo, seed_scale
from subgraphs.tooling.settings_docs import settings_markdown, undocumented
from subgraphs.tooling.worker import run_worker

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
    settings = get_settings()
    _logging(settings)
    raise typer.Exit(asyncio.run(run_dev(settings, data_dir or settings.data_dir)))


# --- schema pipeline ------------------------------------------------------------------------------


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


@schema_app.command("check")
def schema_check(
    against: str | None = typer.Option(
        None, help="A git ref: list breaking changes of the supergraph since it."
    ),
) -> None:
    """Fail when the committed SDL or supergraph is stale or does not compose."""
    breaking, problems = schema_problems(against)
    for change in breaking:
        typer.echo(f"BREAKING {change}")
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
    missing = undocumented()
    if missing:
        typer.echo(f"no meaning in tooling/settings_docs.py for: {', '.join(missing)}", err=True)
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


# Last, after every command is defined: `python -m subgraphs.tooling.cli events ...` finds them all.
if __name__ == "__main__":
    app()

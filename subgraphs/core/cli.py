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

from subgraphs.core.domains import DOMAINS, app_path, outboxes, schema_of
from subgraphs.core.settings import SUBGRAPH_PORTS, Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"
ROUTER_DIR = ROOT / "router"

app = typer.Typer(help="CourseGraph: a federated GraphQL platform for course creators.", no_args_is_help=True)
schema_app = typer.Typer(help="Export, compose and check the federated schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
events_app = typer.Typer(help="Inspect and replay dead-lettered events.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")

DEMO_PASSWORD = "coursegraph-demo"
DEMO_USERS = (
    ("admin@coursegraph.dev", "Ada Admin", "site_admin"),
    ("instructor@coursegraph.dev", "Ivan Instructor", "instructor"),
    ("instructor2@coursegraph.dev", "Ines Instructor", "instructor"),
    ("student@coursegraph.dev", "Sam Student", "student"),
    ("student2@coursegraph.dev", "Sia Student", "student"),
)
# Their roles in the demo organization "Demo Academy" (slug demo-academy).
DEMO_MEMBERSHIPS = {
    "admin@coursegraph.dev": "organization_admin",
    "instructor@coursegraph.dev": "instructor",
    "instructor2@coursegraph.dev": "instructor",
    "student@coursegraph.dev": "student",
    "student2@coursegraph.dev": "student",
}


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
    if database_url:
        os.environ["DATABASE_URL"] = database_url
        get_settings.cache_clear()
    command.upgrade(config, "head")


@app.command()
def migrate() -> None:
    """Apply all database migrations."""
    settings = get_settings()
    _require_services(settings)
    migrate_database()
    typer.echo("database is up to date")


async def seed_demo(settings: Settings) -> list[tuple[str, str]]:
    """Idempotent demo data (never in production): one account per role, emails verified; the demo
    organization with its members; and each domain's demo content (its `seed.py`), made through the service
    functions as the demo people would, so its events reach analytics once the worker runs."""
    from sqlalchemy import select

    from subgraphs.core.app import close_runtime, create_runtime
    from subgraphs.core.auth import Principal
    from subgraphs.core.context import RequestMeta
    from subgraphs.core.rbac import Role
    from subgraphs.courses.seed import seed_demo_courses
    from subgraphs.organizations.seed import seed_demo_organization
    from subgraphs.quizzes.seed import seed_demo_quizzes
    from subgraphs.users.models import User
    from subgraphs.users.passwords import hash_password

    if settings.is_production:
        raise RuntimeError("refusing to seed demo accounts in production")
    # The verifier's key loader is never called: the seed acts through services, not HTTP.
    runtime = await create_runtime("seed", settings, key_loader=lambda **_: None)
    password_hash = await hash_password(DEMO_PASSWORD, settings.auth)
    try:
        async with runtime.transaction() as session:
            existing = set((await session.scalars(select(User.email))).all())
            for email, name, role in DEMO_USERS:
                if email not in existing:
                    session.add(
                        User(
                            email=email,
                            full_name=name,
                            role=role,
                            password_hash=password_hash,
                            email_verified=True,
                        )
                    )
        async with runtime.transaction() as session:
            ids = dict(
                (
                    await session.execute(select(User.email, User.id).where(User.email.in_(DEMO_MEMBERSHIPS)))
                ).all()
            )
        members = {ids[email]: role for email, role in DEMO_MEMBERSHIPS.items()}
        organization_id = await seed_demo_organization(runtime.sessionmaker, runtime.redis, members)

        roles = {email: Role(role) for email, _, role in DEMO_USERS}

        def acting(email: str) -> RequestMeta:
            principal = Principal(
                subject=str(ids[email]), kind="user", role=roles[email], email_verified=True
            )
            return RequestMeta(principal=principal, request_id="seed")

        courses = await seed_demo_courses(
            runtime,
            organization_id=organization_id,
            instructor=acting("instructor@coursegraph.dev"),
            instructor2=acting("instructor2@coursegraph.dev"),
            students=[acting("student@coursegraph.dev"), acting("student2@coursegraph.dev")],
        )
        await seed_demo_quizzes(
            runtime,
            instructor=acting("instructor@coursegraph.dev"),
            student=acting("student@coursegraph.dev"),
            organization_id=organization_id,
            course_id=courses.python_foundations,
            course_status=courses.status[courses.python_foundations],
            enrollments=[
                (e, u, status) for e, c, u, status in courses.enrollments if c == courses.python_foundations
            ],
        )
    finally:
        await close_runtime(runtime)
    return [(email, role) for email, _, role in DEMO_USERS]


SCALE_ORGANIZATION_SLUG = "scale-academy"
SCALE_STUDENT_EMAIL = "scale-student-{:05d}@learners.coursegraph.dev"


async def seed_scale(
    settings: Settings, *, courses: int, students: int, enrollments_per_student: int, attempts: int
) -> dict[str, int]:
    """Benchmark data in ONE transaction, bulk-inserted with COPY: the organization "Scale Academy", 5
    instructors, `students` students (password: the demo password, emails SCALE_STUDENT_EMAIL), published
    courses with lessons, an exercise and a quiz each, enrollments and submitted attempts. Idempotent (skips
    when the organization exists); never in production."""
    import uuid

    from redis.asyncio import Redis
    from sqlalchemy import select

    from subgraphs.core.db import create_engine, create_sessionmaker, utcnow
    from subgraphs.core.rbac import MEMBERSHIPS_KEY
    from subgraphs.courses.seed import copy_rows, seed_scale_courses
    from subgraphs.organizations.models import Membership, Organization
    from subgraphs.organizations.service import OrgSettings
    from subgraphs.quizzes.seed import seed_scale_quizzes
    from subgraphs.users.models import User
    from subgraphs.users.passwords import hash_password

    if settings.is_production:
        raise RuntimeError("refusing to seed benchmark data in production")
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            if await session.scalar(
                select(Organization.id).where(Organization.slug == SCALE_ORGANIZATION_SLUG)
            ):
                return {}
            password_hash = await hash_password(DEMO_PASSWORD, settings.auth)
            now = utcnow()
            instructors = [uuid.uuid4() for _ in range(5)]
            learners = [uuid.uuid4() for _ in range(students)]
            people = [
                (i, f"scale-instructor-{n}@learners.coursegraph.dev", f"Scale Instructor {n}", "instructor")
                for n, i in enumerate(instructors)
            ] + [
                (u, SCALE_STUDENT_EMAIL.format(n), f"Scale Student {n}", "student")
                for n, u in enumerate(learners)
            ]
            await copy_rows(
                session,
                User.__table__,
                [
                    "id",
                    "email",
                    "password_hash",
                    "full_name",
                    "role",
                    "is_active",
                    "email_verified",
                    "created_at",
                    "updated_at",
                ],
                [(i, e, password_hash, name, role, True, True, now, now) for i, e, name, role in people],
            )
            org = Organization(
                name="Scale Academy",
                slug=SCALE_ORGANIZATION_SLUG,
                description="Benchmark data (coursegraph seed --scale).",
                settings=OrgSettings().model_dump(),
            )
            session.add(org)
            await session.flush()
            roles = {i: "instructor" for i in instructors} | {u: "student" for u in learners}
            await copy_rows(
                session,
                Membership.__table__,
                ["id", "organization_id", "user_id", "role", "joined_at"],
                [(uuid.uuid4(), org.id, u, role, now) for u, role in roles.items()],
            )
            made = await seed_scale_courses(
                session,
                organization_id=org.id,
                instructor_ids=instructors,
                student_ids=learners,
                courses=courses,
                enrollments_per_student=enrollments_per_student,
            )
            written = await seed_scale_quizzes(
                session,
                organization_id=org.id,
                courses={c: instructors[n % len(instructors)] for n, c in enumerate(made.course_ids)},
                enrollments=made.enrollments,
                attempts=attempts,
            )
        redis = Redis.from_url(settings.redis.url)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for user_id, role in roles.items():
                    pipe.hset(MEMBERSHIPS_KEY.format(user_id=user_id), mapping={str(org.id): role})
                await pipe.execute()
        finally:
            await redis.aclose()
    finally:
        await engine.dispose()
    return {
        "users": len(people),
        "courses": len(made.course_ids),
        "enrollments": len(made.enrollments),
        "attempts": written,
    }


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

    if subgraph not in DOMAINS:
        raise typer.BadParameter(f"unknown subgraph {subgraph!r}; choose from {', '.join(DOMAINS)}")
    settings = get_settings()
    _require_services(settings)
    uvicorn.run(
        app_path(subgraph),
        host=settings.bind_host,
        port=port or SUBGRAPH_PORTS[subgraph],
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # client IPs come from X-Forwarded-For of trusted proxies only (core.app)
        ws="websockets-sansio",
        ws_max_size=settings.graphql.max_body_bytes,  # the HTTP body limit, for WebSocket messages
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The outbox relay and the event consumers of this process."""
    from redis.asyncio import Redis

    from subgraphs.core.db import create_engine, create_sessionmaker
    from subgraphs.core.domains import WorkerDeps, worker_tasks
    from subgraphs.core.events import OutboxRelay
    from subgraphs.core.mail import MailConsumer

    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    redis = Redis.from_url(settings.redis.url)
    ev = settings.events
    relay = OutboxRelay(
        sessionmaker,
        redis,
        outboxes(),
        batch_size=ev.relay_batch_size,
        poll_interval=ev.relay_poll_interval_seconds,
    )
    options = {
        "block_ms": ev.consumer_block_ms,
        "claim_idle_ms": ev.consumer_claim_idle_ms,
        "dedupe_ttl_seconds": ev.dedupe_ttl_seconds,
        "max_attempts": ev.consumer_max_attempts,
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


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; it signs from now on, older keys keep verifying until they are dropped."""
    from subgraphs.users.keys import rotate_keys

    kid = rotate_keys(get_settings().auth.signing_keys_file)
    typer.echo(f"new signing key {kid}")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":
    app()


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

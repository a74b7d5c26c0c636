"""CPU milliseconds per dashboard request of the courses, quizzes and users subgraphs, in ONE process.

No platform, no router, no HTTP client: each subgraph's ASGI app is called directly (a hand-built ASGI
scope) with the parts of the student dashboard that the router sends it (tests/perf/bench_dashboard.py),
and `time.process_time()` is read around each batch of 20 of `--requests` sequential requests. The figure
includes the app's whole request path (middleware, token check, Redis, SQL through asyncpg, GraphQL
execution, JSON) and nothing of a load generator. The mean and the best batch are printed: on a shared
machine the best batch (the one neighbours disturbed least) is the steadier figure to compare.

    uv run python tests/perf/cpu_in_process.py [--requests 200] [--students 10] [--profile courses]

It uses a database of its own (`coursegraph_perf_in_process` on the local PostgreSQL, created, migrated
and seeded with `seed_scale` the first time, kept for the next run; `--fresh` recreates it) and a Redis db
claimed like the tests'. Per part it prints CPU ms per request, SQL statements per request and a digest
of the answer (a change that keeps the digest kept the answer). `--profile NAME` prints a statistical
profile of that part. Figures are for reading; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from tests.perf.bench_dashboard import COURSES_PART, QUIZZES_PART
from tests.services import claim_redis_db, release_redis_db

DATABASE = "coursegraph_perf_in_process"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 20  # requests per timed batch: the best batch is the one neighbours disturbed least
DATA_DIR = Path(tempfile.gettempdir()) / "coursegraph-perf-in-process"
USERS_PART = """{ me { fullName } }"""
INSTRUCTORS_PART = """query($r: [_Any!]!) { _entities(representations: $r) { ... on User { fullName } } }"""


async def prepare_database(fresh: bool, students: int) -> None:
    import asyncpg

    from subgraphs.core.settings import get_settings
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.tooling.seed_runner import seed_scale

    admin = await asyncpg.connect(ADMIN_URL)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if exists and fresh:
            await admin.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
        if not exists or fresh:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    await asyncio.to_thread(migrate_database)
    # The shape of `seed --scale` (10 enrollments per student, ~2.5 attempts per quiz), fewer people.
    counts = await seed_scale(
        get_settings(), courses=200, students=max(students, 200), enrollments_per_student=10, attempts=5000
    )
    if counts:
        print("seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


async def sign_in(students: int) -> list[dict[str, Any]]:
    """Tokens of the first `students` scale students, issued as the users subgraph does (a live session in
    Redis, their memberships projected), with the course ids of their dashboard."""
    from sqlalchemy import select

    from subgraphs.core.app import close_runtime, create_runtime
    from subgraphs.core.auth import REVOKED_CLIENTS_MARKER, SESSION_KEY
    from subgraphs.core.rbac import MEMBERSHIPS_MARKER, Role
    from subgraphs.core.seeding import SCALE_STUDENT_EMAIL
    from subgraphs.core.settings import get_settings
    from subgraphs.courses.models import Course, Enrollment
    from subgraphs.organizations.authz import project_user
    from subgraphs.users.keys import SigningKeys
    from subgraphs.users.models import User
    from subgraphs.users.tokens import issue_user_token

    settings = get_settings()
    runtime = await create_runtime("perf", settings, key_loader=SigningKeys(settings).get_public)
    keys = SigningKeys(settings)
    found = []
    try:
        for marker in (MEMBERSHIPS_MARKER, REVOKED_CLIENTS_MARKER):  # what a worker would rebuild: complete
            await runtime.redis.set(marker, "perf")
        emails = [SCALE_STUDENT_EMAIL.format(n) for n in range(students)]
        async with runtime.sessionmaker() as session:
            users = (await session.execute(select(User.id, User.email).where(User.email.in_(emails)))).all()
            for user_id, _ in sorted(users, key=lambda u: u.email):
                courses = (
                    await session.execute(
                        select(Course.id, Course.instructor_id)
                        .join(Enrollment, Enrollment.course_id == Course.id)
                        .where(Enrollment.user_id == user_id)
                        .order_by(Enrollment.enrolled_at, Enrollment.id)
                    )
                ).all()
                session_id = uuid.uuid4()
                await runtime.redis.set(SESSION_KEY.format(sid=session_id), str(user_id), ex=3600)
                await project_user(runtime.sessionmaker, runtime.redis, user_id)
                token = issue_user_token(
                    keys, settings, user_id=user_id, role=Role.STUDENT, session_id=session_id, orgs=[]
                )
                found.append(
                    {
                        "user_id": str(user_id),
                        "token": token,
                        "courses": [str(c.id) for c in courses],
                        "instructors": sorted({str(c.instructor_id) for c in courses}),
                    }
                )
    finally:
        await close_runtime(runtime)
    return found


async def call(app: Any, token: str, body: bytes) -> bytes:
    """One POST /graphql straight into the ASGI app; the response body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50999),
        "server": ("bench", 80),
        "state": {},
    }
    sent = False
    chunks: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # no disconnect while the app runs
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer = b"".join(chunks)
    assert status == 200 and b'"errors"' not in answer, answer[:300]
    return answer


class Sampler(threading.Thread):
    """A statistical profile of the main thread (a sample every ms; idle waits in the event loop's select
    left out): inclusive share per function and per package. cProfile's own cost per call would triple
    the figures and skew them toward code with many small calls (GraphQL execution)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.main = threading.main_thread().ident
        self.samples: list[list[tuple[str, str]]] = []
        self.running = True

    def run(self) -> None:
        sys.setswitchinterval(0.0002)  # else the main thread gives up the GIL only at system calls
        while self.running:
            time.sleep(0.001)
            frame = sys._current_frames().get(self.main)  # noqa: SLF001 - the sampling profiler's way
            stack = []
            try:
                while frame is not None:
                    stack.append((frame.f_code.co_filename, frame.f_code.co_name))
                    frame = frame.f_back
            except AttributeError:  # a frame torn down meanwhile
                continue
            if stack and stack[0][1] not in ("select", "poll"):
                self.samples.append(stack)

    def stop(self) -> None:
        self.running = False
        self.join()
        sys.setswitchinterval(0.005)

    def report(self, focus: str | None, top: int = 45) -> None:
        functions: Counter[str] = Counter()
        packages: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for stack in self.samples:
            seen = {f"{Path(file).name}:{name}" for file, name in stack}
            functions.update(seen)
            own[f"{Path(stack[0][0]).name}:{stack[0][1]}"] += 1
            packages[_package(stack[0][0])] += 1
        total = len(self.samples)
        print(f"{total} samples; by package of the running function:")
        for name, count in packages.most_common(12):
            print(f"  {100 * count / total:5.1f} %  {name}")
        print("inclusive:")
        for name, count in functions.most_common(top):
            print(f"  {100 * count / total:5.1f} %  {name}")
        if focus:
            callees: Counter[str] = Counter()
            for stack in self.samples:
                names = [f"{Path(file).name}:{name}" for file, name in stack]
                if focus in names:
                    at = names.index(focus)
                    callees[names[at - 1] if at > 0 else "(self)"] += 1
            print(f"called by {focus}:")
            for name, count in callees.most_common(15):
                print(f"  {100 * count / total:5.1f} %  {name}")
        print("self:")
        for name, count in own.most_common(25):
            print(f"  {100 * count / total:5.1f} %  {name}")


def _package(file: str) -> str:
    parts = Path(file).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    if "subgraphs" in parts:
        return "/".join(parts[parts.index("subgraphs") : parts.index("subgraphs") + 2])
    return Path(file).parent.name


async def measure(
    name: str, domain: str, requests: list[tuple[str, bytes]], n: int, profile: bool, focus: str | None
) -> None:
    import importlib

    from sqlalchemy import event

    from subgraphs.core.settings import get_settings
    from subgraphs.users.keys import SigningKeys

    create_app = importlib.import_module(f"subgraphs.{domain}.app").create_app
    if domain == "users":  # it signs tokens: it verifies them with its own keys
        app = create_app(get_settings())
    else:
        app = create_app(get_settings(), key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        digest = hashlib.sha256()
        for token, body in requests:  # warm up: every token once (verified, then remembered), every body
            digest.update(await call(app, token, body))
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        engine = app.state.runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        sampler = Sampler() if profile else None
        if sampler:
            sampler.start()
        batches = []  # CPU ms per request of each batch of BATCH requests
        for first in range(0, n, BATCH):
            started = time.process_time()
            for i in range(first, min(n, first + BATCH)):
                token, body = requests[i % len(requests)]
                await call(app, token, body)
            batches.append(1000 * (time.process_time() - started) / (min(n, first + BATCH) - first))
        if sampler:
            sampler.stop()
        event.remove(engine, "before_cursor_execute", count)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"{name:24} CPU ms/request: mean {sum(batches) / len(batches):6.2f}, best batch {min(batches):6.2f}  "
        f"{statements / n:4.1f} statements/request  "
        f"answers {digest.hexdigest()[:12]}  (n={n}, load {load})",
        flush=True,
    )
    if sampler:
        sampler.report(focus)


async def main(args: argparse.Namespace) -> None:
    await prepare_database(args.fresh, args.students)
    students = await sign_in(args.students)
    print(f"{len(students)} students, {len(students[0]['courses'])} enrollments each")

    def body(query: str, variables: dict | None = None) -> bytes:
        return json.dumps({"query": query, "variables": variables or {}}).encode()

    parts = {
        "courses": (
            "courses part",
            [
                (s["token"], body(COURSES_PART, {"r": [{"__typename": "User", "id": s["user_id"]}]}))
                for s in students
            ],
        ),
        "quizzes": (
            "quizzes part",
            [
                (
                    s["token"],
                    body(QUIZZES_PART, {"r": [{"__typename": "Course", "id": c} for c in s["courses"]]}),
                )
                for s in students
            ],
        ),
        "users": (
            "users: me + instructors",
            [(s["token"], body(USERS_PART)) for s in students]
            + [
                (
                    s["token"],
                    body(
                        INSTRUCTORS_PART, {"r": [{"__typename": "User", "id": i} for i in s["instructors"]]}
                    ),
                )
                for s in students
            ],
        ),
    }
    for domain in args.parts:
        name, requests = parts[domain]
        # users: two requests per dashboard, so twice the requests for the same count of dashboards
        n = args.requests * (2 if domain == "users" else 1)
        await measure(name, domain, requests, n, profile=args.profile == domain, focus=args.focus)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="dashboards per part")
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--parts", nargs="+", default=["courses", "quizzes", "users"])
    parser.add_argument("--profile", choices=["courses", "quizzes", "users"])
    parser.add_argument("--focus", help="with --profile: what FILE:FUNCTION spends its time in")
    parser.add_argument("--fresh", action="store_true", help="recreate and reseed the database")
    arguments = parser.parse_args()
    redis_url = claim_redis_db("redis://127.0.0.1:6379")
    os.environ.update(
        {
            "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}",
            "REDIS_URL": redis_url,
            "COURSEGRAPH_DATA_DIR": str(DATA_DIR),
            "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": str(DATA_DIR / "keys" / "signing-keys.json"),
            "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "100000000",
        }
    )
    try:
        asyncio.run(main(arguments))
    finally:
        release_redis_db(redis_url)

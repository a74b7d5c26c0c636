"""Benchmark: analytics ingestion through the consumers, then `courseReport` on a 2,000-student course.

    uv run python tests/perf/bench_analytics.py [--events 1000000] [--consumers 2] [--courses 10]
        [--students 2000] [--rounds 20] [--producer inline|process|ahead]

Self-contained: a fresh database (PostgreSQL and Redis on 127.0.0.1, else embedded ones, as the tests).
1. Ingestion: `--courses` courses of `--students` students each; one course.published per course and one
   enrollment.created per student, the rest a mix of lesson completions, quiz attempts started/submitted,
   answers saved, tracked client activity, lab sessions started/stopped (events.labs) and sign-ins, spread
   over the last 45 days (monthly partitions). Entries are written to the domains' streams exactly as
   the relay writes them (core.events.queue_xadds), in pipelined batches, while `--consumers`
   AnalyticsConsumers (one process, one asyncio task each, the worker's code, with the worker's
   ConsumedLedger) read them; the producer keeps the backlog under 40,000 entries so Redis memory stays
   bounded. `--producer inline` runs it in the consumers' process and event loop (its CPU counts there);
   `--producer process` in a child process, as production's relay is another process; `--producer ahead`
   writes every entry before the consumers start (their own CPU and rate, as after an outage; keep
   `--events` under ~150,000: the streams hold them all). Prints events/s (first entry written, or the
   consumers' start with `ahead` → last event committed), the CPU per event of this process and of its
   PostgreSQL backends (from /proc), the load average and the rows it produced.
2. `courseReport` (the whole report: stats, 30-day series, all 2,000 students with their metrics) through
   the analytics subgraph's ASGI app as a site admin: p50/p95 with a cold cache (every generation counter of
   the course and its students bumped before each request, as an event would) and with a warm one.
Figures are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, release_redis_db, resolve_services  # noqa: E402

REPORT = """query($c: ID!) { courseReport(courseId: $c) { title stats { enrollments activeStudents
  completionRate averageQuizScore averageProgress labHours atRiskCount }
  series { day activeStudents submissions labHours lessonCompletions }
  students { user { id } progressPercent quizAttempts engagement { engagementScore riskLevel } } } }"""
BACKLOG = 40_000
STREAM_CAP = 60_000  # approximate MAXLEN per stream (consumed entries go; the backlog bound keeps it safe)
MIX = [  # (kind, weight)
    ("lesson", 15),
    ("attempt_started", 8),
    ("attempt_submitted", 8),
    ("answer", 25),
    ("tracked", 20),
    ("lab_started", 6),
    ("lab_stopped", 6),
    ("login", 12),
]


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):8.1f} ms   p95 {p95:8.1f} ms   max {ms[-1]:8.1f} ms   (n={len(ms)})"


class Generator:
    """Event envelopes (dicts, as outbox rows hold them) of a synthetic school."""

    def __init__(self, courses: int, students: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.org = self.new_id()
        self.instructor = self.new_id()
        self.courses = [self.new_id() for _ in range(courses)]
        self.learners = [(c, self.new_id(), self.new_id()) for c in self.courses for _ in range(students)]
        self.now = datetime.now(UTC)
        self.kinds = [k for k, w in MIX for _ in range(w)]

    def new_id(self) -> str:
        """A random version-4 UUID (text) from the seeded generator: the ids' randomness without uuid4's
        system call and UUID object per id (under load ~9 us an id, ~45 us an event: it was most of the
        producer's CPU, and the relay, which the producer stands for, makes no ids)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _at(self, days_ago_max: float = 45) -> str:
        return (self.now - timedelta(seconds=self.rng.uniform(0, days_ago_max * 86400))).isoformat()

    def envelope(self, type_: str, at: str, payload: dict[str, Any], user: str | None = None) -> dict:
        return {
            "id": self.new_id(),
            "type": type_,
            "occurred_at": at,
            "actor_id": user,
            "organization_id": self.org,
            "subject_ids": {"user_id": user} if user else {},
            "payload": payload,
            "request_id": None,
            "source_ip": None,
            "version": 1,
        }

    def setup(self) -> list[tuple[str, dict]]:
        start = (self.now - timedelta(days=46)).isoformat()
        out = []
        for c in self.courses:
            payload = {
                "course_id": c,
                "organization_id": self.org,
                "instructor_id": self.instructor,
                "status": "PUBLISHED",
                "title": f"Course {c[:8]}",
            }
            out.append(("courses", self.envelope("courses.course.published", start, payload)))
        for c, u, e in self.learners:
            payload = {
                "enrollment_id": e,
                "user_id": u,
                "course_id": c,
                "organization_id": self.org,
                "status": "ACTIVE",
            }
            out.append(("courses", self.envelope("courses.enrollment.created", start, payload, u)))
        return out

    def one(self) -> tuple[str, dict]:
        c, u, e = self.rng.choice(self.learners)
        kind = self.rng.choice(self.kinds)
        at = self._at()
        base = {"user_id": u, "course_id": c}
        if kind == "lesson":
            payload = {
                **base,
                "lesson_id": self.new_id(),
                "enrollment_id": e,
                "progress_percent": self.rng.randint(1, 100),
            }
            return "courses", self.envelope("courses.lesson.completed", at, payload, u)
        if kind in ("attempt_started", "attempt_submitted"):
            payload = {**base, "attempt_id": self.new_id(), "quiz_id": self.new_id()}
            if kind == "attempt_started":
                payload["number"] = 1
            if kind == "attempt_submitted":
                score = self.rng.randint(0, 10)
                payload |= {"score": score, "max_score": 10, "passed": score >= 6, "late": False}
            return "quizzes", self.envelope(f"quizzes.attempt.{kind.split('_')[1]}", at, payload, u)
        if kind == "answer":
            payload = {
                **base,
                "attempt_id": self.new_id(),
                "quiz_id": self.new_id(),
                "question_id": self.new_id(),
                "organization_id": self.org,
                "time_spent_ms": self.rng.randint(5, 120) * 1000,
            }
            return "quizzes", self.envelope("quizzes.answer.saved", at, payload, u)
        if kind == "tracked":
            payload = {
                **base,
                "organization_id": self.org,
                "activity_type": "PAGE_VIEW",
                "data": {"page": "x"},
            }
            return "analytics", self.envelope("analytics.activity.tracked", at, payload, u)
        if kind.startswith("lab"):
            verb = kind.split("_")[1]
            payload = {
                **base,
                "session_id": self.new_id(),
                "organization_id": self.org,
                "exercise_id": self.new_id(),
                "ide": "VSCODE",
                "status": "RUNNING" if verb == "started" else "STOPPED",
                "running_seconds": self.rng.uniform(60, 3600) if verb == "stopped" else 0.0,
                "reason": "user" if verb == "stopped" else None,
            }
            return "labs", self.envelope(f"labs.session.{verb}", at, payload, u)
        return "users", self.envelope("users.auth.login_succeeded", at, {"session_id": self.new_id()}, u)


async def produce(redis: Any, gen: Generator, total: int, consumed: Any, started: Any) -> None:
    """XADD `total` entries in pipelined batches of 2,000, keeping the backlog under BACKLOG.
    `consumed` and `started` are shared values (the consumer's count in, the first write's time out)."""
    from subgraphs.core.events import queue_xadds, stream_name

    queue = iter(gen.setup())
    produced = 0
    while produced < total:
        if produced - consumed.value > BACKLOG:
            await asyncio.sleep(0.01)
            continue
        async with redis.pipeline(transaction=False) as pipe:
            envelopes = [next(queue, None) or gen.one() for _ in range(min(2000, total - produced))]
            queue_xadds(pipe, ((stream_name(d), e) for d, e in envelopes), maxlen=STREAM_CAP)
            produced += len(envelopes)
            if not started.value:
                started.value = time.time()
            await pipe.execute()


def produce_in_child(redis_url: str, gen: Generator, total: int, consumed: Any, started: Any) -> None:
    """`--producer process`: the producer in a process of its own, as production's relay is."""
    from redis.asyncio import Redis

    async def main() -> None:
        redis = Redis.from_url(redis_url)
        await produce(redis, gen, total, consumed, started)
        await redis.aclose()

    asyncio.run(main())


async def ingest_phase(runtime: Any, events: int, consumers: int, gen: Generator, producer: str) -> float:
    from subgraphs.analytics.ingest import AnalyticsConsumer
    from subgraphs.core.events import ConsumedLedger

    redis = runtime.redis
    ledger = ConsumedLedger(runtime.sessionmaker)  # as the worker's consumers have
    workers = [
        AnalyticsConsumer(redis, runtime.sessionmaker, name=f"bench-{i}", block_ms=50, ledger=ledger)
        for i in range(consumers)
    ]
    await workers[0].ensure_groups()
    total = max(events, len(gen.setup()))
    spawn = multiprocessing.get_context("spawn")
    consumed = spawn.Value("q", 0, lock=False)  # written by this process only
    started = spawn.Value("d", 0.0, lock=False)  # wall clock of the first write (time.time())
    finished = asyncio.Event()

    async def consume(worker: AnalyticsConsumer) -> None:
        while not finished.is_set():
            done = await worker.consume_once(block_ms=50)  # not `x += await ...`: that loses updates
            consumed.value += done
            if consumed.value >= total:
                finished.set()

    if producer == "ahead":  # every entry written before the consumers start: their own CPU and rate
        await produce(
            redis, gen, total, spawn.Value("q", total, lock=False), spawn.Value("d", 0.0, lock=False)
        )
    cpu, db_cpu = time.process_time(), await _backends_cpu(runtime)
    tasks = [asyncio.create_task(consume(w)) for w in workers]
    reporter = asyncio.create_task(_report_progress(lambda: consumed.value, total, started))
    if producer == "ahead":
        started.value = time.time()
        await finished.wait()
    elif producer == "process":
        child = spawn.Process(
            target=produce_in_child, args=(runtime.settings.redis.url, gen, total, consumed, started)
        )
        child.start()
        await finished.wait()
        await asyncio.to_thread(child.join)
    else:
        await produce(redis, gen, total, consumed, started)
        await finished.wait()
    elapsed = time.time() - started.value
    cpu = time.process_time() - cpu
    db_cpu = {pid: t - db_cpu.get(pid, 0.0) for pid, t in (await _backends_cpu(runtime)).items()}
    reporter.cancel()
    await asyncio.gather(*tasks)
    print(
        f"ingested {consumed.value:,} events with {consumers} consumer(s), producer {producer}, in "
        f"{elapsed:.1f} s: {consumed.value / elapsed:,.0f} events/s; this process's CPU "
        f"{cpu * 1e6 / consumed.value:,.0f} us/event, its PostgreSQL backends' "
        f"{sum(db_cpu.values()) * 1e6 / consumed.value:,.0f} us/event; load average {_load()}"
    )
    return elapsed


async def _backends_cpu(runtime: Any) -> dict[int, float]:
    """CPU seconds (user + system) of this database's PostgreSQL backends so far, by pid (from /proc: the
    server runs on this machine; 0 where it is not readable)."""
    from sqlalchemy import text

    async with runtime.transaction() as session:
        pids = (
            await session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        ).all()
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def _report_progress(done: Any, total: int, started: Any) -> None:
    while True:
        await asyncio.sleep(15)
        n, elapsed = done(), time.time() - (started.value or time.time())
        print(f"  ... {n:,}/{total:,} ({n / max(elapsed, 1e-9):,.0f} events/s)", flush=True)


async def report_phase(app: Any, runtime: Any, gen: Generator, rounds: int, token: str) -> None:
    import httpx
    from sqlalchemy import func, select, text

    from subgraphs.analytics import caching
    from subgraphs.analytics.models import Learner, RiskAlert

    course = uuid.UUID(gen.courses[0])
    async with runtime.transaction() as session:
        users = (await session.scalars(select(Learner.user_id).where(Learner.course_id == course))).all()
        rows = {
            name: await session.scalar(text(f"SELECT count(*) FROM analytics.{name}"))
            for name in ("activity_event", "learner", "learner_day", "course_day")
        }
        rows["risk_alert"] = await session.scalar(select(func.count()).select_from(RiskAlert))
        parts = await session.scalar(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'analytics.activity_event'::regclass")
        )
    print(f"rows: {rows}; activity_event partitions: {parts}")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://analytics", timeout=120
    )
    headers = {"Authorization": f"Bearer {token}"}

    async def once() -> float:
        t0 = time.perf_counter()
        response = await client.post(
            "/graphql", json={"query": REPORT, "variables": {"c": str(course)}}, headers=headers
        )
        elapsed = time.perf_counter() - t0
        body = response.json()
        assert "errors" not in body, body
        assert len(body["data"]["courseReport"]["students"]) == len(users)
        return elapsed

    cold, warm = [], []
    for _ in range(rounds):
        await caching.invalidate(runtime.redis, learners=[(course, u) for u in users], courses=[course])
        cold.append(await once())
    for _ in range(rounds):
        warm.append(await once())
    stats = (
        await client.post(
            "/graphql", json={"query": REPORT, "variables": {"c": str(course)}}, headers=headers
        )
    ).json()["data"]["courseReport"]["stats"]
    await client.aclose()
    print(f"courseReport, {len(users):,} students: {stats}")
    print(f"  cold cache: {summary(cold)}")
    print(f"  warm cache: {summary(warm)}")


async def run(args: argparse.Namespace) -> None:
    from subgraphs.analytics.app import create_app
    from subgraphs.core.settings import get_settings
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.keys import SigningKeys
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        gen = Generator(args.courses, args.students)
        print(f"{args.courses} courses x {args.students} students, {args.events:,} events")
        await ingest_phase(runtime, args.events, args.consumers, gen, args.producer)
        admin = await Minter(settings, runtime).user("site_admin")
        await report_phase(app, runtime, gen, args.rounds, admin.token)


async def main(args: argparse.Namespace) -> None:
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
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--courses", type=int, default=10)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--producer", choices=["inline", "process", "ahead"], default="inline")
    asyncio.run(main(parser.parse_args()))

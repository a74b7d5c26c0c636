"""Ingestion: every domain's events into the raw table, the projections and the rollups, exactly once.

`AnalyticsConsumer` (worker, group `analytics`) reads `events.<domain>` for every domain in DOMAINS (the
lab session events follow docs/domains/labs.md, "Events"). Each event is applied in ONE transaction:

1. the raw row `INSERT ... ON CONFLICT (id, occurred_at) DO NOTHING` — a redelivered event stops here;
2. the projection / aggregate upserts (counters add, states only move forward by `occurred_at`);
3. the student's risk level is re-evaluated (metrics.assess) against the stored one; a rise to HIGH
   appends a `risk_alert` row (per-course seq) in this same transaction, so a transition produces exactly
   one alert however often the event is delivered.

After the commit: the caches of that student and that course are invalidated (their generation counters
move, see caching.py), the course's live "active today" HyperLogLog gets the student, and the alert is
published to `riskAlerts` subscribers. A crash before the commit changes nothing (the event is redelivered);
a crash after it leaves a redelivery that step 1 drops — and caches that expire on their own TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, cast

import orjson
from redis.asyncio import Redis
from sqlalchemy import Row, Table, case, func, select, text, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from subgraphs.analytics import caching
from subgraphs.analytics.metrics import INACTIVE_DAYS, LearnerState, RiskLevel, assess
from subgraphs.analytics.models import (
    ActivityEvent,
    Course,
    CourseDay,
    Learner,
    LearnerDay,
    RiskAlert,
    UserActivity,
)
from subgraphs.contracts.analytics import ActivityTracked
from subgraphs.contracts.base import parse
from subgraphs.contracts.courses import CourseDeleted, CourseSnapshot, EnrollmentSnapshot, LessonCompleted
from subgraphs.contracts.labs import LabSessionSnapshot
from subgraphs.contracts.quizzes import AnswerSaved, AttemptEvent, AttemptSubmitted
from subgraphs.core.consumers import EVERY_STREAM, DatabaseConsumer
from subgraphs.core.db import arrays, from_arrays, utcnow
from subgraphs.core.events import Event, Message, keep_running
from subgraphs.core.ids import to_uuid
from subgraphs.core.live import LiveHub, append_stream_event

log = logging.getLogger("coursegraph.analytics")


def _table(model: type[DeclarativeBase]) -> Table:
    # Declarative types `__table__` as any FromClause; our mapped classes have a Table (insert wants one).
    return cast(Table, model.__table__)


COURSE_EVENTS = frozenset(
    f"courses.course.{v}" for v in ("created", "updated", "published", "unpublished", "archived", "deleted")
)
LAB_EVENTS = frozenset(
    f"labs.session.{v}" for v in ("requested", "started", "paused", "resumed", "stopped", "failed")
)
# Events of a student in a course, and whether each counts as that student's activity.
LEARNER_EVENTS: dict[str, bool] = {
    "courses.enrollment.created": True,
    "courses.enrollment.dropped": False,
    "courses.enrollment.completed": False,  # comes with the lesson.completed that finished the course
    "courses.lesson.completed": True,
    "quizzes.attempt.started": True,
    "quizzes.attempt.submitted": True,
    "quizzes.answer.saved": True,
    "analytics.activity.tracked": True,
    **{t: t.endswith(("requested", "started", "resumed")) for t in LAB_EVENTS},
}
LOGIN = "users.auth.login_succeeded"
GENERATOR_PREFIX = "generator.job."
ENROLLMENT_STATUS = {
    "courses.enrollment.created": "ACTIVE",
    "courses.enrollment.dropped": "DROPPED",
    "courses.enrollment.completed": "COMPLETED",
}


def ingested(event_type: str) -> bool:
    return (
        event_type in LEARNER_EVENTS
        or event_type in COURSE_EVENTS
        or event_type == LOGIN
        or event_type.startswith(GENERATOR_PREFIX)
    )


def analytics_streams() -> tuple[str, ...]:
    return EVERY_STREAM


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


@dataclass
class Effects:
    """What to do once the transaction committed."""

    learners: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)  # (course, user)
    courses: set[uuid.UUID] = field(default_factory=set)
    active: set[tuple[uuid.UUID, date, uuid.UUID]] = field(default_factory=set)  # (course, day, user)
    # Written at the END of the transaction, in sorted order: these rows are shared by every student of a
    # course, so taking their locks last and in one order keeps concurrent batches from deadlocking.
    days: dict[tuple[uuid.UUID, date], dict[str, float]] = field(default_factory=dict)
    new_alerts: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)
    alerts: list[RiskAlert] = field(default_factory=list)  # appended rows, published after commit


# The contracts of the events of a student in a course: each names the student and the course.
LearnerPayload = (
    EnrollmentSnapshot | LessonCompleted | AttemptEvent | AnswerSaved | ActivityTracked | LabSessionSnapshot
)
LEARNER_CONTRACTS = (
    EnrollmentSnapshot,
    LessonCompleted,
    AttemptEvent,
    AnswerSaved,
    ActivityTracked,
    LabSessionSnapshot,
)


def _payload(event: Event) -> LearnerPayload | CourseSnapshot | None:
    """The typed payload of a learner or course event (the others are ingested by their envelope alone)."""
    if event.type not in LEARNER_EVENTS and event.type not in COURSE_EVENTS:
        return None
    payload = parse(event)
    if not isinstance(payload, (*LEARNER_CONTRACTS, CourseSnapshot)):
        raise TypeError(f"{event.type}: {type(payload).__name__} is not a learner or course contract")
    return payload


def _ids(
    event: Event, payload: LearnerPayload | CourseSnapshot | None
) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """(student, course, organization) of an event: from its payload where the contract names them, else
    from the envelope (a login names its user, a generation job its course)."""
    s = event.subject_ids
    if isinstance(payload, CourseSnapshot):
        return to_uuid(s.get("user_id") or ""), payload.course_id, payload.organization_id
    org = to_uuid(event.organization_id or "")
    if payload is not None:
        return payload.user_id, payload.course_id, org
    return to_uuid(s.get("user_id") or ""), to_uuid(s.get("course_id") or ""), org


# An event's typed payload and its (student, course, organization): worked out once per event.
Parsed = tuple[LearnerPayload | CourseSnapshot | None, uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]


def parse_event(event: Event) -> Parsed:
    payload = _payload(event)
    return (payload, *_ids(event, payload))


class Partitions:
    """Creates the month partitions of activity_event on demand (each month once per process), in its own
    transaction so a rolled-back event never takes the partition with it."""

    def __init__(self) -> None:
        self._known: set[tuple[int, int]] = set()

    async def ensure(self, sessionmaker: async_sessionmaker[AsyncSession], at: datetime) -> None:
        at = at.astimezone(UTC)
        if (at.year, at.month) in self._known:
            return
        async with sessionmaker() as session, session.begin():
            await session.execute(text("SELECT analytics.ensure_activity_partition(:at)"), {"at": at})
        self._known.add((at.year, at.month))


async def apply_events(
    session: AsyncSession,
    events: list[Event],
    effects: Effects,
    parsed: dict[uuid.UUID, Parsed] | None = None,
) -> int:
    """Apply a batch of events in the caller's transaction; returns how many were new.

    Set-based, so a batch costs a handful of statements whatever its size: one raw insert of the whole
    batch (its RETURNING names the events not applied before: the dedupe), one upsert of every touched
    student with the batch's deltas summed per student, one insert of their active days, one read of their
    last 14 days, the risk levels that changed, then the shared rows (daily course rollups, alerts) in key
    order. The batch statements take one array per column (core.db.from_arrays).
    """
    wanted = list({e.id: e for e in events if ingested(e.type)}.values())
    if not wanted:
        return 0
    known = parsed or {}  # parsed already by the caller (the consumer sorts by them): parse once
    parsed = {e.id: known[e.id] if e.id in known else parse_event(e) for e in wanted}
    columns = arrays(
        (
            {
                "id": e.id,
                "occurred_at": e.occurred_at,
                "type": e.type[:120],
                "user_id": parsed[e.id][1],
                "course_id": parsed[e.id][2],
                "organization_id": parsed[e.id][3],
                "payload": orjson.dumps(e.payload).decode(),
            }
            for e in wanted
        ),
        RAW_COLUMNS,
    )
    fresh_ids = set((await session.execute(_RAW_INSERT, columns)).scalars().all())
    fresh = [e for e in wanted if e.id in fresh_ids]
    logins: dict[uuid.UUID, tuple[datetime, int]] = {}
    learners: dict[tuple[uuid.UUID, uuid.UUID], _Delta] = {}
    for event in sorted(fresh, key=lambda e: e.occurred_at):
        payload, user, course, org = parsed[event.id]
        if isinstance(payload, CourseSnapshot):
            await _apply_course(session, event, payload, effects)
        elif event.type == LOGIN and user is not None:
            at, n = logins.get(user, (event.occurred_at, 0))
            logins[user] = (max(at, event.occurred_at), n + 1)
        elif payload is not None and user is not None and course is not None:
            learners.setdefault((course, user), _Delta(course, user)).add(event, payload, org, effects)
    if logins:
        users = sorted(logins)
        await session.execute(
            _LOGINS,
            {
                "user_id": users,
                "last_login_at": [logins[u][0] for u in users],
                "logins": [logins[u][1] for u in users],
            },
        )
    if learners:
        await _apply_learners(session, learners, effects)
    await _flush(session, effects)
    return len(fresh)


RAW_COLUMNS = ("id", "occurred_at", "type", "user_id", "course_id", "organization_id", "payload")
_RAW_INSERT = (
    insert(_table(ActivityEvent))  # received_at: its default, once per statement
    .from_select(RAW_COLUMNS, from_arrays(_table(ActivityEvent), RAW_COLUMNS))
    .on_conflict_do_nothing(index_elements=["id", "occurred_at"])
    .returning(_table(ActivityEvent).c.id)
)

LOGIN_COLUMNS = ("user_id", "last_login_at", "logins")


def _logins() -> Any:
    table = _table(UserActivity)
    stmt = insert(table).from_select(LOGIN_COLUMNS, from_arrays(table, LOGIN_COLUMNS))
    return stmt.on_conflict_do_update(
        index_elements=[table.c.user_id],
        set_={
            "last_login_at": func.greatest(table.c.last_login_at, stmt.excluded.last_login_at),
            "logins": table.c.logins + stmt.excluded.logins,
        },
    )


_LOGINS = _logins()


async def _apply_course(
    session: AsyncSession, event: Event, payload: CourseSnapshot, effects: Effects
) -> None:
    course = payload.course_id
    stmt = insert(Course).values(
        course_id=course,
        organization_id=payload.organization_id,
        instructor_id=payload.instructor_id,
        title=payload.title[:200],
        status="DELETED" if isinstance(payload, CourseDeleted) else payload.status,
        as_of=event.occurred_at,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Course.course_id],
            set_={
                k: stmt.excluded[k] for k in ("organization_id", "instructor_id", "title", "status", "as_of")
            },
            where=Course.as_of <= stmt.excluded.as_of,
        )
    )
    effects.courses.add(course)


LEARNER_COUNTERS = (
    "events",
    "lessons_completed",
    "quiz_attempts",
    "quiz_percent_sum",
    "quizzes_passed",
    "lab_sessions",
    "lab_sessions_ended",
    "lab_sessions_failed",
    "lab_seconds",
)
DAY_COUNTERS = ("active_students", "lesson_completions", "quiz_submissions", "lab_seconds", "events")


class _Delta:
    """One student's share of a batch: summed counters, the latest state-setting events, active days."""

    def __init__(self, course: uuid.UUID, user: uuid.UUID) -> None:
        self.course, self.user = course, user
        self.values: dict[str, Any] = {
            "course_id": course,
            "user_id": user,
            "organization_id": None,
            "enrollment_id": None,
            "status": "ACTIVE",
            "status_as_of": None,
            "enrolled_at": None,
            "last_activity_at": None,
            "progress_percent": 0,
            "progress_as_of": None,
            "risk_level": RiskLevel.LOW.value,
            **dict.fromkeys(LEARNER_COUNTERS, 0),
        }
        self.latest: datetime | None = None
        self.days: set[date] = set()

    def add(self, event: Event, p: LearnerPayload, org: uuid.UUID | None, effects: Effects) -> None:
        """Events arrive oldest first (the batch is sorted by occurred_at)."""
        v, at, kind = self.values, event.occurred_at, event.type
        self.latest = at
        v["events"] += 1
        v["organization_id"] = org or v["organization_id"]
        if isinstance(p, (EnrollmentSnapshot, LessonCompleted)):
            v["enrollment_id"] = p.enrollment_id
        if kind in ENROLLMENT_STATUS:
            v["status"], v["status_as_of"] = ENROLLMENT_STATUS[kind], at
            if kind == "courses.enrollment.created" and v["enrolled_at"] is None:
                v["enrolled_at"] = at
        if LEARNER_EVENTS[kind]:
            v["last_activity_at"] = at
            self.days.add(utc_day(at))
            effects.active.add((self.course, utc_day(at), self.user))
        day = self._day(effects, at)
        day["events"] += 1
        if isinstance(p, LessonCompleted):
            v["lessons_completed"] += 1
            v["progress_percent"], v["progress_as_of"] = p.progress_percent, at
            day["lesson_completions"] += 1
        elif isinstance(p, AttemptSubmitted):
            v["quiz_attempts"] += 1
            v["quiz_percent_sum"] += 100 * p.score / p.max_score if p.max_score > 0 else 0.0
            v["quizzes_passed"] += int(p.passed)
            day["quiz_submissions"] += 1
        elif isinstance(p, LabSessionSnapshot) and kind in LAB_EVENTS:
            seconds = max(0.0, p.running_seconds)
            v["lab_sessions"] += int(kind.endswith("started"))
            v["lab_sessions_ended"] += int(kind.endswith(("stopped", "failed")))
            v["lab_sessions_failed"] += int(kind.endswith("failed"))
            v["lab_seconds"] += seconds
            day["lab_seconds"] += seconds

    def _day(self, effects: Effects, at: datetime) -> dict[str, float]:
        return effects.days.setdefault((self.course, utc_day(at)), dict.fromkeys(DAY_COUNTERS, 0))


def _learner_upsert() -> Any:
    """The upsert of a batch's students: counters add, states only move forward (`*_as_of`)."""
    table = _table(Learner)
    stmt = insert(table).from_select(LEARNER_COLUMNS, from_arrays(table, LEARNER_COLUMNS))
    x = stmt.excluded
    newer_status = (x.status_as_of.is_not(None)) & (
        Learner.status_as_of.is_(None) | (Learner.status_as_of <= x.status_as_of)
    )
    newer_progress = (x.progress_as_of.is_not(None)) & (
        Learner.progress_as_of.is_(None) | (Learner.progress_as_of <= x.progress_as_of)
    )
    return stmt.on_conflict_do_update(
        index_elements=[Learner.course_id, Learner.user_id],
        set_={
            **{c: getattr(Learner, c) + x[c] for c in LEARNER_COUNTERS},
            "organization_id": func.coalesce(x.organization_id, Learner.organization_id),
            "enrollment_id": func.coalesce(x.enrollment_id, Learner.enrollment_id),
            "status": case((newer_status, x.status), else_=Learner.status),
            "status_as_of": case((newer_status, x.status_as_of), else_=Learner.status_as_of),
            "enrolled_at": func.least(Learner.enrolled_at, x.enrolled_at),
            "last_activity_at": func.greatest(Learner.last_activity_at, x.last_activity_at),
            "progress_percent": case((newer_progress, x.progress_percent), else_=Learner.progress_percent),
            "progress_as_of": case((newer_progress, x.progress_as_of), else_=Learner.progress_as_of),
        },
    ).returning(*table.c)


LEARNER_COLUMNS = tuple(_Delta(uuid.UUID(int=0), uuid.UUID(int=0)).values)
_LEARNER_UPSERT = _learner_upsert()
DAY_KEY = ("course_id", "user_id", "day")
_LEARNER_DAYS = (
    insert(_table(LearnerDay))
    .from_select(DAY_KEY, from_arrays(_table(LearnerDay), DAY_KEY))
    .on_conflict_do_nothing()
    .returning(_table(LearnerDay).c.course_id, _table(LearnerDay).c.day)
)


async def _apply_learners(
    session: AsyncSession, learners: dict[tuple[uuid.UUID, uuid.UUID], _Delta], effects: Effects
) -> None:
    keys = sorted(learners, key=lambda k: (str(k[0]), str(k[1])))  # one lock order for every consumer
    rows = (
        await session.execute(_LEARNER_UPSERT, arrays((learners[k].values for k in keys), LEARNER_COLUMNS))
    ).all()
    days = [
        {"course_id": d.course, "user_id": d.user, "day": day}
        for k in keys
        for d in [learners[k]]
        for day in sorted(d.days)
    ]
    if days:
        new_days = (await session.execute(_LEARNER_DAYS, arrays(days, DAY_KEY))).all()
        for course, day in new_days:
            effects.days.setdefault((course, day), dict.fromkeys(DAY_COUNTERS, 0))["active_students"] += 1
    for k in keys:
        effects.learners.add(k)
        effects.courses.add(k[0])
    now_of = {}
    for row in rows:
        latest = learners[(row.course_id, row.user_id)].latest or utcnow()
        now_of[(row.course_id, row.user_id)] = max(latest, row.last_activity_at or latest)
    await _evaluate_risks(session, rows, now_of, effects)


async def _flush(session: AsyncSession, effects: Effects) -> None:
    """The shared rows of the batch, last and in key order: daily course rollups, then alerts."""
    if effects.days:
        rows = (
            {"course_id": course, "day": day, **totals}
            for (course, day), totals in sorted(effects.days.items(), key=lambda i: (str(i[0][0]), i[0][1]))
        )
        await session.execute(_COURSE_DAYS, arrays(rows, COURSE_DAY_COLUMNS))
    for course, data in sorted(effects.new_alerts, key=lambda a: str(a[0])):
        effects.alerts.append(await append_stream_event(session, RiskAlert, course, data))


COURSE_DAY_COLUMNS = ("course_id", "day", *DAY_COUNTERS)


def _course_days() -> Any:
    table = _table(CourseDay)
    stmt = insert(table).from_select(COURSE_DAY_COLUMNS, from_arrays(table, COURSE_DAY_COLUMNS))
    return stmt.on_conflict_do_update(
        index_elements=[CourseDay.course_id, CourseDay.day],
        set_={c: getattr(CourseDay, c) + stmt.excluded[c] for c in DAY_COUNTERS},
    )


_COURSE_DAYS = _course_days()


def state_of(row: Any, active_days_14: int) -> LearnerState:
    """`row`: a Learner, or a learner row returned by the upsert."""
    return LearnerState(
        status=row.status,
        last_activity_at=row.last_activity_at,
        active_days_14=active_days_14,
        progress_percent=row.progress_percent,
        lab_seconds=row.lab_seconds,
        quiz_attempts=row.quiz_attempts,
        quiz_percent_sum=row.quiz_percent_sum,
        quizzes_passed=row.quizzes_passed,
        lab_sessions_ended=row.lab_sessions_ended,
        lab_sessions_failed=row.lab_sessions_failed,
    )


# Each student's active days in the 14 days up to their own `today`, counted in the database.
_ACTIVE_DAYS_14 = text(
    """
    SELECT k.course_id, k.user_id, count(*) AS days
    FROM unnest(CAST(:course_id AS uuid[]), CAST(:user_id AS uuid[]), CAST(:today AS date[]))
        AS k(course_id, user_id, today)
    JOIN analytics.learner_day AS d
        ON d.course_id = k.course_id AND d.user_id = k.user_id
        AND d.day > k.today - 14 AND d.day <= k.today
    GROUP BY k.course_id, k.user_id
    """
)


async def _evaluate_risks(
    session: AsyncSession,
    rows: Sequence[Row[Any]],  # learner rows (RETURNING), locked by this transaction
    now_of: dict[tuple[uuid.UUID, uuid.UUID], datetime],  # the moment to evaluate each student at
    effects: Effects,
) -> int:
    """Store each student's level as of their latest event in the batch; a rise to HIGH records one alert
    in this transaction. The rows are locked by the upsert above until commit, so concurrent consumers
    always compare against each other's stored level: one rise, one alert, however often it is delivered."""
    if not rows:
        return 0
    counted = await session.execute(
        _ACTIVE_DAYS_14,
        {
            "course_id": [c for c, _ in now_of],
            "user_id": [u for _, u in now_of],
            "today": [utc_day(at) for at in now_of.values()],
        },
    )
    counts: dict[tuple[uuid.UUID, uuid.UUID], int] = {(c, u): n for c, u, n in counted}
    changes = []
    for row in rows:
        key = (row.course_id, row.user_id)
        assessment = assess(state_of(row, counts.get(key, 0)), now_of[key])
        previous = row.risk_level
        if assessment.risk.value == previous:
            continue
        changes.append(
            {
                "course_id": row.course_id,
                "user_id": row.user_id,
                "risk_level": assessment.risk.value,
                "risk_changed_at": now_of[key],
            }
        )
        if assessment.risk is RiskLevel.HIGH:
            effects.new_alerts.append(
                (
                    row.course_id,
                    {
                        "course_id": str(row.course_id),
                        "user_id": str(row.user_id),
                        "enrollment_id": str(row.enrollment_id) if row.enrollment_id else None,
                        "level": assessment.risk.value,
                        "previous_level": previous,
                        "engagement_score": assessment.engagement,
                        "proficiency_score": assessment.proficiency,
                        "indicators": [asdict(i) for i in assessment.indicators],
                        "recommendations": list(assessment.recommendations),
                    },
                )
            )
    if changes:
        await session.execute(update(Learner), changes)  # executemany by primary key
    return len(changes)


async def sweep_risks(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    live: LiveHub,
    *,
    after: tuple[uuid.UUID, uuid.UUID] | None = None,
    limit: int = 500,
) -> tuple[tuple[uuid.UUID, uuid.UUID] | None, int]:
    """Re-evaluate, as of now, active students whose level can rise with time alone (no activity for
    `INACTIVE_DAYS` or more, not HIGH yet): inactivity raises no event, so without this sweep their rise to
    HIGH would wait for their next event. Rows are claimed with SKIP LOCKED (consumers and other sweepers
    never wait on each other). One page of `limit` students after the key `after`; returns the last key
    examined (None at the end) and how many changed level."""
    now = utcnow()
    effects = Effects()
    async with sessionmaker() as session, session.begin():
        table = _table(Learner)
        rows = (
            await session.execute(
                select(*table.c)
                .where(
                    table.c.status == "ACTIVE",
                    table.c.risk_level != RiskLevel.HIGH.value,
                    table.c.last_activity_at <= now - timedelta(days=INACTIVE_DAYS),
                )
                .where(true() if after is None else tuple_(table.c.course_id, table.c.user_id) > after)
                .order_by(table.c.course_id, table.c.user_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        changed = await _evaluate_risks(session, rows, {(r.course_id, r.user_id): now for r in rows}, effects)
        effects.learners.update((r.course_id, r.user_id) for r in rows)
        effects.courses.update(r.course_id for r in rows)
        await _flush(session, effects)
    await after_commit(redis, live, effects)
    last = (rows[-1].course_id, rows[-1].user_id) if len(rows) == limit else None
    return last, changed


class RiskSweep:
    """Worker task: `sweep_risks` every `settings.analytics.risk_sweep_interval_seconds`."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, interval: float) -> None:
        self._sessionmaker, self._redis, self._interval = sessionmaker, redis, interval
        self._live = LiveHub(redis)

    async def run(self, stop: asyncio.Event) -> None:
        while keep_running(stop):
            try:
                after = None
                while True:
                    after, _ = await sweep_risks(self._sessionmaker, self._redis, self._live, after=after)
                    if after is None:
                        break
            except Exception:
                log.exception("analytics: risk sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)


def alerts_channel(course_id: uuid.UUID | str) -> str:
    return f"analytics-risk:{course_id}"


async def after_commit(redis: Redis, live: LiveHub, effects: Effects) -> None:
    """Invalidate caches, count today's active students, publish alerts. Failures are logged: the data is
    committed; a missed publish is re-read by subscribers from the table on the next alert (seq gap)."""
    try:
        await caching.invalidate(redis, learners=effects.learners, courses=effects.courses)
        await caching.mark_active(redis, effects.active)
    except Exception:
        log.exception("analytics: cache invalidation after commit failed")
    for alert in effects.alerts:
        try:
            await live.publish(alerts_channel(alert.stream_id), alert.as_message())
        except Exception:
            log.exception("analytics: could not publish risk alert %s/%s", alert.stream_id, alert.seq)


async def ingest(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    live: LiveHub,
    partitions: Partitions,
    events: list[Event],
    parsed: dict[uuid.UUID, Parsed] | None = None,
    *,
    confirm: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> int:
    """Apply `events` in one transaction (then the after-commit effects); returns how many were new.
    `confirm` runs in that transaction too (the consumer records the batch in its ledger there)."""
    wanted = [e for e in events if ingested(e.type)]
    if not wanted and confirm is None:
        return 0
    months = {(e.occurred_at.astimezone(UTC).year, e.occurred_at.astimezone(UTC).month): e for e in wanted}
    for event in months.values():
        await partitions.ensure(sessionmaker, event.occurred_at)
    effects = Effects()
    async with sessionmaker() as session, session.begin():
        applied = await apply_events(session, wanted, effects, parsed)
        if confirm is not None:
            await confirm(session)
    await after_commit(redis, live, effects)
    return applied


PIPELINED_READS = 10  # per consume_once: the pipeline drains and the caller (the worker's loop) sees progress


class AnalyticsConsumer(DatabaseConsumer):
    """Every domain's stream (and events.labs) into the analytics tables (worker, group `analytics`).

    Messages are applied in BATCHES (up to `batch_size` per stream and read, one transaction, the ledger's
    confirmation of the batch included), then acked together: the raw table's key is the dedupe, so the
    base class's per-event markers are not needed on this path (a redelivered batch changes nothing).
    If a batch fails, its messages go one by one through the base class (retries, dead-letter), so one
    bad event never blocks the others.

    Under a backlog (a read of at least `batch_size` messages) `consume_once` PIPELINES up to
    PIPELINED_READS reads: a batch's transaction is left running while the next batch is read, parsed and
    begun, so the process works while PostgreSQL does. At most two batches are in flight; each is acked
    only after its own commit (a failed one is not acked: it goes one by one, as any failed batch), their
    statements take row locks in the same order as two consumers' do, and both are done when
    `consume_once` returns.
    """

    group: ClassVar[str] = "analytics"
    streams: ClassVar[tuple[str, ...]] = analytics_streams()

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(redis, sessionmaker, **kwargs)
        self.batch_size = batch_size
        self._live = LiveHub(redis)
        self._partitions = Partitions()

    async def handle(self, event: Event) -> None:
        await ingest(self.sessionmaker, self.redis, self._live, self._partitions, [event])

    async def ensure_groups(self) -> None:
        """Also the month partitions around now (the last, this and the next two), so that steady-state
        ingestion never creates one under load; older months are still created on demand."""
        await super().ensure_groups()
        now = utcnow()
        for months in (-1, 0, 1, 2):
            index = now.year * 12 + now.month - 1 + months
            await self._partitions.ensure(
                self.sessionmaker, now.replace(year=index // 12, month=index % 12 + 1, day=1)
            )

    async def consume_once(self, *, block_ms: int | None = None) -> int:
        done = await self._process_batch(await self.claim_idle())
        in_flight: list[asyncio.Task[int]] = []  # at most two: the previous batch and this one
        try:
            batch = await self.read_new(count=self.batch_size, block_ms=block_ms)
            for reads in range(1, PIPELINED_READS + 1):
                if not batch:
                    break
                in_flight.append(asyncio.create_task(self._process_batch(batch)))
                if len(in_flight) == 2:
                    done += await in_flight.pop(0)  # meanwhile this batch is parsed and begins
                # Under a backlog the next batch is read while this one commits (without blocking: this
                # batch's ack must not wait for new messages).
                backlog = len(batch) >= self.batch_size and reads < PIPELINED_READS
                batch = await self.read_new(count=self.batch_size, wait=False) if backlog else []
            for task in in_flight:
                done += await task
        finally:  # cancelled (the worker stops): uncommitted batches roll back, unacked, redelivered
            for task in in_flight:
                task.cancel()
        return done

    async def _process_batch(self, batch: list[tuple[str, Message]]) -> int:
        if not batch:
            return 0
        try:
            events = [Event.model_validate_json(fields[b"event"]) for _, (_, fields) in batch]
            # Grouped by student (stable: each student's events keep their order), so concurrent
            # consumers lock learner rows in the same order.
            parsed = {e.id: parse_event(e) for e in events}
            events.sort(key=lambda e: (str(parsed[e.id][1]), str(parsed[e.id][2])))
            confirm = None
            if (
                self.ledger is not None
            ):  # confirmed, so the relay never publishes them again after a Redis loss
                ids = [fields[b"id"].decode() for _, (_, fields) in batch]
                confirm = partial(self.ledger.record_in, group=self.group, event_ids=ids)
            await ingest(
                self.sessionmaker, self.redis, self._live, self._partitions, events, parsed, confirm=confirm
            )
        except Exception:
            log.warning("analytics: a batch of %d failed; applying one by one", len(batch), exc_info=True)
            return sum([await self._process(stream, m, f) for stream, (m, f) in batch])
        await self.ack(batch)
        return len(batch)

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
from sqlalchemy import Row, Table, select, text, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from subgraphs.analytics import caching
from subgraphs.analytics.metrics import INACTIVE_DAYS, LearnerState, RiskLevel, assess, risk_level
from subgraphs.analytics.models import (
    ActivityEvent,
    Course,
    Learner,
    RiskAlert,
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
from subgraphs.core.live import LiveHub, append_stream_events

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

    Set-based: ONE statement (`_ACTIVITY`) inserts the batch's raw rows — its RETURNING names the events
    not applied before: the dedupe — and, from exactly those, upserts the sign-ins, the students (their
    deltas summed in SQL), their active days and the daily course rollups; then one read of the students'
    last 14 days, the risk levels that changed and the alerts. Course snapshots (rare) take their own raw
    insert and upsert first. The statements take one array per column.
    """
    wanted = list({e.id: e for e in events if ingested(e.type)}.values())
    if not wanted:
        return 0
    known = parsed or {}  # parsed already by the caller: parse once
    parsed = {e.id: known[e.id] if e.id in known else parse_event(e) for e in wanted}
    courses = [e for e in wanted if isinstance(parsed[e.id][0], CourseSnapshot)]
    fresh = await _apply_courses(session, courses, parsed, effects) if courses else 0
    others = [e for e in wanted if not isinstance(parsed[e.id][0], CourseSnapshot)]
    if others:
        fresh += await _apply_activity(session, others, parsed, effects)
    await _flush(session, effects)
    return fresh


RAW_COLUMNS = ("id", "occurred_at", "type", "user_id", "course_id", "organization_id", "payload")
_RAW_INSERT = (
    insert(_table(ActivityEvent))  # received_at: its default, once per statement
    .from_select(RAW_COLUMNS, from_arrays(_table(ActivityEvent), RAW_COLUMNS))
    .on_conflict_do_nothing(index_elements=["id", "occurred_at"])
    .returning(_table(ActivityEvent).c.id)
)


async def _apply_courses(
    session: AsyncSession, events: list[Event], parsed: dict[uuid.UUID, Parsed], effects: Effects
) -> int:
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
            for e in events
        ),
        RAW_COLUMNS,
    )
    fresh_ids = set((await session.execute(_RAW_INSERT, columns)).scalars().all())
    for event in sorted((e for e in events if e.id in fresh_ids), key=lambda e: e.occurred_at):
        await _apply_course(session, event, cast(CourseSnapshot, parsed[event.id][0]), effects)
    return len(fresh_ids)


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


# One row of `_ACTIVITY` per event: the raw row, then what a student's event adds to the aggregates (all
# None for an event that is not a student's in a course): `active` (None marks those: True when the event
# counts as activity), the enrollment it names, the status it sets, its progress, quiz score in percent and
# pass, and its lab seconds.
ACTIVITY_COLUMNS = (
    *RAW_COLUMNS,
    "active",
    "enrollment_id",
    "status",
    "progress",
    "quiz_percent",
    "passed",
    "lab_seconds",
)
_NOT_A_LEARNER = (None,) * (len(ACTIVITY_COLUMNS) - len(RAW_COLUMNS))


def _activity_row(event: Event, parsed: Parsed) -> tuple[Any, ...]:
    payload, user, course, org = parsed
    kind = event.type
    raw = (event.id, event.occurred_at, kind[:120], user, course, org, orjson.dumps(event.payload).decode())
    if payload is None or user is None or course is None or isinstance(payload, CourseSnapshot):
        return raw + _NOT_A_LEARNER
    enrollment = payload.enrollment_id if isinstance(payload, (EnrollmentSnapshot, LessonCompleted)) else None
    progress = quiz_percent = passed = lab_seconds = None
    if isinstance(payload, LessonCompleted):
        progress = payload.progress_percent
    elif isinstance(payload, AttemptSubmitted):
        quiz_percent = 100 * payload.score / payload.max_score if payload.max_score > 0 else 0.0
        passed = payload.passed
    elif isinstance(payload, LabSessionSnapshot) and kind in LAB_EVENTS:
        lab_seconds = max(0.0, payload.running_seconds)
    status = ENROLLMENT_STATUS.get(kind)
    return (*raw, LEARNER_EVENTS[kind], enrollment, status, progress, quiz_percent, passed, lab_seconds)


async def _apply_activity(
    session: AsyncSession, events: list[Event], parsed: dict[uuid.UUID, Parsed], effects: Effects
) -> int:
    rows = [_activity_row(e, parsed[e.id]) for e in events]
    params: dict[str, Any] = dict(zip(ACTIVITY_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    params |= {"received_at": utcnow(), "login": LOGIN}
    result = (await session.execute(_ACTIVITY, params)).all()
    learners = [row for row in result if row.course_id is not None]
    for row in learners:
        effects.learners.add((row.course_id, row.user_id))
        effects.courses.add(row.course_id)
        effects.active.update((row.course_id, day, row.user_id) for day in row.days or ())
    await _evaluate_risks(session, learners, {(r.course_id, r.user_id): r.now_of for r in learners}, effects)
    return result[0].fresh


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
# What `state_of` reads of a learner row.
STATE_COLUMNS = (
    "status",
    "last_activity_at",
    "progress_percent",
    "lab_seconds",
    "quiz_attempts",
    "quiz_percent_sum",
    "quizzes_passed",
    "lab_sessions_ended",
    "lab_sessions_failed",
)
DAY_COUNTERS = ("active_students", "lesson_completions", "quiz_submissions", "lab_seconds", "events")


def _latest(column: str) -> str:
    """The value of `column` in the student's latest event of the batch that has one (a later event of the
    same instant wins, as it would applied one by one). The aggregate reads its group in the order of the
    sorted subquery below: no sort per group and aggregate (PostgreSQL 15 would do one for each)."""
    return f"(array_agg({column}) FILTER (WHERE {column} IS NOT NULL))[count({column})]"


def _forward(column: str, as_of: str) -> str:
    """The SET of a state that moves only forward: the batch's value and its `as_of` replace the stored
    ones unless those are newer."""
    newer = f"excluded.{as_of} IS NOT NULL AND (l.{as_of} IS NULL OR l.{as_of} <= excluded.{as_of})"
    return ", ".join(f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE l.{c} END" for c in (column, as_of))


# The batch in one statement (its sub-statements share one snapshot and run in this order: the students'
# rows are locked first, in key order, then their days, the shared rows (sign-ins, daily course rollups)
# last and in key order, as concurrent batches must take them). Only the events the raw insert returns
# (`fresh`: not applied before) reach the aggregates: the dedupe. A student's counters add up; states
# (status, progress) move only forward by `*_as_of`; a newer value of the batch replaces an older stored one.
_ACTIVITY = text(
    f"""
WITH input AS (
    SELECT * FROM unnest(
        CAST(:id AS uuid[]), CAST(:occurred_at AS timestamptz[]), CAST(:type AS text[]),
        CAST(:user_id AS uuid[]), CAST(:course_id AS uuid[]), CAST(:organization_id AS uuid[]),
        CAST(:payload AS text[]), CAST(:active AS boolean[]), CAST(:enrollment_id AS uuid[]),
        CAST(:status AS text[]), CAST(:progress AS integer[]), CAST(:quiz_percent AS float8[]),
        CAST(:passed AS boolean[]), CAST(:lab_seconds AS float8[])
    ) WITH ORDINALITY AS i(id, occurred_at, type, user_id, course_id, organization_id, payload, active,
        enrollment_id, status, progress, quiz_percent, passed, lab_seconds, ord)
),
raw AS (
    INSERT INTO analytics.activity_event
        (id, occurred_at, type, user_id, course_id, organization_id, payload, received_at)
    SELECT id, occurred_at, type, user_id, course_id, organization_id, CAST(payload AS jsonb),
        CAST(:received_at AS timestamptz)
    FROM input
    ON CONFLICT (id, occurred_at) DO NOTHING
    RETURNING id, occurred_at
),
-- The events not applied before (ids are unique in a batch: apply_events), without their payloads.
fresh AS (
    SELECT id, input.occurred_at, type, user_id, course_id, organization_id, active, enrollment_id, status,
        progress, quiz_percent, passed, lab_seconds, ord
    FROM input JOIN raw USING (id)
),
learning AS (
    SELECT *, CAST(occurred_at AT TIME ZONE 'UTC' AS date) AS day FROM fresh WHERE active IS NOT NULL
),
batch AS (
    SELECT course_id, user_id,
        {_latest("organization_id")} AS organization_id,
        {_latest("enrollment_id")} AS enrollment_id,
        coalesce({_latest("status")}, 'ACTIVE') AS status,
        max(occurred_at) FILTER (WHERE status IS NOT NULL) AS status_as_of,
        min(occurred_at) FILTER (WHERE type = 'courses.enrollment.created') AS enrolled_at,
        max(occurred_at) FILTER (WHERE active) AS last_activity_at,
        coalesce({_latest("progress")}, 0) AS progress_percent,
        max(occurred_at) FILTER (WHERE progress IS NOT NULL) AS progress_as_of,
        count(*) AS events,
        count(progress) AS lessons_completed,
        count(quiz_percent) AS quiz_attempts,
        coalesce(sum(quiz_percent), 0) AS quiz_percent_sum,
        count(*) FILTER (WHERE passed) AS quizzes_passed,
        count(lab_seconds) FILTER (WHERE type = 'labs.session.started') AS lab_sessions,
        count(lab_seconds) FILTER (WHERE type IN ('labs.session.stopped', 'labs.session.failed'))
            AS lab_sessions_ended,
        count(lab_seconds) FILTER (WHERE type = 'labs.session.failed') AS lab_sessions_failed,
        coalesce(sum(lab_seconds), 0) AS lab_seconds,
        max(occurred_at) AS latest,
        array_agg(day) FILTER (WHERE active) AS days
    FROM (SELECT * FROM learning ORDER BY course_id, user_id, occurred_at, ord) AS sorted
    GROUP BY course_id, user_id
),
learners AS (
    INSERT INTO analytics.learner AS l (course_id, user_id, organization_id, enrollment_id, status,
        status_as_of, enrolled_at, last_activity_at, progress_percent, progress_as_of, risk_level,
        {", ".join(LEARNER_COUNTERS)})
    SELECT course_id, user_id, organization_id, enrollment_id, status, status_as_of, enrolled_at,
        last_activity_at, progress_percent, progress_as_of, '{RiskLevel.LOW.value}',
        {", ".join(LEARNER_COUNTERS)}
    FROM batch
    ORDER BY course_id, user_id
    ON CONFLICT (course_id, user_id) DO UPDATE SET
        {", ".join(f"{c} = l.{c} + excluded.{c}" for c in LEARNER_COUNTERS)},
        organization_id = coalesce(excluded.organization_id, l.organization_id),
        enrollment_id = coalesce(excluded.enrollment_id, l.enrollment_id),
        {_forward("status", "status_as_of")},
        enrolled_at = least(l.enrolled_at, excluded.enrolled_at),
        last_activity_at = greatest(l.last_activity_at, excluded.last_activity_at),
        {_forward("progress_percent", "progress_as_of")}
    RETURNING l.course_id, l.user_id, l.enrollment_id, l.risk_level, {", ".join(STATE_COLUMNS)}
),
new_days AS (
    INSERT INTO analytics.learner_day (course_id, user_id, day)
    SELECT DISTINCT course_id, user_id, day FROM learning WHERE active ORDER BY course_id, user_id, day
    ON CONFLICT DO NOTHING
    RETURNING course_id, day
),
logins AS (
    INSERT INTO analytics.user_activity AS a (user_id, last_login_at, logins)
    SELECT user_id, max(occurred_at), count(*) FROM fresh
    WHERE type = :login AND user_id IS NOT NULL
    GROUP BY user_id
    ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        last_login_at = greatest(a.last_login_at, excluded.last_login_at), logins = a.logins + excluded.logins
),
course_days AS (
    INSERT INTO analytics.course_day AS c (course_id, day, {", ".join(DAY_COUNTERS)})
    SELECT g.course_id, g.day, coalesce(n.students, 0), g.lessons, g.quizzes, g.lab_seconds, g.events
    FROM (
        SELECT course_id, day, count(progress) AS lessons, count(quiz_percent) AS quizzes,
            coalesce(sum(lab_seconds), 0) AS lab_seconds, count(*) AS events
        FROM learning GROUP BY course_id, day
    ) AS g
    LEFT JOIN (SELECT course_id, day, count(*) AS students FROM new_days GROUP BY course_id, day) AS n
        USING (course_id, day)
    ORDER BY g.course_id, g.day
    ON CONFLICT (course_id, day) DO UPDATE SET
        {", ".join(f"{c} = c.{c} + excluded.{c}" for c in DAY_COUNTERS)}
)
SELECT n.fresh, s.* FROM (SELECT count(*) AS fresh FROM raw) AS n
LEFT JOIN (
    SELECT learners.*, batch.days, greatest(batch.latest, learners.last_activity_at) AS now_of
    FROM learners JOIN batch USING (course_id, user_id)
) AS s ON true
"""
)


async def _flush(session: AsyncSession, effects: Effects) -> None:
    """The alerts of the batch, last and in key order (their per-course sequence rows are shared)."""
    alerts = sorted(effects.new_alerts, key=lambda a: str(a[0]))
    effects.alerts += await append_stream_events(session, RiskAlert, alerts)


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
        state, previous = state_of(row, counts.get(key, 0)), row.risk_level
        level = risk_level(state, now_of[key])
        if level.value == previous:
            continue
        changes.append(
            {
                "course_id": row.course_id,
                "user_id": row.user_id,
                "risk_level": level.value,
                "risk_changed_at": now_of[key],
            }
        )
        if level is RiskLevel.HIGH:  # explained in the alert
            assessment = assess(state, now_of[key])
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
            parsed = {e.id: parse_event(e) for e in events}
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

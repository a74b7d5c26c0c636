"""Ingestion: every domain's events into the raw table, the projections and the rollups, exactly once.

`AnalyticsConsumer` (worker, group `analytics`) reads `events.<domain>` for every domain in DOMAINS plus
`events.labs` (the labs domain publishes there — notes/LABS-EVENTS.md — even before it is deployed; the
group is created with MKSTREAM, so an absent stream is fine). Each event is applied in ONE transaction:

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

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.analytics import caching
from subgraphs.analytics.metrics import LearnerState, RiskLevel, assess
from subgraphs.analytics.models import (
    ActivityEvent,
    Course,
    CourseDay,
    Learner,
    LearnerDay,
    RiskAlert,
    UserActivity,
)
from subgraphs.core.domains import DOMAINS
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.ids import to_uuid
from subgraphs.core.live import LiveHub, append_stream_event

log = logging.getLogger("coursegraph.analytics")

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
    return tuple(stream_name(d) for d in dict.fromkeys((*DOMAINS, "labs")))


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


@dataclass
class Effects:
    """What to do once the transaction committed."""

    learners: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)  # (course, user)
    courses: set[uuid.UUID] = field(default_factory=set)
    active: set[tuple[uuid.UUID, date, uuid.UUID]] = field(default_factory=set)  # (course, day, user)
    alerts: list[RiskAlert] = field(default_factory=list)


def _ids(event: Event) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    p, s = event.payload, event.subject_ids
    user = to_uuid(p.get("user_id") or s.get("user_id") or "")
    course = to_uuid(p.get("course_id") or s.get("course_id") or "")
    org = to_uuid(p.get("organization_id") or event.organization_id or "")
    return user, course, org


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


async def apply_event(session: AsyncSession, event: Event, effects: Effects) -> bool:
    """Apply one event in the caller's transaction; False when not ingested or already applied."""
    if not ingested(event.type):
        return False
    user, course, org = _ids(event)
    fresh = await session.scalar(
        insert(ActivityEvent)
        .values(
            id=event.id,
            occurred_at=event.occurred_at,
            type=event.type[:120],
            user_id=user,
            course_id=course,
            organization_id=org,
            payload=event.payload,
        )
        .on_conflict_do_nothing(index_elements=["id", "occurred_at"])
        .returning(ActivityEvent.id)
    )
    if fresh is None:
        return False
    if event.type in COURSE_EVENTS:
        await _apply_course(session, event, effects)
    elif event.type == LOGIN and user is not None:
        stmt = insert(UserActivity).values(user_id=user, last_login_at=event.occurred_at, logins=1)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UserActivity.user_id],
                set_={
                    "last_login_at": func.greatest(UserActivity.last_login_at, stmt.excluded.last_login_at),
                    "logins": UserActivity.logins + 1,
                },
            )
        )
    elif event.type in LEARNER_EVENTS and user is not None and course is not None:
        await _apply_learner(session, event, user, course, org, effects)
    return True


async def _apply_course(session: AsyncSession, event: Event, effects: Effects) -> None:
    p = event.payload
    course = to_uuid(p.get("course_id"))
    if course is None:
        return
    stmt = insert(Course).values(
        course_id=course,
        organization_id=to_uuid(p.get("organization_id")),
        instructor_id=to_uuid(p.get("instructor_id")),
        title=str(p.get("title") or "")[:200],
        status="DELETED" if event.type.endswith(".deleted") else str(p.get("status")),
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


async def _apply_learner(
    session: AsyncSession,
    event: Event,
    user: uuid.UUID,
    course: uuid.UUID,
    org: uuid.UUID | None,
    effects: Effects,
) -> None:
    p, at, kind = event.payload, event.occurred_at, event.type
    activity = LEARNER_EVENTS[kind]
    values: dict[str, Any] = {
        "course_id": course,
        "user_id": user,
        "organization_id": org,
        "enrollment_id": to_uuid(p.get("enrollment_id") or ""),
        "status": ENROLLMENT_STATUS.get(kind, "ACTIVE"),
        "status_as_of": at if kind in ENROLLMENT_STATUS else None,
        "enrolled_at": at if kind == "courses.enrollment.created" else None,
        "last_activity_at": at if activity else None,
        "events": 1,
        "lessons_completed": 0,
        "progress_percent": 0,
        "progress_as_of": None,
        "quiz_attempts": 0,
        "quiz_percent_sum": 0.0,
        "quizzes_passed": 0,
        "lab_sessions": 0,
        "lab_sessions_ended": 0,
        "lab_sessions_failed": 0,
        "lab_seconds": 0.0,
        "risk_level": RiskLevel.LOW.value,
    }
    day: dict[str, Any] = {"lesson_completions": 0, "quiz_submissions": 0, "lab_seconds": 0.0}
    if kind == "courses.lesson.completed":
        values |= {"lessons_completed": 1, "progress_as_of": at}
        values["progress_percent"] = int(p.get("progress_percent") or 0)
        day["lesson_completions"] = 1
    elif kind == "quizzes.attempt.submitted":
        max_score = float(p.get("max_score") or 0)
        percent = 100 * float(p.get("score") or 0) / max_score if max_score > 0 else 0.0
        values |= {
            "quiz_attempts": 1,
            "quiz_percent_sum": percent,
            "quizzes_passed": int(bool(p.get("passed"))),
        }
        day["quiz_submissions"] = 1
    elif kind in LAB_EVENTS:
        seconds = max(0.0, float(p.get("running_seconds") or 0.0))
        ended = kind.endswith(("stopped", "failed"))
        values |= {
            "lab_sessions": int(kind.endswith("started")),
            "lab_sessions_ended": int(ended),
            "lab_sessions_failed": int(kind.endswith("failed")),
            "lab_seconds": seconds,
        }
        day["lab_seconds"] = seconds

    stmt = insert(Learner).values(**values)
    x = stmt.excluded
    newer_status = (x.status_as_of.is_not(None)) & (
        Learner.status_as_of.is_(None) | (Learner.status_as_of <= x.status_as_of)
    )
    newer_progress = (x.progress_as_of.is_not(None)) & (
        Learner.progress_as_of.is_(None) | (Learner.progress_as_of <= x.progress_as_of)
    )
    counters = (
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
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Learner.course_id, Learner.user_id],
                set_={
                    **{c: getattr(Learner, c) + x[c] for c in counters},
                    "organization_id": func.coalesce(x.organization_id, Learner.organization_id),
                    "enrollment_id": func.coalesce(x.enrollment_id, Learner.enrollment_id),
                    "status": _case(newer_status, x.status, Learner.status),
                    "status_as_of": _case(newer_status, x.status_as_of, Learner.status_as_of),
                    "enrolled_at": func.coalesce(Learner.enrolled_at, x.enrolled_at),
                    "last_activity_at": func.greatest(Learner.last_activity_at, x.last_activity_at),
                    "progress_percent": _case(newer_progress, x.progress_percent, Learner.progress_percent),
                    "progress_as_of": _case(newer_progress, x.progress_as_of, Learner.progress_as_of),
                },
            ).returning(Learner),
            execution_options={"populate_existing": True},
        )
    ).scalar_one()

    today = utc_day(at)
    new_day = False
    if activity:
        new_day = (
            await session.scalar(
                insert(LearnerDay)
                .values(course_id=course, user_id=user, day=today)
                .on_conflict_do_nothing()
                .returning(LearnerDay.day)
            )
        ) is not None
        effects.active.add((course, today, user))
    dstmt = insert(CourseDay).values(
        course_id=course, day=today, active_students=int(new_day), events=1, **day
    )
    await session.execute(
        dstmt.on_conflict_do_update(
            index_elements=[CourseDay.course_id, CourseDay.day],
            set_={
                c: getattr(CourseDay, c) + dstmt.excluded[c]
                for c in (
                    "active_students",
                    "lesson_completions",
                    "quiz_submissions",
                    "lab_seconds",
                    "events",
                )
            },
        )
    )
    effects.learners.add((course, user))
    effects.courses.add(course)
    await _evaluate_risk(session, row, at, effects)


def _case(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


async def active_days(session: AsyncSession, course: uuid.UUID, user: uuid.UUID, today: date) -> int:
    return await session.scalar(
        select(func.count()).where(
            LearnerDay.course_id == course,
            LearnerDay.user_id == user,
            LearnerDay.day > today - timedelta(days=14),
            LearnerDay.day <= today,
        )
    )


def state_of(row: Learner, active_days_14: int) -> LearnerState:
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


async def _evaluate_risk(session: AsyncSession, row: Learner, at: datetime, effects: Effects) -> None:
    """Store the level as of this event; a rise to HIGH records one alert in this transaction. The row is
    locked by the upsert above until commit, so concurrent consumers see each other's stored level."""
    now = max(at, row.last_activity_at or at)
    assessment = assess(
        state_of(row, await active_days(session, row.course_id, row.user_id, utc_day(now))), now
    )
    previous = row.risk_level
    if assessment.risk.value == previous:
        return
    await session.execute(
        update(Learner)
        .where(Learner.course_id == row.course_id, Learner.user_id == row.user_id)
        .values(risk_level=assessment.risk.value, risk_changed_at=now)
    )
    if assessment.risk is RiskLevel.HIGH:
        alert = await append_stream_event(
            session,
            RiskAlert,
            row.course_id,
            {
                "course_id": str(row.course_id),
                "user_id": str(row.user_id),
                "enrollment_id": str(row.enrollment_id) if row.enrollment_id else None,
                "level": assessment.risk.value,
                "previous_level": previous,
                "engagement_score": assessment.engagement,
                "proficiency_score": assessment.proficiency,
                "indicators": [i.__dict__ for i in assessment.indicators],
                "recommendations": list(assessment.recommendations),
            },
        )
        effects.alerts.append(alert)


def alerts_channel(course_id: uuid.UUID | str) -> str:
    return f"analytics-risk:{course_id}"


async def after_commit(redis: Redis, live: LiveHub, effects: Effects) -> None:
    """Invalidate caches, count today's active students, publish alerts. Failures are logged: the data is
    committed; a missed publish is re-read by subscribers from the table on the next alert (seq gap)."""
    try:
        await caching.invalidate(redis, learners=effects.learners, courses=effects.courses)
        if effects.active:
            async with redis.pipeline(transaction=False) as pipe:
                for course, day, user in effects.active:
                    key = caching.active_key(course, day)
                    pipe.pfadd(key, str(user))
                    pipe.expire(key, caching.ACTIVE_TTL_SECONDS)
                await pipe.execute()
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
) -> int:
    """Apply `events` in one transaction (then the after-commit effects); returns how many were new."""
    wanted = [e for e in events if ingested(e.type)]
    if not wanted:
        return 0
    months = {(e.occurred_at.astimezone(UTC).year, e.occurred_at.astimezone(UTC).month): e for e in wanted}
    for event in months.values():
        await partitions.ensure(sessionmaker, event.occurred_at)
    effects = Effects()
    applied = 0
    async with sessionmaker() as session, session.begin():
        for event in wanted:
            applied += await apply_event(session, event, effects)
    await after_commit(redis, live, effects)
    return applied


class AnalyticsConsumer(Consumer):
    """Every domain's stream (and events.labs) into the analytics tables (worker, group `analytics`)."""

    group: ClassVar[str] = "analytics"

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        streams: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(redis, **kwargs)
        self.streams = streams or analytics_streams()  # type: ignore[misc]
        self._sessionmaker = sessionmaker
        self._live = LiveHub(redis)
        self._partitions = Partitions()

    async def handle(self, event: Event) -> None:
        await ingest(self._sessionmaker, self.redis, self._live, self._partitions, [event])

"""Analytics services: who may see what, the metrics of many students at once, the reports, trackActivity.

Permissions (core.rbac, membership projection; never token claims):
- a student sees their own report in any course (their own data);
- a course's analytics (Course.stats, courseReport, other students' reports and engagement, riskAlerts) are
  for "instructors of that course": its instructor (`instructor_id` of the course) while they hold
  VIEW_ALL_ANALYTICS in the course's organization (a removed instructor loses it), and the organization's
  admins (VIEW_ALL_ANALYTICS + MANAGE_ORGANIZATION there) — other instructors of the organization do not
  see courses they do not teach; API clients with the `view_all_analytics` scope bound to that
  organization; site admins;
- an organization's report: its admins, such API clients, site admins.
An unknown course and a refused one answer the same FORBIDDEN (nothing about existence leaks).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.analytics import caching
from subgraphs.analytics.ingest import state_of, utc_day
from subgraphs.analytics.metrics import RiskLevel, assess, risk_level
from subgraphs.analytics.models import (
    ActivityEvent,
    Course,
    CourseDay,
    Learner,
    LearnerDay,
    Outbox,
    UserActivity,
)
from subgraphs.contracts.analytics import ActivityTracked
from subgraphs.core.auth import Principal
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, InvalidInput, NotAuthenticated
from subgraphs.core.events import emit, request_event
from subgraphs.core.rbac import AccessDenied, Caller, Permission, permitted

VIEW = Permission.VIEW_ANALYTICS
VIEW_ALL = Permission.VIEW_ALL_ANALYTICS
ACTIVE_WINDOW_DAYS = 7  # activeStudents: active in the course within this many days
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
PAYLOAD_MAX_BYTES = 2048
PAYLOAD_MAX_KEYS = 20


class ActivityType(StrEnum):
    PAGE_VIEW = "PAGE_VIEW"
    CONTENT_DOWNLOAD = "CONTENT_DOWNLOAD"
    IDE_SWITCH = "IDE_SWITCH"
    VIDEO_PLAY = "VIDEO_PLAY"
    SEARCH = "SEARCH"


# --- permissions ------------------------------------------------------------------------------------


async def can_view_course(caller: Caller, course: Course | None) -> bool:
    principal = caller.principal
    if course is None or not principal.is_authenticated:
        return False
    if principal.is_site_admin:
        return True
    if not await permitted(caller, VIEW_ALL, course.organization_id):
        return False
    if principal.kind == "client":
        return True  # scope held and bound to this organization (permitted checked both)
    return principal.user_id == course.instructor_id or await permitted(
        caller, Permission.MANAGE_ORGANIZATION, course.organization_id
    )


async def can_view_organization(caller: Caller, organization_id: uuid.UUID) -> bool:
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.is_site_admin:
        return True
    if not await permitted(caller, VIEW_ALL, organization_id):
        return False
    return principal.kind == "client" or await permitted(
        caller, Permission.MANAGE_ORGANIZATION, organization_id
    )


def _refuse(principal: Principal, organization_id: Any = None) -> Exception:
    if not principal.is_authenticated:
        return NotAuthenticated()
    return AccessDenied(
        VIEW_ALL, str(organization_id) if organization_id else None, "You may not view these analytics."
    )


async def get_course(runtime: Runtime, course_id: uuid.UUID) -> Course | None:
    async with runtime.transaction() as session:
        course = await session.get(Course, course_id)
    return None if course is None or course.status == "DELETED" else course


async def course_for_viewer(runtime: Runtime, meta: RequestMeta, course_id: uuid.UUID) -> Course:
    course = await get_course(runtime, course_id)
    if not await can_view_course(meta.caller, course):
        raise _refuse(meta.principal, course.organization_id if course else None)
    assert course is not None
    return course


# --- metrics of many students ----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def learner_metrics(row: Learner, active_days_14: int, now: datetime) -> dict[str, Any]:
    """The JSON-able metrics of one student in one course (what `Enrollment.engagement` shows, cached)."""
    a = assess(state_of(row, active_days_14), now)
    return {
        "course_id": str(row.course_id),
        "user_id": str(row.user_id),
        "enrollment_id": str(row.enrollment_id) if row.enrollment_id else None,
        "status": row.status,
        "engagement_score": a.engagement,
        "proficiency_score": a.proficiency,
        "risk_level": a.risk.value,
        "indicators": [i.__dict__ for i in a.indicators],
        "last_activity_at": _iso(row.last_activity_at),
        "progress_percent": row.progress_percent,
        "lessons_completed": row.lessons_completed,
        "quiz_attempts": row.quiz_attempts,
        "quizzes_passed": row.quizzes_passed,
        "average_quiz_score": round(row.quiz_percent_sum / row.quiz_attempts, 1)
        if row.quiz_attempts
        else None,
        "lab_hours": round(row.lab_seconds / 3600, 2),
        "lab_sessions": row.lab_sessions,
        "enrolled_at": _iso(row.enrolled_at),
        "computed_at": now.isoformat(),
    }


def _days_subquery(condition: Any, today: date) -> Any:
    return (
        select(LearnerDay.course_id, LearnerDay.user_id, func.count().label("days"))
        .where(condition, LearnerDay.day > today - timedelta(days=14), LearnerDay.day <= today)
        .group_by(LearnerDay.course_id, LearnerDay.user_id)
        .subquery()
    )


async def _learners_with_days(
    session: AsyncSession, where_learner: Any, where_day: Any, now: datetime
) -> list[tuple[Learner, int]]:
    days = _days_subquery(where_day, utc_day(now))
    stmt = (
        select(Learner, func.coalesce(days.c.days, 0))
        .outerjoin(days, and_(days.c.course_id == Learner.course_id, days.c.user_id == Learner.user_id))
        .where(where_learner)
    )
    return [(row, int(n)) for row, n in (await session.execute(stmt)).all()]


async def metrics_by_learner(
    runtime: Runtime, keys: list[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]:
    """(course, user) -> metrics, cached per student for `engagement_cache_seconds` (one query for misses)."""

    async def compute(missing: list[tuple[uuid.UUID, uuid.UUID]]) -> dict:
        now = utcnow()
        pairs = tuple_(Learner.course_id, Learner.user_id).in_(missing)
        day_pairs = tuple_(LearnerDay.course_id, LearnerDay.user_id).in_(missing)
        async with runtime.transaction() as session:
            rows = await _learners_with_days(session, pairs, day_pairs, now)
        return {(r.course_id, r.user_id): learner_metrics(r, n, now) for r, n in rows}

    return await caching.cached_many(
        runtime.redis,
        keys,
        gen_key=lambda k: caching.learner_gen_key(*k),
        value_key=lambda k, g: caching.engagement_key(k[0], k[1], g),
        ttl_seconds=runtime.settings.analytics.engagement_cache_seconds,
        compute=compute,
    )


def course_stats_of(
    course_id: uuid.UUID, learners: list[tuple[Learner, int]], now: datetime
) -> dict[str, Any]:
    """CourseStats from the course's students (formulas in README):
    enrollments = students not DROPPED; activeStudents = of those, active within 7 days;
    completionRate = 100 * COMPLETED / enrollments; averageQuizScore = mean percent over every submitted
    attempt of the enrollments (a dropped student's attempts no longer count); averageProgress = mean
    progress_percent of enrollments; labHours = all lab time / 3600; atRiskCount = enrollments whose
    riskLevel (metrics.assess, now) is HIGH."""
    current = [(r, n) for r, n in learners if r.status != "DROPPED"]
    enrolled = len(current)
    cutoff = now - timedelta(days=ACTIVE_WINDOW_DAYS)
    attempts = sum(r.quiz_attempts for r, _ in current)
    return {
        "course_id": str(course_id),
        "enrollments": enrolled,
        "active_students": sum(1 for r, _ in current if r.last_activity_at and r.last_activity_at >= cutoff),
        "completed": sum(1 for r, _ in current if r.status == "COMPLETED"),
        "completion_rate": round(100 * sum(r.status == "COMPLETED" for r, _ in current) / enrolled, 1)
        if enrolled
        else 0.0,
        "average_quiz_score": round(sum(r.quiz_percent_sum for r, _ in current) / attempts, 1)
        if attempts
        else None,
        "average_progress": round(sum(r.progress_percent for r, _ in current) / enrolled, 1)
        if enrolled
        else 0.0,
        "lab_hours": round(sum(r.lab_seconds for r, _ in learners) / 3600, 2),
        "at_risk_count": sum(1 for r, n in current if risk_level(state_of(r, n), now) is RiskLevel.HIGH),
        "computed_at": now.isoformat(),
    }


async def stats_by_course(runtime: Runtime, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """course -> stats, cached per course for `course_stats_cache_seconds` (one query for every miss)."""

    async def compute(missing: list[uuid.UUID]) -> dict:
        now = utcnow()
        async with runtime.transaction() as session:
            rows = await _learners_with_days(
                session, Learner.course_id.in_(missing), LearnerDay.course_id.in_(missing), now
            )
        grouped: dict[uuid.UUID, list[tuple[Learner, int]]] = defaultdict(list)
        for r, n in rows:
            grouped[r.course_id].append((r, n))
        return {c: course_stats_of(c, grouped.get(c, []), now) for c in missing}

    return await caching.cached_many(
        runtime.redis,
        course_ids,
        gen_key=caching.course_gen_key,
        value_key=caching.course_stats_key,
        ttl_seconds=runtime.settings.analytics.course_stats_cache_seconds,
        compute=compute,
    )


async def active_today(runtime: Runtime, course_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Distinct students active today (UTC) per course, from the live HyperLogLogs (not cached)."""
    today = utc_day(utcnow())
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for c in course_ids:
            pipe.pfcount(caching.active_key(c, today))
        counts = await pipe.execute()
    return dict(zip(course_ids, (int(n) for n in counts), strict=True))


# --- reports ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    since: date
    until: date

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]


def date_range(since: date | None, until: date | None) -> Range:
    end = until or utc_day(utcnow())
    start = since or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise InvalidInput({"since": "Must not be after `until`."})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput({"since": f"The range may cover at most {MAX_RANGE_DAYS} days."})
    return Range(start, end)


def series_of(rows: list[CourseDay], r: Range) -> list[dict[str, Any]]:
    """Zero-filled daily points: activeStudents (distinct per course, summed across courses),
    submissions (quiz attempts submitted), labHours, lessonCompletions."""
    by_day: dict[date, dict[str, float]] = {}
    for row in rows:
        point = by_day.setdefault(row.day, {"active": 0, "submissions": 0, "lab": 0.0, "lessons": 0})
        point["active"] += row.active_students
        point["submissions"] += row.quiz_submissions
        point["lab"] += row.lab_seconds
        point["lessons"] += row.lesson_completions
    out = []
    for day in r.days():
        p = by_day.get(day, {"active": 0, "submissions": 0, "lab": 0.0, "lessons": 0})
        out.append(
            {
                "day": day,
                "active_students": int(p["active"]),
                "submissions": int(p["submissions"]),
                "lab_hours": round(p["lab"] / 3600, 2),
                "lesson_completions": int(p["lessons"]),
            }
        )
    return out


async def course_series(runtime: Runtime, course_ids: list[uuid.UUID], r: Range) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = (
            await session.scalars(
                select(CourseDay).where(
                    CourseDay.course_id.in_(course_ids), CourseDay.day >= r.since, CourseDay.day <= r.until
                )
            )
        ).all()
    return series_of(list(rows), r)


@dataclass
class CourseReport:
    course: Course
    range: Range
    stats: dict[str, Any]
    active_today: int
    series: list[dict[str, Any]]
    students: list[dict[str, Any]]


async def course_report(
    runtime: Runtime, meta: RequestMeta, course_id: uuid.UUID, since: date | None, until: date | None
) -> CourseReport:
    r = date_range(since, until)
    course = await course_for_viewer(runtime, meta, course_id)
    stats = (await stats_by_course(runtime, [course.course_id]))[course.course_id]
    async with runtime.transaction() as session:
        users = (
            await session.scalars(select(Learner.user_id).where(Learner.course_id == course.course_id))
        ).all()
    students = await metrics_by_learner(runtime, [(course.course_id, u) for u in users])
    return CourseReport(
        course=course,
        range=r,
        stats=stats,
        active_today=(await active_today(runtime, [course.course_id]))[course.course_id],
        series=await course_series(runtime, [course.course_id], r),
        students=sorted(students.values(), key=lambda s: (s["engagement_score"], s["user_id"])),
    )


@dataclass
class StudentReport:
    metrics: dict[str, Any]
    last_login_at: datetime | None
    active_days: list[date]


async def student_report(
    runtime: Runtime, meta: RequestMeta, user_id: uuid.UUID, course_id: uuid.UUID
) -> StudentReport | None:
    principal = meta.principal
    if not principal.is_authenticated:
        raise NotAuthenticated()
    if principal.user_id != user_id:
        await course_for_viewer(runtime, meta, course_id)
    metrics = (await metrics_by_learner(runtime, [(course_id, user_id)])).get((course_id, user_id))
    if metrics is None:
        return None
    async with runtime.transaction() as session:
        login = await session.scalar(
            select(UserActivity.last_login_at).where(UserActivity.user_id == user_id)
        )
        days = (
            await session.scalars(
                select(LearnerDay.day)
                .where(LearnerDay.course_id == course_id, LearnerDay.user_id == user_id)
                .order_by(LearnerDay.day.desc())
                .limit(MAX_RANGE_DAYS)
            )
        ).all()
    return StudentReport(metrics=metrics, last_login_at=login, active_days=sorted(days))


@dataclass
class OrganizationReport:
    organization_id: uuid.UUID
    range: Range
    courses: list[tuple[Course, dict[str, Any]]]
    series: list[dict[str, Any]]
    generation_jobs: int


async def organization_report(
    runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID, since: date | None, until: date | None
) -> OrganizationReport:
    r = date_range(since, until)
    if not await can_view_organization(meta.caller, organization_id):
        raise _refuse(meta.principal, organization_id)
    start = datetime.combine(r.since, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(r.until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    async with runtime.transaction() as session:
        courses = (
            await session.scalars(
                select(Course)
                .where(Course.organization_id == organization_id, Course.status != "DELETED")
                .order_by(Course.title, Course.course_id)
            )
        ).all()
        jobs = await session.scalar(
            select(func.count()).where(
                ActivityEvent.organization_id == organization_id,
                ActivityEvent.type == "generator.job.requested",
                ActivityEvent.occurred_at >= start,
                ActivityEvent.occurred_at < end,
            )
        )
    ids = [c.course_id for c in courses]
    stats = await stats_by_course(runtime, ids)
    return OrganizationReport(
        organization_id=organization_id,
        range=r,
        courses=[(c, stats[c.course_id]) for c in courses],
        series=await course_series(runtime, ids, r) if ids else series_of([], r),
        generation_jobs=int(jobs or 0),
    )


# --- trackActivity ---------------------------------------------------------------------------------


def _check_payload(payload: Any) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvalidInput({"input.payload": "Must be a JSON object."})
    if len(payload) > PAYLOAD_MAX_KEYS:
        raise InvalidInput({"input.payload": f"At most {PAYLOAD_MAX_KEYS} keys."})
    try:
        size = len(orjson.dumps(payload))
    except TypeError as exc:
        raise InvalidInput({"input.payload": "Must be plain JSON."}) from exc
    if size > PAYLOAD_MAX_BYTES:
        raise InvalidInput({"input.payload": f"At most {PAYLOAD_MAX_BYTES} bytes of JSON."})
    return payload


async def track_activity(
    runtime: Runtime, meta: RequestMeta, *, type: str, course_id: uuid.UUID, payload: Any
) -> uuid.UUID:
    """Record a client-side event of a student (or teacher) of the course: an outbox event
    `analytics.activity.tracked` that the consumer ingests like every other event (one path)."""
    principal = meta.principal
    user_id = principal.user_id
    if user_id is None:
        raise (
            NotAuthenticated() if not principal.is_authenticated else Forbidden("Only people track activity.")
        )
    try:
        kind = ActivityType(type)
    except ValueError as exc:
        raise InvalidInput({"input.type": "Unknown activity type."}) from exc
    data = _check_payload(payload)
    limits = runtime.settings.rate_limits
    await runtime.rate_limiter.hit(
        f"track-activity:{user_id}",
        limit=limits.track_activity_per_user,
        window_seconds=limits.track_activity_per_user_window_seconds,
    )
    async with runtime.transaction() as session:
        course = await session.get(Course, course_id)
        learner = await session.get(Learner, (course_id, user_id))
        enrolled = learner is not None and learner.status != "DROPPED" and learner.enrollment_id is not None
        if course is None or not (enrolled or await can_view_course(meta.caller, course)):
            raise AccessDenied(
                VIEW,
                str(course.organization_id) if course else None,
                "Enroll in (or teach) this course first.",
            )
        event = emit(
            session,
            Outbox,
            request_event(
                meta,
                ActivityTracked(
                    user_id=user_id,
                    course_id=course_id,
                    organization_id=course.organization_id,
                    activity_type=kind.value,
                    data=data,
                ),
                organization_id=course.organization_id,
                subjects={"user_id": user_id, "course_id": course_id},
            ),
        )
    return event.id

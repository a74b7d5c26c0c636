"""The quizzes domain's projections of courses: fed by events, deduped by event id, order-safe."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event
from subgraphs.courses import service as courses_service
from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection, ProcessedEvent
from subgraphs.quizzes.projection import apply_event


def course_event(verb: str, course_id: str, status: str, at, org=None) -> Event:
    return Event(
        type=f"courses.course.{verb}",
        occurred_at=at,
        payload={
            "course_id": course_id,
            "organization_id": org or str(uuid.uuid4()),
            "instructor_id": str(uuid.uuid4()),
            "status": status,
            "title": "T",
        },
    )


async def test_redelivered_event_is_applied_once(quizzes_runtime):
    course_id = str(uuid.uuid4())
    event = course_event("created", course_id, "DRAFT", utcnow())
    assert await apply_event(quizzes_runtime.sessionmaker, event) is True
    assert await apply_event(quizzes_runtime.sessionmaker, event) is False
    async with quizzes_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id == event.id)
            )
            == 1
        )
        assert (await session.get(CourseProjection, uuid.UUID(course_id))).status == "DRAFT"


async def test_older_event_never_overwrites_a_newer_state(quizzes_runtime):
    course_id, now = str(uuid.uuid4()), utcnow()
    published = course_event("published", course_id, "PUBLISHED", now)
    created = course_event("created", course_id, "DRAFT", now - timedelta(seconds=5))
    archived = course_event("archived", course_id, "ARCHIVED", now + timedelta(seconds=5))
    deleted = course_event("deleted", course_id, "ARCHIVED", now + timedelta(seconds=9))
    for event, expected in (
        (published, "PUBLISHED"),
        (created, "PUBLISHED"),
        (archived, "ARCHIVED"),
        (deleted, "DELETED"),
    ):
        await apply_event(quizzes_runtime.sessionmaker, event)
        async with quizzes_runtime.transaction() as session:
            assert (await session.get(CourseProjection, uuid.UUID(course_id))).status == expected, event.type
    user_id = str(uuid.uuid4())
    enrollment = {
        "enrollment_id": str(uuid.uuid4()),
        "user_id": user_id,
        "course_id": course_id,
        "organization_id": str(uuid.uuid4()),
    }
    dropped = Event(
        type="courses.enrollment.dropped", occurred_at=now, payload={**enrollment, "status": "DROPPED"}
    )
    created_late = Event(
        type="courses.enrollment.created",
        occurred_at=now - timedelta(seconds=1),
        payload={**enrollment, "status": "ACTIVE"},
    )
    await apply_event(quizzes_runtime.sessionmaker, dropped)
    await apply_event(quizzes_runtime.sessionmaker, created_late)
    async with quizzes_runtime.transaction() as session:
        row = await session.get(EnrollmentProjection, (uuid.UUID(course_id), uuid.UUID(user_id)))
    assert row.status == "DROPPED"


async def test_course_and_enrollment_events_reach_the_projection_through_redis(courses, projector):
    school = await courses.school()
    course = await courses.course(school)
    await courses_service.enroll(courses.runtime, school.student.meta, course_id=course.id)
    await projector.sync(
        courses={course.id: "PUBLISHED"}, enrollments={(course.id, school.student.id): "ACTIVE"}
    )
    await courses_service.archive_course(courses.runtime, school.instructor.meta, id=course.id)
    await projector.sync(courses={course.id: "ARCHIVED"})
    async with projector.runtime.transaction() as session:
        row = await session.get(CourseProjection, course.id)
    assert (str(row.organization_id), str(row.instructor_id)) == (school.org, school.instructor.id)

"""The quizzes domain's projections of courses: fed by events, deduped by event id, order-safe."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event
from subgraphs.courses.catalog import archive_course, delete_course
from subgraphs.courses.enrollment import enroll
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
    assert await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, event) is True
    assert await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, event) is False
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
        await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, event)
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
    await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, dropped)
    await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, created_late)
    async with quizzes_runtime.transaction() as session:
        row = await session.get(EnrollmentProjection, (uuid.UUID(course_id), uuid.UUID(user_id)))
    assert row.status == "DROPPED"


async def test_course_and_enrollment_events_reach_the_projection_through_redis(courses, projector):
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses.runtime, school.student.meta, course_id=course.id)
    await projector.sync(
        courses={course.id: "PUBLISHED"}, enrollments={(course.id, school.student.id): "ACTIVE"}
    )
    await archive_course(courses.runtime, school.instructor.meta, id=course.id)
    await projector.sync(courses={course.id: "ARCHIVED"})
    async with projector.runtime.transaction() as session:
        row = await session.get(CourseProjection, course.id)
    assert (str(row.organization_id), str(row.instructor_id)) == (school.org, school.instructor.id)


async def test_a_deleted_course_takes_its_quizzes_along(courses, projector, quizzes_runtime):
    """Through the projection consumer: deleting a course (no enrollments, so no attempts) deletes its
    quizzes and their questions, with `quizzes.quiz.deleted`."""
    from subgraphs.quizzes import authoring
    from subgraphs.quizzes.models import Outbox, Question, Quiz
    from tests.subgraphs.quizzes.factories import QUESTIONS

    school = await courses.school()
    course, other = await courses.course(school, publish=False), await courses.course(school, publish=False)
    await projector.sync(courses={course.id: "DRAFT", other.id: "DRAFT"})
    made = []
    for course_id in (course.id, course.id, other.id):
        quiz = await authoring.create_quiz(
            quizzes_runtime, school.instructor.meta, course_id=course_id, title="Q"
        )
        await authoring.create_question(
            quizzes_runtime, school.instructor.meta, quiz_id=quiz.id, spec=QUESTIONS[0]
        )
        made.append(quiz.id)
    await delete_course(courses.runtime, school.instructor.meta, id=course.id)
    await projector.sync(courses={course.id: "DELETED"})
    async with quizzes_runtime.transaction() as session:
        left = (await session.scalars(select(Quiz.id).where(Quiz.id.in_(made)))).all()
        questions = await session.scalar(
            select(func.count()).select_from(Question).where(Question.quiz_id.in_(made[:2]))
        )
        events = (
            await session.scalars(select(Outbox.event).where(Outbox.type == "quizzes.quiz.deleted"))
        ).all()
    assert left == [made[2]] and questions == 0
    deleted = [e for e in events if e["payload"]["course_id"] == str(course.id)]
    assert sorted(e["payload"]["quiz_id"] for e in deleted) == sorted(str(q) for q in made[:2])
    assert all(e["actor_id"] == school.instructor.id for e in deleted)


async def test_a_deleted_course_keeps_a_quiz_with_attempts_closed(courses, projector, quizzes_runtime):
    """Should a quiz have attempts anyway, its students' results stay: the quiz is kept, unpublished."""
    from subgraphs.quizzes import attempts
    from subgraphs.quizzes.models import Outbox, Quiz, QuizAttempt
    from tests.subgraphs.quizzes.factories import classroom

    room = await classroom(courses, projector, quizzes_runtime)
    attempt = await attempts.start_attempt(quizzes_runtime, room.school.student.meta, quiz_id=room.quiz_id)
    async with quizzes_runtime.transaction() as session:
        projected = await session.get(CourseProjection, room.course_id)
    deleted = course_event(
        "deleted", str(room.course_id), "PUBLISHED", utcnow(), org=str(projected.organization_id)
    )
    assert await apply_event(quizzes_runtime.sessionmaker, quizzes_runtime.redis, deleted) is True
    async with quizzes_runtime.transaction() as session:
        quiz = await session.get(Quiz, room.quiz_id)
        kept = await session.get(QuizAttempt, attempt.id)
        events = (
            await session.scalars(
                select(Outbox.event)
                .where(Outbox.event["subject_ids"]["quiz_id"].astext == str(room.quiz_id))
                .order_by(Outbox.position)
            )
        ).all()
    assert quiz is not None and quiz.status == "DRAFT" and kept is not None
    assert [e["type"] for e in events][-1] == "quizzes.quiz.unpublished"
    assert "quizzes.quiz.deleted" not in [e["type"] for e in events]

"""core.course_owners: a course's owning organization learned from `events.courses` (issue 13 item 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from subgraphs.core.course_owners import CourseOwnersConsumer, foreign_courses, record_course_event
from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, OutboxRelay, emit, stream_name
from subgraphs.courses.models import Outbox as CoursesOutbox
from subgraphs.generator.models import CourseOwner


def course_event(verb: str, course: uuid.UUID, org: uuid.UUID, status: str = "DRAFT", **kw) -> Event:
    payload = {
        "course_id": str(course),
        "organization_id": str(org),
        "instructor_id": str(uuid.uuid4()),
        "status": status,
        "title": "T",
    }
    return Event(type=f"courses.course.{verb}", organization_id=str(org), payload=payload, **kw)


async def test_the_consumer_learns_owners_from_the_courses_stream(runtime):
    group = f"test-owners-{uuid.uuid4().hex[:8]}"
    await runtime.redis.xgroup_create(stream_name("courses"), group, id="$", mkstream=True)
    consumer = CourseOwnersConsumer(
        runtime.redis, runtime.sessionmaker, model=CourseOwner, group=group, block_ms=10
    )
    course, org = uuid.uuid4(), uuid.uuid4()
    async with runtime.transaction() as session:
        emit(session, CoursesOutbox, course_event("created", course, org))
    relay = OutboxRelay(runtime.sessionmaker, runtime.redis, {"courses": CoursesOutbox})
    while await relay.relay_once():
        pass
    while await consumer.consume_once(block_ms=10):
        pass
    async with runtime.transaction() as session:
        assert await foreign_courses(session, CourseOwner, org, [course]) == []
        other = uuid.uuid4()
        assert await foreign_courses(session, CourseOwner, uuid.uuid4(), [course, other]) == [course, other]


async def test_an_older_event_never_brings_a_deleted_course_back(runtime):
    course, org = uuid.uuid4(), uuid.uuid4()
    now = utcnow()
    deleted = course_event("deleted", course, org, occurred_at=now)
    older = course_event("published", course, org, status="PUBLISHED", occurred_at=now - timedelta(seconds=1))
    async with runtime.transaction() as session:
        await record_course_event(session, CourseOwner, deleted)
        await record_course_event(session, CourseOwner, older)  # late delivery
        await record_course_event(session, CourseOwner, deleted)  # redelivery
        assert await foreign_courses(session, CourseOwner, org, [course]) == [course]
        row = await session.get(CourseOwner, course)
        assert row.status == "DELETED" and row.as_of == now

"""What the quizzes domain knows of courses: projections fed by the `events.courses` stream.

The quizzes domain never reads the courses tables. `CoursesProjectionConsumer` (run by `coursegraph
worker`) applies each course and enrollment event in ONE transaction that also records the event id in
`processed_event` (a redelivered event changes nothing) and only overwrites a projection row with an
event at least as recent as the one it holds (`as_of`), so out-of-order delivery never goes back in time.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection, ProcessedEvent

COURSE_EVENTS = frozenset(
    f"courses.course.{verb}"
    for verb in ("created", "updated", "published", "unpublished", "archived", "deleted")
)
ENROLLMENT_EVENTS = frozenset(f"courses.enrollment.{verb}" for verb in ("created", "dropped", "completed"))


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Apply one courses event to the projections; False when it is not relevant or was applied before."""
    if event.type not in COURSE_EVENTS and event.type not in ENROLLMENT_EVENTS:
        return False
    p = event.payload
    async with sessionmaker() as session, session.begin():
        fresh = await session.scalar(
            insert(ProcessedEvent)
            .values(event_id=event.id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        if fresh is None:
            return False
        if event.type in COURSE_EVENTS:
            values = {
                "course_id": uuid.UUID(p["course_id"]),
                "organization_id": uuid.UUID(p["organization_id"]),
                "instructor_id": uuid.UUID(p["instructor_id"]),
                "status": "DELETED" if event.type.endswith(".deleted") else p["status"],
                "as_of": event.occurred_at,
            }
            stmt = insert(CourseProjection).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[CourseProjection.course_id],
                set_={k: stmt.excluded[k] for k in ("organization_id", "instructor_id", "status", "as_of")},
                where=CourseProjection.as_of <= stmt.excluded.as_of,
            )
        else:
            values = {
                "course_id": uuid.UUID(p["course_id"]),
                "user_id": uuid.UUID(p["user_id"]),
                "enrollment_id": uuid.UUID(p["enrollment_id"]),
                "status": p["status"],
                "as_of": event.occurred_at,
            }
            stmt = insert(EnrollmentProjection).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[EnrollmentProjection.course_id, EnrollmentProjection.user_id],
                set_={k: stmt.excluded[k] for k in ("enrollment_id", "status", "as_of")},
                where=EnrollmentProjection.as_of <= stmt.excluded.as_of,
            )
        await session.execute(stmt)
    return True


class CoursesProjectionConsumer(Consumer):
    """Keeps the quizzes domain's course and enrollment projections (worker, group quizzes-projection)."""

    group: ClassVar[str] = "quizzes-projection"
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_event(self._sessionmaker, event)

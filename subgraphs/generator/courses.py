"""What the generator knows of courses: each one's status, fed by `events.courses` (the generator never
reads the courses tables). Archived courses are read-only everywhere, so generating for one, or applying a
result to one, is refused with `COURSE_ARCHIVED`.

`CourseStatusConsumer` (run by `coursegraph worker`, group generator-courses) applies `courses.course.*`
to `generator.course_status`; a row is only overwritten by an event at least as recent as the one it holds
(`as_of`), so redelivery and out-of-order delivery are harmless. A course whose events have not arrived yet
is not refused.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.errors import CourseArchived
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.generator.models import CourseStatus

COURSE_EVENTS = frozenset(
    f"courses.course.{verb}"
    for verb in ("created", "updated", "published", "unpublished", "archived", "deleted")
)


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], event: Event) -> bool:
    if event.type not in COURSE_EVENTS:
        return False
    p = event.payload
    stmt = insert(CourseStatus).values(
        course_id=uuid.UUID(p["course_id"]),
        organization_id=uuid.UUID(p["organization_id"]),
        status="DELETED" if event.type.endswith(".deleted") else p["status"],
        as_of=event.occurred_at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[CourseStatus.course_id],
        set_={"status": stmt.excluded.status, "as_of": stmt.excluded.as_of},
        where=CourseStatus.as_of <= stmt.excluded.as_of,
    )
    async with sessionmaker() as session, session.begin():
        await session.execute(stmt)
    return True


async def refuse_archived(session: AsyncSession, course_id: uuid.UUID | None) -> None:
    """`COURSE_ARCHIVED` when the course is known to be archived."""
    if course_id is None:
        return
    row = await session.get(CourseStatus, course_id)
    if row is not None and row.status == "ARCHIVED":
        raise CourseArchived()


class CourseStatusConsumer(Consumer):
    """Keeps `generator.course_status` (worker, group generator-courses)."""

    group: ClassVar[str] = "generator-courses"
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_event(self._sessionmaker, event)

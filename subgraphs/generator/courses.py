"""What the generator knows of courses, from its `course_owner` projection of `events.courses`
(core.course_owners; the generator never reads the courses tables): a course id from a caller must be a
live course of the caller's organization, and archived courses are read-only (generating for one, or
applying a result to one, is refused with `COURSE_ARCHIVED`). A course whose events have not arrived yet
is not known."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.errors import CourseArchived
from subgraphs.generator.models import CourseOwner

# The worker's consumer group that keeps this domain's CourseOwner table (worker.py).
COURSE_OWNERS_GROUP = "generator-course-owners"


async def refuse_archived(session: AsyncSession, course_id: uuid.UUID | None) -> None:
    """`COURSE_ARCHIVED` when the course is known to be archived."""
    if course_id is None:
        return
    row = await session.get(CourseOwner, course_id)
    if row is not None and row.status == "ARCHIVED":
        raise CourseArchived()

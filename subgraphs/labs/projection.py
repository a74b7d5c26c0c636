"""What the labs domain knows of other domains: projections fed by `events.courses` and
`events.organizations` (as subgraphs/quizzes/projection.py does for quizzes).

Each event is applied in ONE transaction that records its id in `processed_event` (a redelivery changes
nothing), and a row is only overwritten by an event at least as recent as the one it holds (`as_of`), so
delivery order does not matter.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.courses import (
    CourseDeleted,
    CourseSnapshot,
    EnrollmentSnapshot,
    ExerciseDeleted,
    ExerciseSnapshot,
)
from subgraphs.contracts.organizations import announced_settings
from subgraphs.core.consumers import DatabaseConsumer, claim_event, upsert_if_newer
from subgraphs.core.events import Event, stream_name
from subgraphs.labs.models import (
    CourseProjection,
    EnrollmentProjection,
    ExerciseProjection,
    OrganizationProjection,
    ProcessedEvent,
)

# The worker's consumer group that keeps the course, exercise and enrollment projections.
PROJECTION_GROUP = "labs-projection"


def _statement(event: Event) -> Any | None:
    at = event.occurred_at
    if course := parse_if(event, CourseSnapshot):
        values = {
            "course_id": course.course_id,
            "organization_id": course.organization_id,
            "status": "DELETED" if isinstance(course, CourseDeleted) else course.status,
            "as_of": at,
        }
        return upsert_if_newer(CourseProjection, [CourseProjection.course_id], values)
    if enrollment := parse_if(event, EnrollmentSnapshot):
        values = {
            "course_id": enrollment.course_id,
            "user_id": enrollment.user_id,
            "status": enrollment.status,
            "as_of": at,
        }
        return upsert_if_newer(
            EnrollmentProjection, [EnrollmentProjection.course_id, EnrollmentProjection.user_id], values
        )
    if exercise := parse_if(event, ExerciseSnapshot):
        if exercise.ide is None:  # an event from before exercises announced their IDE
            return None
        values = {
            "exercise_id": exercise.exercise_id,
            "course_id": exercise.course_id,
            "organization_id": exercise.organization_id,
            "ide": exercise.ide.value,
            "starter_files": [f.model_dump() for f in exercise.starter_files],
            "deleted": isinstance(exercise, ExerciseDeleted),
            "as_of": at,
        }
        return upsert_if_newer(ExerciseProjection, [ExerciseProjection.exercise_id], values)
    settings = announced_settings(event)
    if settings is not None and event.organization_id:
        values = {
            "organization_id": uuid.UUID(event.organization_id),
            "settings": settings.model_dump(exclude_unset=True),  # as announced; defaults apply on read
            "as_of": at,
        }
        return upsert_if_newer(OrganizationProjection, [OrganizationProjection.organization_id], values)
    return None


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Apply one event to the projections; False when it is not relevant or was applied before."""
    stmt = _statement(event)
    if stmt is None:
        return False
    async with sessionmaker() as session, session.begin():
        if not await claim_event(session, ProcessedEvent, event):
            return False
        await session.execute(stmt)
    return True


class LabsProjectionConsumer(DatabaseConsumer):
    """Keeps the labs domain's projections (worker, group labs-projection)."""

    group: ClassVar[str] = PROJECTION_GROUP
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"), stream_name("organizations"))

    async def handle(self, event: Event) -> None:
        await apply_event(self.sessionmaker, event)

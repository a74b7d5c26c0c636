"""What the labs domain knows of other domains: projections fed by `events.courses` and
`events.organizations` (as subgraphs/quizzes/projection.py does for quizzes).

Each event is applied in ONE transaction that records its id in `processed_event` (a redelivery changes
nothing), and a row is only overwritten by an event at least as recent as the one it holds (`as_of`), so
delivery order does not matter.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.labs.models import (
    CourseProjection,
    EnrollmentProjection,
    ExerciseProjection,
    OrganizationProjection,
    ProcessedEvent,
)
from subgraphs.labs.service import PROJECTION_GROUP

COURSE_EVENTS = frozenset(
    f"courses.course.{verb}"
    for verb in ("created", "updated", "published", "unpublished", "archived", "deleted")
)
ENROLLMENT_EVENTS = frozenset(f"courses.enrollment.{verb}" for verb in ("created", "dropped", "completed"))
EXERCISE_EVENTS = frozenset(f"courses.exercise.{verb}" for verb in ("created", "updated", "deleted"))
ORGANIZATION_EVENTS = frozenset({"organizations.organization.created", "organizations.organization.updated"})
RELEVANT = COURSE_EVENTS | ENROLLMENT_EVENTS | EXERCISE_EVENTS | ORGANIZATION_EVENTS


def _upsert(model: Any, keys: list[Any], values: dict[str, Any]) -> Any:
    stmt = insert(model).values(**values)
    key_names = {k.key for k in keys}
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={k: stmt.excluded[k] for k in values if k not in key_names},
        where=model.as_of <= stmt.excluded.as_of,
    )


def _statement(event: Event) -> Any | None:
    p = event.payload
    at = event.occurred_at
    if event.type in COURSE_EVENTS:
        status = "DELETED" if event.type.endswith(".deleted") else p["status"]
        values = {
            "course_id": uuid.UUID(p["course_id"]),
            "organization_id": uuid.UUID(p["organization_id"]),
            "status": status,
            "as_of": at,
        }
        return _upsert(CourseProjection, [CourseProjection.course_id], values)
    if event.type in ENROLLMENT_EVENTS:
        values = {
            "course_id": uuid.UUID(p["course_id"]),
            "user_id": uuid.UUID(p["user_id"]),
            "status": p["status"],
            "as_of": at,
        }
        return _upsert(
            EnrollmentProjection, [EnrollmentProjection.course_id, EnrollmentProjection.user_id], values
        )
    if event.type in EXERCISE_EVENTS:
        if "ide" not in p:  # an event from before exercises announced their IDE
            return None
        values = {
            "exercise_id": uuid.UUID(p["exercise_id"]),
            "course_id": uuid.UUID(p["course_id"]),
            "organization_id": uuid.UUID(p["organization_id"]),
            "ide": p["ide"],
            "starter_files": p.get("starter_files") or [],
            "deleted": event.type.endswith(".deleted"),
            "as_of": at,
        }
        return _upsert(ExerciseProjection, [ExerciseProjection.exercise_id], values)
    if event.type in ORGANIZATION_EVENTS:
        settings = (
            p.get("settings") if event.type.endswith(".created") else (p.get("after") or {}).get("settings")
        )
        if settings is None:  # an update of the name or slug only
            return None
        values = {
            "organization_id": uuid.UUID(event.organization_id or p["organization_id"]),
            "settings": settings,
            "as_of": at,
        }
        return _upsert(OrganizationProjection, [OrganizationProjection.organization_id], values)
    return None


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Apply one event to the projections; False when it is not relevant or was applied before."""
    if event.type not in RELEVANT:
        return False
    stmt = _statement(event)
    if stmt is None:
        return False
    async with sessionmaker() as session, session.begin():
        fresh = await session.scalar(
            insert(ProcessedEvent)
            .values(event_id=event.id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        if fresh is None:
            return False
        await session.execute(stmt)
    return True


class LabsProjectionConsumer(Consumer):
    """Keeps the labs domain's projections (worker, group labs-projection)."""

    group: ClassVar[str] = PROJECTION_GROUP
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"), stream_name("organizations"))

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_event(self._sessionmaker, event)

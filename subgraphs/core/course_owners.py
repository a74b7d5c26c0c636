"""Which organization owns a course, as a projection any domain keeps from `events.courses`.

Domains that take course ids from callers (the generator's jobs, the organizations' tracks) must answer
`NotFoundError` for a course that does not exist or belongs to another organization, without reading the
courses tables. Each keeps its own table (`class CourseOwner(CourseOwnerMixin, Base)`) fed by a
`CourseOwnersConsumer`: an upsert that only an event at least as recent overwrites (`as_of`), so
redelivery and out-of-order delivery are harmless and no processed-event table is needed.

A course created a moment ago is known once this domain's consumer has applied its event; requests that
must see it use `foreign_courses_read_your_writes`, which waits (bounded) for that consumer on a miss.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy import DateTime, String, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.courses import CourseDeleted, CourseSnapshot
from subgraphs.core.consumers import TransactionConsumer, upsert_if_newer
from subgraphs.core.events import Event, stream_name

if TYPE_CHECKING:
    from subgraphs.core.context import Runtime

DELETED = "DELETED"


class CourseOwnerMixin:
    __tablename__ = "course_owner"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(16))  # DRAFT | PUBLISHED | ARCHIVED | DELETED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # occurred_at of the applied event


async def record_course_event(session: AsyncSession, model: Any, event: Event) -> bool:
    """Apply one courses event to `model`; False when the event is not about a course's ownership."""
    course = parse_if(event, CourseSnapshot)
    if course is None:
        return False
    values = {
        "course_id": course.course_id,
        "organization_id": course.organization_id,
        "status": DELETED if isinstance(course, CourseDeleted) else course.status,
        "as_of": event.occurred_at,
    }
    await session.execute(upsert_if_newer(model, [model.course_id], values))
    return True


async def foreign_courses(
    session: AsyncSession, model: Any, organization_id: uuid.UUID, course_ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """The ids among `course_ids` that are not live courses of `organization_id` (unknown, deleted or
    another organization's), in the order given."""
    wanted = list(dict.fromkeys(course_ids))
    if not wanted:
        return []
    owned = set(
        (
            await session.scalars(
                select(model.course_id).where(
                    model.course_id.in_(wanted),
                    model.organization_id == organization_id,
                    model.status != DELETED,
                )
            )
        ).all()
    )
    return [course for course in wanted if course not in owned]


async def foreign_courses_read_your_writes(
    runtime: Runtime,
    session: AsyncSession,
    model: Any,
    group: str,
    organization_id: uuid.UUID,
    course_ids: Iterable[uuid.UUID],
) -> list[uuid.UUID]:
    """`foreign_courses`, but a course the client created a moment ago is waited for (bounded) until the
    `group` consumer that keeps `model` has caught up with `events.courses` (read your writes)."""
    wanted = list(course_ids)
    foreign = await foreign_courses(session, model, organization_id, wanted)
    if foreign and await runtime.caught_up("courses", group):
        foreign = await foreign_courses(session, model, organization_id, wanted)
    return foreign


class CourseOwnersConsumer(TransactionConsumer):
    """Keeps one domain's `CourseOwnerMixin` table from `events.courses` (worker)."""

    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        model: Any,
        group: str,
        **options: Any,
    ) -> None:
        super().__init__(redis, sessionmaker, **options)
        self.group = group  # type: ignore[misc]  # each table's own group; the ClassVar only declares it
        self._model = model

    async def apply(self, session: AsyncSession, event: Event) -> None:
        await record_course_event(session, self._model, event)

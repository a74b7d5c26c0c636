"""What the quizzes domain knows of courses: projections fed by the `events.courses` stream.

The quizzes domain never reads the courses tables. `CoursesProjectionConsumer` (run by `coursegraph
worker`) applies each course and enrollment event in ONE transaction that also records the event id in
`processed_event` (a redelivered event changes nothing) and only overwrites a projection row with an
event at least as recent as the one it holds (`as_of`), so out-of-order delivery never goes back in time.

A deleted course takes its quizzes along, in the same transaction: each quiz (its questions cascade) is
deleted with a `quizzes.quiz.deleted` event. A course can only be deleted without enrollments, so its
quizzes have no attempts; should one have attempts anyway, it is kept — the students' results stay — and
closed instead: unpublished (DRAFT, `quizzes.quiz.unpublished`), so nobody can start it again.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.courses import CourseDeleted, CourseSnapshot, EnrollmentSnapshot
from subgraphs.core.auth import ANONYMOUS, Principal
from subgraphs.core.context import RequestMeta
from subgraphs.core.db import utcnow
from subgraphs.core.events import Consumer, Event, emit, stream_name
from subgraphs.core.rbac import Caller
from subgraphs.quizzes import access, authoring
from subgraphs.quizzes.models import (
    CourseProjection,
    EnrollmentProjection,
    Outbox,
    ProcessedEvent,
    Quiz,
    QuizAttempt,
)

log = logging.getLogger("coursegraph.quizzes")


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, event: Event) -> bool:
    """Apply one courses event to the projections; False when it is not relevant or was applied before."""
    course = parse_if(event, CourseSnapshot)
    enrollment = parse_if(event, EnrollmentSnapshot)
    if course is None and enrollment is None:
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
        if course is not None:
            values = {
                "course_id": course.course_id,
                "organization_id": course.organization_id,
                "instructor_id": course.instructor_id,
                "status": "DELETED" if isinstance(course, CourseDeleted) else course.status,
                "as_of": event.occurred_at,
            }
            stmt = insert(CourseProjection).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[CourseProjection.course_id],
                set_={k: stmt.excluded[k] for k in ("organization_id", "instructor_id", "status", "as_of")},
                where=CourseProjection.as_of <= stmt.excluded.as_of,
            )
        elif enrollment is not None:
            values = {
                "course_id": enrollment.course_id,
                "user_id": enrollment.user_id,
                "enrollment_id": enrollment.enrollment_id,
                "status": enrollment.status,
                "as_of": event.occurred_at,
            }
            stmt = insert(EnrollmentProjection).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[EnrollmentProjection.course_id, EnrollmentProjection.user_id],
                set_={k: stmt.excluded[k] for k in ("enrollment_id", "status", "as_of")},
                where=EnrollmentProjection.as_of <= stmt.excluded.as_of,
            )
        await session.execute(stmt)
        if isinstance(course, CourseDeleted):
            await _remove_quizzes_of(session, event_meta(event, redis), course.course_id)
    return True


def event_meta(event: Event, redis: Redis) -> RequestMeta:
    """Events written while applying another domain's event are attributed to that event's actor."""
    actor = Principal(subject=event.actor_id, kind="user") if event.actor_id else ANONYMOUS
    return RequestMeta(
        Caller.of(actor, redis), request_id=event.request_id, client_ip=event.source_ip or "unknown"
    )


async def _remove_quizzes_of(session: AsyncSession, meta: RequestMeta, course_id: uuid.UUID) -> None:
    quizzes = (await session.scalars(select(Quiz).where(Quiz.course_id == course_id).with_for_update())).all()
    if not quizzes:
        return
    attempted = set(
        (
            await session.scalars(
                select(QuizAttempt.quiz_id).where(QuizAttempt.quiz_id.in_([q.id for q in quizzes])).distinct()
            )
        ).all()
    )
    for quiz in quizzes:
        if quiz.id in attempted:
            if quiz.status != access.QuizStatus.DRAFT:
                quiz.status = access.QuizStatus.DRAFT.value
                quiz.updated_at = utcnow()
                emit(session, Outbox, authoring.quiz_event(meta, "unpublished", quiz))
            log.warning("course %s deleted: quiz %s has attempts, kept and closed", course_id, quiz.id)
        else:
            emit(session, Outbox, authoring.quiz_event(meta, "deleted", quiz))
    gone = [q.id for q in quizzes if q.id not in attempted]
    if gone:
        await session.execute(delete(Quiz).where(Quiz.id.in_(gone)))  # questions cascade


class CoursesProjectionConsumer(Consumer):
    """Keeps the quizzes domain's course and enrollment projections (worker, group quizzes-projection)."""

    group: ClassVar[str] = access.PROJECTION_GROUP
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_event(self._sessionmaker, self.redis, event)

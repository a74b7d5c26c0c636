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
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.courses import CourseDeleted, CourseSnapshot, EnrollmentSnapshot
from subgraphs.core.consumers import DatabaseConsumer, claim_event, event_meta, upsert_if_newer
from subgraphs.core.context import RequestMeta, publishing_transaction
from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, emit, stream_name
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
    async with publishing_transaction(sessionmaker, redis) as session:
        if not await claim_event(session, ProcessedEvent, event):
            return False
        if course is not None:
            values = {
                "course_id": course.course_id,
                "organization_id": course.organization_id,
                "instructor_id": course.instructor_id,
                "status": "DELETED" if isinstance(course, CourseDeleted) else course.status,
                "as_of": event.occurred_at,
            }
            stmt = upsert_if_newer(CourseProjection, [CourseProjection.course_id], values)
        elif enrollment is not None:
            values = {
                "course_id": enrollment.course_id,
                "user_id": enrollment.user_id,
                "enrollment_id": enrollment.enrollment_id,
                "status": enrollment.status,
                "as_of": event.occurred_at,
            }
            keys = [EnrollmentProjection.course_id, EnrollmentProjection.user_id]
            stmt = upsert_if_newer(EnrollmentProjection, keys, values)
        await session.execute(stmt)
        if isinstance(course, CourseDeleted):
            await _remove_quizzes_of(session, event_meta(event, redis), course.course_id)
    return True


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


class CoursesProjectionConsumer(DatabaseConsumer):
    """Keeps the quizzes domain's course and enrollment projections (worker, group quizzes-projection)."""

    group: ClassVar[str] = access.PROJECTION_GROUP
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    async def handle(self, event: Event) -> None:
        await apply_event(self.sessionmaker, self.redis, event)

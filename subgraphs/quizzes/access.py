"""Who may see and change quizzes (core.rbac by membership role in the course's organization, which this
domain knows from its course projection): authoring and the instructor views need UPDATE_COURSES there;
taking a quiz needs an ACTIVE or COMPLETED enrollment in its course (enrollment projection) while quiz and
course are published."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import Runtime
from subgraphs.core.errors import CourseArchived, NotFound
from subgraphs.core.rbac import Caller, Permission, organizations_permitting, permitted
from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection, Quiz

MANAGE = Permission.UPDATE_COURSES
VIEW = Permission.VIEW_COURSES
TAKING = ("ACTIVE", "COMPLETED")


class QuizStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


# The worker's consumer group that keeps CourseProjection and EnrollmentProjection (projection.py).
PROJECTION_GROUP = "quizzes-projection"


async def projected_course(runtime: Runtime, session: AsyncSession, course_id: uuid.UUID) -> CourseProjection:
    course = await session.get(CourseProjection, course_id)
    if course is None and await runtime.caught_up("courses", PROJECTION_GROUP):  # read your writes
        course = await session.get(CourseProjection, course_id)
    if course is None or course.status == "DELETED":
        raise NotFound("No such course.")
    return course


def ensure_writable(course: CourseProjection | None) -> None:
    """Archived courses are read-only: their quizzes and questions change no more."""
    if course is not None and course.status == "ARCHIVED":
        raise CourseArchived()


async def enrollment_status(
    session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID | None
) -> str | None:
    if user_id is None:
        return None
    row = await session.get(EnrollmentProjection, (course_id, user_id))
    return row.status if row else None


async def can_view_quiz(caller: Caller, quiz: Quiz, enrollment_status: str | None) -> bool:
    """Authors see every quiz of their organization; students see published quizzes of courses they are
    enrolled in (or of their organization)."""
    if not caller.principal.is_authenticated:
        return False
    if await permitted(caller, MANAGE, quiz.organization_id):
        return True
    if quiz.status != QuizStatus.PUBLISHED:
        return False
    return enrollment_status in TAKING or await permitted(caller, VIEW, quiz.organization_id)


async def visible_quizzes_clause(caller: Caller) -> Any:
    """A SQL predicate on Quiz: what `can_view_quiz` accepts, for lists."""
    principal = caller.principal
    if not principal.is_authenticated:
        return false()
    if principal.is_site_admin:
        return true()
    manage = await organizations_permitting(caller, MANAGE)
    view = await organizations_permitting(caller, VIEW)
    published = Quiz.status == QuizStatus.PUBLISHED.value
    clauses = []
    if manage.ids:
        clauses.append(Quiz.organization_id.in_(manage.uuids()))
    if view.ids:
        clauses.append(and_(published, Quiz.organization_id.in_(view.uuids())))
    if principal.user_id is not None:
        enrolled = exists().where(
            EnrollmentProjection.course_id == Quiz.course_id,
            EnrollmentProjection.user_id == principal.user_id,
            EnrollmentProjection.status.in_(TAKING),
        )
        clauses.append(and_(published, enrolled))
    return or_(*clauses) if clauses else false()

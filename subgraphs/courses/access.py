"""Who may see and change a course (core.rbac, by membership role in the course's organization).

- view: members holding VIEW_COURSES see PUBLISHED courses of their organization; every signed-in caller
  sees PUBLISHED courses whose visibility is PUBLIC; holders of UPDATE_COURSES (instructors, organization
  admins) see every course of their organization; site admins see all.
- manage (update, modules, lessons, exercises, archive, delete): UPDATE_COURSES there; create:
  CREATE_COURSES; publish / unpublish: PUBLISH_COURSES. Archived courses are read-only.
- enroll: signed-in users who can view the published course (org-only courses: members).

A change locks the course row (`course_for_change`): changes to one course and its parts are serialized.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import RequestMeta
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, NotAuthenticated, NotFound
from subgraphs.core.guards import authorized_row
from subgraphs.core.rbac import Caller, Permission, organizations_permitting, permitted
from subgraphs.courses.models import Course, CourseStatus, Exercise, Lesson, Module, Visibility

VIEW = Permission.VIEW_COURSES
CREATE = Permission.CREATE_COURSES
MANAGE = Permission.UPDATE_COURSES
PUBLISH = Permission.PUBLISH_COURSES

Part = TypeVar("Part", Module, Lesson, Exercise)


async def can_view(caller: Caller, course: Course) -> bool:
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.is_site_admin or await permitted(caller, MANAGE, course.organization_id):
        return True
    if course.status != CourseStatus.PUBLISHED:
        return False
    return course.visibility == Visibility.PUBLIC or await permitted(caller, VIEW, course.organization_id)


async def visible_clause(caller: Caller) -> Any:
    """A SQL predicate on Course: what `can_view` accepts, for lists."""
    if not caller.principal.is_authenticated:
        return false()
    if caller.principal.is_site_admin:
        return true()
    manage = await organizations_permitting(caller, MANAGE)
    view = await organizations_permitting(caller, VIEW)
    published = Course.status == CourseStatus.PUBLISHED.value
    clauses = [and_(published, Course.visibility == Visibility.PUBLIC.value)]
    if view.ids:
        clauses.append(and_(published, Course.organization_id.in_(view.uuids())))
    if manage.ids:
        clauses.append(Course.organization_id.in_(manage.uuids()))
    return or_(*clauses)


async def published_or_editable(caller: Caller, model: type[Module] | type[Lesson]) -> Any:
    """A SQL predicate on Module or Lesson: drafts (`published` false) only for the course's editors."""
    if caller.principal.is_site_admin:
        return true()
    manage = await organizations_permitting(caller, MANAGE)
    if manage.every:
        return true()
    editable = select(Course.id).where(Course.organization_id.in_(manage.uuids()))
    return or_(model.published.is_(True), model.course_id.in_(editable))


async def course_for_change(
    meta: RequestMeta,
    session: AsyncSession,
    course_id: uuid.UUID,
    permission: Permission = MANAGE,
    *,
    allow_archived: bool = False,
) -> Course:
    """The course, row-locked, after checking the caller holds `permission` in its organization."""
    course = await authorized_row(
        meta, session, Course, course_id, permission, missing="No such course.", lock=True
    )
    if course.status == CourseStatus.ARCHIVED and not allow_archived:
        raise CourseArchived()
    return course


async def part_for_change(
    meta: RequestMeta, session: AsyncSession, model: type[Part], id: uuid.UUID
) -> tuple[Part, Course]:
    """A module, lesson or exercise with its course, as `course_for_change` gives the course."""
    part = await session.get(model, id)
    if part is None:
        if not meta.principal.is_authenticated:
            raise NotAuthenticated()
        raise NotFound(f"No such {model.__tablename__}.")
    return part, await course_for_change(meta, session, part.course_id)


def touch(course: Course) -> None:
    course.updated_at = utcnow()  # explicit: a server-side onupdate would expire it after flush

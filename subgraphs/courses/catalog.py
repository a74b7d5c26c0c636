"""The course catalog: a course's lifecycle (create, update, publish, unpublish, archive, delete) and finding
courses (one by id or slug, lists filtered, searched and paged). Who may do what: courses.access.

Lifecycle: DRAFT -> PUBLISHED (needs a lesson) -> DRAFT again, or any status -> ARCHIVED (read-only). A
course is deleted only while nobody is enrolled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts.vocabulary import Difficulty
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotAuthenticated
from subgraphs.core.events import emit
from subgraphs.core.pagination import (
    Connection,
    Edge,
    PageInfo,
    PageRequest,
    check_page_size,
    cursor_values,
    encode_cursor,
    time_id,
)
from subgraphs.core.rbac import authorize
from subgraphs.core.text import clean_long, clean_slug, clean_text
from subgraphs.courses.access import CREATE, PUBLISH, can_view, course_for_change, touch, visible_clause
from subgraphs.courses.errors import HasEnrollments, InvalidTransition, NotPublishable, SlugTaken
from subgraphs.courses.events import course_event
from subgraphs.courses.models import Course, CourseStatus, Enrollment, Lesson, Outbox, Visibility
from subgraphs.courses.validation import clean_cap, clean_category, clean_hours


class CourseOrder(StrEnum):
    CREATED_AT = "CREATED_AT"  # oldest first
    NEWEST = "NEWEST"  # newest first
    TITLE = "TITLE"
    RELEVANCE = "RELEVANCE"  # best full-text match first; only with filter.search


@dataclass
class CourseFilter:
    organization_id: uuid.UUID | None = None
    status: CourseStatus | None = None
    category: str | None = None
    difficulty: Difficulty | None = None
    search: str | None = None
    instructor_id: uuid.UUID | None = None


async def create_course(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    title: str,
    slug: str,
    description: str | None = None,
    category: str | None = None,
    difficulty: Difficulty = Difficulty.BEGINNER,
    estimated_duration_hours: int | None = None,
    visibility: Visibility = Visibility.ORGANIZATION,
    enrollment_cap: int | None = None,
) -> Course:
    """A DRAFT course whose instructor is the caller (a user holding CREATE_COURSES in the organization)."""
    user_id = require_user(meta.principal)
    await authorize(meta.caller, CREATE, organization_id)
    course = Course(
        organization_id=organization_id,
        instructor_id=user_id,
        title=clean_text(title, "input.title"),
        slug=clean_slug(slug),
        description=clean_long(description, "input.description"),
        category=clean_category(category),
        difficulty=difficulty.value,
        estimated_duration_hours=clean_hours(estimated_duration_hours),
        status=CourseStatus.DRAFT.value,
        visibility=visibility.value,
        enrollment_cap=clean_cap(enrollment_cap),
    )
    try:
        async with runtime.transaction() as session:
            session.add(course)
            await session.flush()
            emit(session, Outbox, course_event(meta, "created", course))
    except IntegrityError as exc:
        if "uq_course_organization_id" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    return course


async def update_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, **fields: Any) -> Course:
    """Change the fields given (None leaves a field; `enrollment_cap=0` removes the cap)."""
    cleaners = {
        "title": lambda v: clean_text(v, "input.title"),
        "slug": clean_slug,
        "description": lambda v: clean_long(v, "input.description"),
        "category": clean_category,
        "difficulty": lambda v: Difficulty(v).value,
        "estimated_duration_hours": clean_hours,
        "visibility": lambda v: Visibility(v).value,
        "enrollment_cap": lambda v: None if v == 0 else clean_cap(v),
    }
    changes = {k: cleaners[k](v) for k, v in fields.items() if v is not None}
    try:
        async with runtime.transaction() as session:
            course = await course_for_change(meta, session, id)
            for key, value in changes.items():
                setattr(course, key, value)
            touch(course)
            await session.flush()
            emit(session, Outbox, course_event(meta, "updated", course, changed=sorted(changes)))
    except IntegrityError as exc:
        if "uq_course_organization_id" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    return course


async def publish_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """DRAFT -> PUBLISHED, when at least one module holds a lesson."""
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, id, PUBLISH)
        if course.status != CourseStatus.DRAFT:
            raise InvalidTransition("Only a draft course is published.")
        has_content = await session.scalar(
            select(func.count()).select_from(Lesson).where(Lesson.course_id == id)
        )
        if not has_content:
            raise NotPublishable()
        course.published_at = utcnow()
        await _change_status(session, meta, course, CourseStatus.PUBLISHED, "published")
    return course


async def unpublish_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """PUBLISHED -> DRAFT (existing enrollments stay; nobody new enrolls)."""
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, id, PUBLISH)
        if course.status != CourseStatus.PUBLISHED:
            raise InvalidTransition("Only a published course is unpublished.")
        await _change_status(session, meta, course, CourseStatus.DRAFT, "unpublished")
    return course


async def archive_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """Any status -> ARCHIVED: read-only from then on."""
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, id)
        await _change_status(session, meta, course, CourseStatus.ARCHIVED, "archived")
    return course


async def _change_status(
    session: AsyncSession, meta: RequestMeta, course: Course, status: CourseStatus, verb: str
) -> None:
    """Record the course's new status with its `courses.course.<verb>` event."""
    course.status = status.value
    touch(course)
    await session.flush()
    emit(session, Outbox, course_event(meta, verb, course))


async def delete_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """Delete a course nobody is enrolled in (otherwise archive it)."""
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, id, allow_archived=True)
        enrolled = await session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == id)
        )
        if enrolled:
            raise HasEnrollments()
        emit(session, Outbox, course_event(meta, "deleted", course))
        await session.execute(delete(Course).where(Course.id == id))
    return course


async def get_course(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    id: uuid.UUID | None = None,
    slug: str | None = None,
    organization_id: uuid.UUID | None = None,
) -> Course | None:
    """By id, or by slug within an organization. None when absent or not visible to the caller. A student
    keeps reading a course they enrolled in after it is unpublished or archived (as `_entities` does)."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    if (id is None) == (slug is None):
        raise InvalidInput({"id": "Give exactly one of id and slug."})
    if slug is not None and organization_id is None:
        raise InvalidInput({"organizationId": "A slug is unique within an organization: give its id."})
    async with runtime.transaction() as session:
        if id is not None:
            course = await session.get(Course, id)
        else:
            course = await session.scalar(
                select(Course).where(
                    Course.organization_id == organization_id, Course.slug == (slug or "").strip().lower()
                )
            )
        if course is None:
            return None
        if await can_view(meta.caller, course):
            return course
        user_id = meta.principal.user_id
        enrolled = user_id is not None and await session.scalar(
            select(Enrollment.id).where(Enrollment.course_id == course.id, Enrollment.user_id == user_id)
        )
    return course if enrolled else None


_ORDERS: dict[CourseOrder, tuple[tuple[Any, ...], bool, Any]] = {
    CourseOrder.CREATED_AT: ((Course.created_at, Course.id), False, time_id),
    CourseOrder.NEWEST: ((Course.created_at, Course.id), True, time_id),
    CourseOrder.TITLE: ((Course.title, Course.id), False, (str, uuid.UUID)),
}


def _search_query(f: CourseFilter) -> Any:
    """The `websearch_to_tsquery` of filter.search, or None without a search."""
    if not f.search or not f.search.strip():
        return None
    if len(f.search) > 200:
        raise InvalidInput({"filter.search": "Keep it under 200 characters."})
    return func.websearch_to_tsquery("english", f.search.strip())


def _filtered(stmt: Select, f: CourseFilter) -> Select:
    if f.organization_id is not None:
        stmt = stmt.where(Course.organization_id == f.organization_id)
    if f.status is not None:
        stmt = stmt.where(Course.status == f.status.value)
    if f.category:
        stmt = stmt.where(Course.category == clean_category(f.category, "filter.category"))
    if f.difficulty is not None:
        stmt = stmt.where(Course.difficulty == f.difficulty.value)
    if f.instructor_id is not None:
        stmt = stmt.where(Course.instructor_id == f.instructor_id)
    query = _search_query(f)
    if query is not None:
        stmt = stmt.where(Course.search.op("@@")(query))
    return stmt


def _relevance(f: CourseFilter) -> tuple[tuple[Any, ...], bool, Any]:
    """RELEVANCE: `ts_rank_cd` over the weighted tsvector (a title match, weight A, outranks a description
    match, weight B), best first, ties by id; the cursor carries the rank (a float4 whose value the JSON
    float keeps exactly) and the id."""
    query = _search_query(f)
    if query is None:
        raise InvalidInput({"orderBy": "RELEVANCE orders search results: give filter.search."})
    rank = func.ts_rank_cd(Course.search, query)
    return (rank, Course.id), True, (float, uuid.UUID)


async def list_courses(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    filter: CourseFilter,
    order_by: CourseOrder = CourseOrder.CREATED_AT,
    page: PageRequest,
) -> Connection:
    """The courses the caller may see that match the filter; keyset pages in `order_by` order."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    size = check_page_size(page.first, runtime.settings.graphql.max_page_size)
    columns, descending, kinds = (
        _relevance(filter) if order_by == CourseOrder.RELEVANCE else _ORDERS[order_by]
    )
    stmt = _filtered(select(Course, *columns), filter).where(await visible_clause(meta.caller))
    if page.after:
        values = cursor_values(page.after, kinds)
        position = tuple_(*columns)
        stmt = stmt.where(position < tuple_(*values) if descending else position > tuple_(*values))
    order = [c.desc() for c in columns] if descending else list(columns)
    async with runtime.transaction() as session:
        rows = (await session.execute(stmt.order_by(*order).limit(size + 1))).all()
    return connection_of(rows, size, page.after is not None, page.to_node)


def connection_of(rows: Any, size: int, has_previous: bool, to_node: Any) -> Connection:
    """Rows are (course, *sort values): the cursor holds the sort values."""
    rows = list(rows)
    has_next = len(rows) > size
    edges = [Edge(cursor=encode_cursor(values), node=to_node(course)) for course, *values in rows[:size]]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )

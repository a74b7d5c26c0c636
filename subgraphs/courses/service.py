"""Courses: lifecycle, modules and lessons, exercises, enrollments, progress and feedback. No GraphQL here.

Who may do what (core.rbac, by membership role in the course's organization):
- view: members holding VIEW_COURSES see PUBLISHED courses of their organization; every signed-in caller
  sees PUBLISHED courses whose visibility is PUBLIC; holders of UPDATE_COURSES (instructors, organization
  admins) see every course of their organization; site admins see all.
- manage (update, modules, lessons, exercises, archive, delete): UPDATE_COURSES there; create:
  CREATE_COURSES; publish / unpublish: PUBLISH_COURSES. Archived courses are read-only.
- enroll: signed-in users who can view the published course (org-only courses: members).

Every change commits with its outbox events in one transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, delete, false, func, or_, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import courses as contract
from subgraphs.contracts.base import EventPayload, contract_as
from subgraphs.contracts.vocabulary import Difficulty, LabIde
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, emit
from subgraphs.core.pagination import (
    Connection,
    Edge,
    PageInfo,
    check_page_size,
    cursor_values,
    encode_cursor,
    time_id,
)
from subgraphs.core.rbac import Caller, Permission, authorize, organizations_permitting, permitted
from subgraphs.courses.errors import (
    AlreadyEnrolled,
    EnrollmentFull,
    HasEnrollments,
    InvalidTransition,
    NotEnrollable,
    NotEnrolled,
    NotPublishable,
    SlugTaken,
)
from subgraphs.courses.models import (
    Course,
    CourseFeedback,
    Enrollment,
    Exercise,
    Lesson,
    LessonCompletion,
    Module,
    Outbox,
)

VIEW = Permission.VIEW_COURSES
CREATE = Permission.CREATE_COURSES
MANAGE = Permission.UPDATE_COURSES
PUBLISH = Permission.PUBLISH_COURSES

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
MAX_MODULES = 100  # per course: modules, lessons per module and exercises are bounded lists
MAX_LESSONS = 100
MAX_EXERCISES = 100
MAX_BODY = 200_000
MAX_FILES = 50


class CourseStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class Visibility(StrEnum):
    ORGANIZATION = "ORGANIZATION"  # members of the course's organization
    PUBLIC = "PUBLIC"  # every signed-in user


class EnrollmentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    DROPPED = "DROPPED"


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


# --- helpers --------------------------------------------------------------------------------------


def _event(meta: RequestMeta, payload: EventPayload, *, org: Any, subjects: dict[str, Any]) -> Event:
    return Event(
        type=payload.event_type(),
        actor_id=meta.principal.subject,
        organization_id=str(org) if org else None,
        subject_ids={k: str(v) for k, v in subjects.items()},
        payload=payload.wire(),
        request_id=meta.request_id,
        source_ip=meta.client_ip,
    )


def _course_event(meta: RequestMeta, verb: str, course: Course, **extra: Any) -> Event:
    payload = contract_as(f"courses.course.{verb}", contract.CourseSnapshot)(
        course_id=course.id,
        organization_id=course.organization_id,
        instructor_id=course.instructor_id,
        status=course.status,
        title=course.title,
        **extra,
    )
    return _event(meta, payload, org=course.organization_id, subjects={"course_id": course.id})


def _enrollment_event(meta: RequestMeta, verb: str, e: Enrollment, **extra: Any) -> Event:
    payload = contract_as(f"courses.enrollment.{verb}", contract.EnrollmentSnapshot)(
        enrollment_id=e.id,
        user_id=e.user_id,
        course_id=e.course_id,
        organization_id=e.organization_id,
        status=e.status,
        **extra,
    )
    subjects = {"enrollment_id": e.id, "user_id": e.user_id, "course_id": e.course_id}
    return _event(meta, payload, org=e.organization_id, subjects=subjects)


def clean_text(value: str, field: str, *, limit: int = 200) -> str:
    text = " ".join(value.split())
    if not 1 <= len(text) <= limit:
        raise InvalidInput({field: f"Give 1 to {limit} characters."})
    return text


def clean_long(value: str | None, field: str, *, limit: int = 10_000) -> str:
    """Long text (Markdown) is stored exactly as written: leading spaces are an indented code block."""
    text = value or ""
    if len(text) > limit:
        raise InvalidInput({field: f"Keep it under {limit} characters."})
    return text


def clean_slug(value: str, field: str = "input.slug") -> str:
    slug = value.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            {field: "Use 3 to 64 lower-case letters, digits and dashes, not starting or ending with a dash."}
        )
    return slug


def clean_category(value: str | None, field: str = "input.category") -> str:
    text = " ".join((value or "").split()).lower()
    if len(text) > 64:
        raise InvalidInput({field: "Keep it under 64 characters."})
    return text


def clean_hours(value: int | None, field: str = "input.estimatedDurationHours") -> int | None:
    if value is not None and not 1 <= value <= 10_000:
        raise InvalidInput({field: "Give a whole number of hours between 1 and 10000."})
    return value


def clean_cap(value: int | None, field: str = "input.enrollmentCap") -> int | None:
    if value is not None and not 1 <= value <= 1_000_000:
        raise InvalidInput({field: "Give a positive cap (or none)."})
    return value


def clean_files(value: list[dict[str, str]] | None, field: str) -> list[dict[str, str]]:
    files = value or []
    if len(files) > MAX_FILES:
        raise InvalidInput({field: f"At most {MAX_FILES} files."})
    paths = set()
    for i, f in enumerate(files):
        path = f.get("path", "").strip()
        if not path or path.startswith("/") or ".." in path.split("/") or len(path) > 255:
            raise InvalidInput({f"{field}.{i}.path": "Give a relative path inside the workspace."})
        if path in paths:
            raise InvalidInput({f"{field}.{i}.path": "Each path appears once."})
        if len(f.get("content", "")) > MAX_BODY:
            raise InvalidInput({f"{field}.{i}.content": f"Keep it under {MAX_BODY} characters."})
        paths.add(path)
    return [{"path": f["path"].strip(), "content": f.get("content", "")} for f in files]


def _ids(values: list[Any], field: str) -> list[uuid.UUID]:
    ids = []
    for i, value in enumerate(values):
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise InvalidInput({f"{field}.{i}": "Not a valid id."}) from exc
    return ids


def progress_of(done: int, total: int) -> int:
    return 0 if total == 0 else min(100, done * 100 // total)


# --- visibility -------------------------------------------------------------------------------------


async def can_view(caller: Caller, course: Course) -> bool:
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.is_site_admin or await permitted(caller, MANAGE, course.organization_id):
        return True
    if course.status != CourseStatus.PUBLISHED:
        return False
    return course.visibility == Visibility.PUBLIC or await permitted(caller, VIEW, course.organization_id)


async def published_or_editable(caller: Caller, model: type[Module] | type[Lesson]) -> Any:
    """A SQL predicate on Module or Lesson: drafts (`published` false) only for the course's editors."""
    if caller.principal.is_site_admin:
        return true()
    manage = await organizations_permitting(caller, MANAGE)
    if manage.every:
        return true()
    editable = select(Course.id).where(Course.organization_id.in_(manage.uuids()))
    return or_(model.published.is_(True), model.course_id.in_(editable))


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


async def _course_for_change(
    runtime: Runtime,
    meta: RequestMeta,
    session: AsyncSession,
    course_id: uuid.UUID,
    permission: Permission = MANAGE,
    *,
    allow_archived: bool = False,
) -> Course:
    """The course, row-locked, after checking the caller holds `permission` in its organization."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    course = await session.get(Course, course_id, with_for_update=True)
    if course is None:
        raise NotFound("No such course.")
    await authorize(meta.caller, permission, course.organization_id)
    if course.status == CourseStatus.ARCHIVED and not allow_archived:
        raise CourseArchived()
    return course


def _touch(course: Course) -> None:
    course.updated_at = utcnow()  # explicit: a server-side onupdate would expire it after flush


async def _refresh_progress(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Recompute progress of every enrollment of the course (after lessons were added or removed)."""
    total = (
        select(func.count())
        .select_from(Lesson)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.course_id == course_id, Lesson.published, Module.published)  # drafts do not count
        .scalar_subquery()
    )
    done = (
        select(func.count())
        .select_from(LessonCompletion)
        .where(LessonCompletion.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )
    await session.execute(
        update(Enrollment)
        .where(Enrollment.course_id == course_id)
        .values(progress_percent=func.coalesce(func.least(100, done * 100 / func.nullif(total, 0)), 0))
    )


# --- courses --------------------------------------------------------------------------------------


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
            emit(session, Outbox, _course_event(meta, "created", course))
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
            course = await _course_for_change(runtime, meta, session, id)
            for key, value in changes.items():
                setattr(course, key, value)
            _touch(course)
            await session.flush()
            emit(session, Outbox, _course_event(meta, "updated", course, changed=sorted(changes)))
    except IntegrityError as exc:
        if "uq_course_organization_id" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    return course


async def publish_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """DRAFT -> PUBLISHED, when at least one module holds a lesson."""
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, id, PUBLISH)
        if course.status != CourseStatus.DRAFT:
            raise InvalidTransition("Only a draft course is published.")
        has_content = await session.scalar(
            select(func.count()).select_from(Lesson).where(Lesson.course_id == id)
        )
        if not has_content:
            raise NotPublishable()
        course.status = CourseStatus.PUBLISHED.value
        course.published_at = utcnow()
        _touch(course)
        await session.flush()
        emit(session, Outbox, _course_event(meta, "published", course))
    return course


async def unpublish_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """PUBLISHED -> DRAFT (existing enrollments stay; nobody new enrolls)."""
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, id, PUBLISH)
        if course.status != CourseStatus.PUBLISHED:
            raise InvalidTransition("Only a published course is unpublished.")
        course.status = CourseStatus.DRAFT.value
        _touch(course)
        await session.flush()
        emit(session, Outbox, _course_event(meta, "unpublished", course))
    return course


async def archive_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """Any status -> ARCHIVED: read-only from then on."""
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, id)
        course.status = CourseStatus.ARCHIVED.value
        _touch(course)
        await session.flush()
        emit(session, Outbox, _course_event(meta, "archived", course))
    return course


async def delete_course(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Course:
    """Delete a course nobody is enrolled in (otherwise archive it)."""
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, id, allow_archived=True)
        enrolled = await session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == id)
        )
        if enrolled:
            raise HasEnrollments()
        emit(session, Outbox, _course_event(meta, "deleted", course))
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
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    """The courses the caller may see that match the filter; keyset pages in `order_by` order."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    size = check_page_size(first, runtime.settings.graphql.max_page_size)
    columns, descending, kinds = (
        _relevance(filter) if order_by == CourseOrder.RELEVANCE else _ORDERS[order_by]
    )
    stmt = _filtered(select(Course, *columns), filter).where(await visible_clause(meta.caller))
    if after:
        values = cursor_values(after, kinds)
        position = tuple_(*columns)
        stmt = stmt.where(position < tuple_(*values) if descending else position > tuple_(*values))
    order = [c.desc() for c in columns] if descending else list(columns)
    async with runtime.transaction() as session:
        rows = (await session.execute(stmt.order_by(*order).limit(size + 1))).all()
    return connection_of(rows, size, after is not None, to_node)


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


# --- modules and lessons --------------------------------------------------------------------------


async def _module_for_change(
    runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID
) -> tuple[Module, Course]:
    module = await session.get(Module, id)
    if module is None:
        if not meta.principal.is_authenticated:
            raise NotAuthenticated()
        raise NotFound("No such module.")
    course = await _course_for_change(runtime, meta, session, module.course_id)
    return module, course


async def _lesson_for_change(
    runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID
) -> tuple[Lesson, Course]:
    lesson = await session.get(Lesson, id)
    if lesson is None:
        if not meta.principal.is_authenticated:
            raise NotAuthenticated()
        raise NotFound("No such lesson.")
    course = await _course_for_change(runtime, meta, session, lesson.course_id)
    return lesson, course


def _content_event(meta: RequestMeta, type_: str, course: Course, **subjects: Any) -> Event:
    payload = contract_as(type_, contract.ContentChanged)()
    return _event(meta, payload, org=course.organization_id, subjects={"course_id": course.id, **subjects})


def _exercise_event(meta: RequestMeta, verb: str, course: Course, exercise: Exercise) -> Event:
    # The payload is what the labs domain projects (exercise -> course, organization, preferred IDE, the
    # starter files a lab's new workspace gets).
    payload = contract_as(f"courses.exercise.{verb}", contract.ExerciseSnapshot)(
        exercise_id=exercise.id,
        course_id=course.id,
        organization_id=course.organization_id,
        ide=LabIde(exercise.ide),
        starter_files=[contract.StarterFile(**f) for f in exercise.starter_files or []],
    )
    subjects = {"course_id": course.id, "exercise_id": exercise.id}
    return _event(meta, payload, org=course.organization_id, subjects=subjects)


async def create_module(runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, title: str) -> Module:
    title = clean_text(title, "input.title")
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, course_id)
        count, last = (
            await session.execute(
                select(func.count(), func.max(Module.position)).where(Module.course_id == course_id)
            )
        ).one()
        if count >= MAX_MODULES:
            raise InvalidInput({"input.courseId": f"A course holds at most {MAX_MODULES} modules."})
        module = Module(course_id=course_id, title=title, position=(last or 0) + 1)
        session.add(module)
        _touch(course)
        await session.flush()
        emit(session, Outbox, _content_event(meta, "courses.module.created", course, module_id=module.id))
    return module


async def update_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, title: str) -> Module:
    title = clean_text(title, "input.title")
    async with runtime.transaction() as session:
        module, course = await _module_for_change(runtime, meta, session, id)
        module.title = title
        _touch(course)
        await session.flush()
        emit(session, Outbox, _content_event(meta, "courses.module.updated", course, module_id=module.id))
    return module


async def publish_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, published: bool) -> Module:
    """Publish a draft module with its lessons (students see them), or take it back to draft."""
    async with runtime.transaction() as session:
        module, course = await _module_for_change(runtime, meta, session, id)
        module.published = published
        if published:
            await session.execute(update(Lesson).where(Lesson.module_id == id).values(published=True))
        await _refresh_progress(session, course.id)
        _touch(course)
        await session.flush()
        verb = "published" if published else "unpublished"
        emit(session, Outbox, _content_event(meta, f"courses.module.{verb}", course, module_id=module.id))
    return module


async def publish_lesson(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, published: bool) -> Lesson:
    """Publish a draft lesson (students see it once its module is published too), or take it back."""
    async with runtime.transaction() as session:
        lesson, course = await _lesson_for_change(runtime, meta, session, id)
        lesson.published = published
        await session.flush()
        await _refresh_progress(session, course.id)
        _touch(course)
        verb = "published" if published else "unpublished"
        emit(session, Outbox, _content_event(meta, f"courses.lesson.{verb}", course, lesson_id=lesson.id))
    return lesson


async def delete_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Module:
    """Delete a module and its lessons (students' progress is recomputed)."""
    async with runtime.transaction() as session:
        module, course = await _module_for_change(runtime, meta, session, id)
        await session.execute(delete(Module).where(Module.id == id))
        await _refresh_progress(session, course.id)
        _touch(course)
        emit(session, Outbox, _content_event(meta, "courses.module.deleted", course, module_id=module.id))
    return module


async def reorder_modules(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, module_ids: list[Any]
) -> Course:
    ids = _ids(module_ids, "input.moduleIds")
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, course_id)
        modules = (await session.scalars(select(Module).where(Module.course_id == course_id))).all()
        if len(set(ids)) != len(ids) or set(ids) != {m.id for m in modules}:
            raise InvalidInput(
                {"input.moduleIds": "Give exactly the course's modules, each once, in the new order."}
            )
        by_id = {m.id: m for m in modules}
        for position, module_id in enumerate(ids, start=1):
            by_id[module_id].position = position
        _touch(course)
        await session.flush()
        emit(session, Outbox, _content_event(meta, "courses.module.reordered", course))
    return course


async def create_lesson(
    runtime: Runtime, meta: RequestMeta, *, module_id: uuid.UUID, title: str, body: str | None
) -> Lesson:
    title = clean_text(title, "input.title")
    body = clean_long(body, "input.body", limit=MAX_BODY)
    async with runtime.transaction() as session:
        module, course = await _module_for_change(runtime, meta, session, module_id)
        count, last = (
            await session.execute(
                select(func.count(), func.max(Lesson.position)).where(Lesson.module_id == module_id)
            )
        ).one()
        if count >= MAX_LESSONS:
            raise InvalidInput({"input.moduleId": f"A module holds at most {MAX_LESSONS} lessons."})
        lesson = Lesson(
            module_id=module.id, course_id=course.id, title=title, body=body, position=(last or 0) + 1
        )
        session.add(lesson)
        await session.flush()
        await _refresh_progress(session, course.id)
        _touch(course)
        emit(session, Outbox, _content_event(meta, "courses.lesson.created", course, lesson_id=lesson.id))
    return lesson


async def update_lesson(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, title: str | None, body: str | None
) -> Lesson:
    title = clean_text(title, "input.title") if title is not None else None
    body = clean_long(body, "input.body", limit=MAX_BODY) if body is not None else None
    async with runtime.transaction() as session:
        lesson, course = await _lesson_for_change(runtime, meta, session, id)
        if title is not None:
            lesson.title = title
        if body is not None:
            lesson.body = body
        _touch(course)
        await session.flush()
        emit(session, Outbox, _content_event(meta, "courses.lesson.updated", course, lesson_id=lesson.id))
    return lesson


async def delete_lesson(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Lesson:
    async with runtime.transaction() as session:
        lesson, course = await _lesson_for_change(runtime, meta, session, id)
        await session.execute(delete(Lesson).where(Lesson.id == id))
        await _refresh_progress(session, course.id)
        _touch(course)
        emit(session, Outbox, _content_event(meta, "courses.lesson.deleted", course, lesson_id=lesson.id))
    return lesson


async def reorder_lessons(
    runtime: Runtime, meta: RequestMeta, *, module_id: uuid.UUID, lesson_ids: list[Any]
) -> Module:
    ids = _ids(lesson_ids, "input.lessonIds")
    async with runtime.transaction() as session:
        module, course = await _module_for_change(runtime, meta, session, module_id)
        lessons = (await session.scalars(select(Lesson).where(Lesson.module_id == module_id))).all()
        if len(set(ids)) != len(ids) or set(ids) != {x.id for x in lessons}:
            raise InvalidInput(
                {"input.lessonIds": "Give exactly the module's lessons, each once, in the new order."}
            )
        by_id = {x.id: x for x in lessons}
        for position, lesson_id in enumerate(ids, start=1):
            by_id[lesson_id].position = position
        _touch(course)
        await session.flush()
        emit(session, Outbox, _content_event(meta, "courses.lesson.reordered", course, module_id=module.id))
    return module


# --- exercises ------------------------------------------------------------------------------------


def _exercise_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaners = {
        "title": lambda v: clean_text(v, "input.title"),
        "instructions": lambda v: clean_long(v, "input.instructions", limit=MAX_BODY),
        "language": lambda v: clean_text(v, "input.language", limit=32).lower(),
        "starter_files": lambda v: clean_files(v, "input.starterFiles"),
        "tests": lambda v: clean_files(v, "input.tests"),
        "ide": lambda v: LabIde(v).value,
    }
    return {k: cleaners[k](v) for k, v in fields.items() if v is not None}


async def create_exercise(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, **fields: Any
) -> Exercise:
    defaults = {"ide": LabIde.VSCODE, "language": "python", "starter_files": [], "tests": []}
    values = _exercise_fields({**defaults, **{k: v for k, v in fields.items() if v is not None}})
    async with runtime.transaction() as session:
        course = await _course_for_change(runtime, meta, session, course_id)
        count = await session.scalar(
            select(func.count()).select_from(Exercise).where(Exercise.course_id == course_id)
        )
        if count >= MAX_EXERCISES:
            raise InvalidInput({"input.courseId": f"A course holds at most {MAX_EXERCISES} exercises."})
        exercise = Exercise(course_id=course_id, **values)
        session.add(exercise)
        _touch(course)
        await session.flush()
        emit(session, Outbox, _exercise_event(meta, "created", course, exercise))
    return exercise


async def _exercise_for_change(
    runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID
) -> tuple[Exercise, Course]:
    exercise = await session.get(Exercise, id)
    if exercise is None:
        if not meta.principal.is_authenticated:
            raise NotAuthenticated()
        raise NotFound("No such exercise.")
    return exercise, await _course_for_change(runtime, meta, session, exercise.course_id)


async def update_exercise(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, **fields: Any) -> Exercise:
    values = _exercise_fields(fields)
    async with runtime.transaction() as session:
        exercise, course = await _exercise_for_change(runtime, meta, session, id)
        for key, value in values.items():
            setattr(exercise, key, value)
        exercise.updated_at = utcnow()
        _touch(course)
        await session.flush()
        emit(session, Outbox, _exercise_event(meta, "updated", course, exercise))
    return exercise


async def delete_exercise(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Exercise:
    async with runtime.transaction() as session:
        exercise, course = await _exercise_for_change(runtime, meta, session, id)
        await session.execute(delete(Exercise).where(Exercise.id == id))
        _touch(course)
        emit(session, Outbox, _exercise_event(meta, "deleted", course, exercise))
    return exercise


# --- enrollments, progress, feedback --------------------------------------------------------------


async def enroll(runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID) -> Enrollment:
    """Enroll the signed-in user in a published course they can see, once, within the cap. A dropped
    enrollment is reactivated (its progress kept)."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        # The row lock serializes enrollments of one course: the cap holds under concurrency.
        course = await session.get(Course, course_id, with_for_update=True)
        if course is None:
            raise NotFound("No such course.")
        member = await permitted(meta.caller, VIEW, course.organization_id)
        if course.status != CourseStatus.PUBLISHED:
            if member or meta.principal.is_site_admin:
                raise NotEnrollable(
                    "This course is archived." if course.status == CourseStatus.ARCHIVED else None
                )
            raise NotFound("No such course.")
        if not await can_view(meta.caller, course):
            await authorize(meta.caller, VIEW, course.organization_id)  # raises AccessDenied
        existing = await session.scalar(
            select(Enrollment)
            .where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
            .with_for_update()
        )
        if existing is not None and existing.status != EnrollmentStatus.DROPPED:
            raise AlreadyEnrolled()
        if course.enrollment_cap is not None:
            taken = await session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.course_id == course_id, Enrollment.status != EnrollmentStatus.DROPPED.value)
            )
            if taken >= course.enrollment_cap:
                raise EnrollmentFull()
        now = utcnow()
        if existing is not None:
            enrollment = existing
            enrollment.status = EnrollmentStatus.ACTIVE.value
            enrollment.completed_at = None
            enrollment.last_activity_at = now
        else:
            enrollment = Enrollment(
                course_id=course_id,
                user_id=user_id,
                organization_id=course.organization_id,
                status=EnrollmentStatus.ACTIVE.value,
                progress_percent=0,
                enrolled_at=now,
                last_activity_at=now,
            )
            session.add(enrollment)
        await session.flush()
        emit(
            session, Outbox, _enrollment_event(meta, "created", enrollment, reactivated=existing is not None)
        )
    return enrollment


async def drop_enrollment(runtime: Runtime, meta: RequestMeta, *, enrollment_id: uuid.UUID) -> Enrollment:
    """The student drops their enrollment (or a manager of the course's organization drops it)."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        enrollment = await session.get(Enrollment, enrollment_id, with_for_update=True)
        if enrollment is None:
            raise NotFound("No such enrollment.")
        if meta.principal.user_id != enrollment.user_id:
            await authorize(meta.caller, MANAGE, enrollment.organization_id)
        if enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled("This enrollment was already dropped.")
        enrollment.status = EnrollmentStatus.DROPPED.value
        enrollment.last_activity_at = utcnow()
        await session.flush()
        emit(session, Outbox, _enrollment_event(meta, "dropped", enrollment))
    return enrollment


async def complete_lesson(runtime: Runtime, meta: RequestMeta, *, lesson_id: uuid.UUID) -> Enrollment:
    """Mark a lesson done for the signed-in student; progress = lessons done / lessons of the course.
    Completing every lesson completes the enrollment. Idempotent."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        lesson = await session.get(Lesson, lesson_id)
        if lesson is None:
            raise NotFound("No such lesson.")
        enrollment = await session.scalar(
            select(Enrollment)
            .where(Enrollment.course_id == lesson.course_id, Enrollment.user_id == user_id)
            .with_for_update()
        )
        if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled()
        status = await session.scalar(select(Course.status).where(Course.id == lesson.course_id))
        if status == CourseStatus.ARCHIVED:
            raise CourseArchived()
        inserted = await session.scalar(
            insert(LessonCompletion)
            .values(enrollment_id=enrollment.id, lesson_id=lesson.id, completed_at=utcnow())
            .on_conflict_do_nothing()
            .returning(LessonCompletion.lesson_id)
        )
        done, total = (
            await session.execute(
                select(
                    select(func.count())
                    .select_from(LessonCompletion)
                    .where(LessonCompletion.enrollment_id == enrollment.id)
                    .scalar_subquery(),
                    select(func.count())
                    .select_from(Lesson)
                    .where(Lesson.course_id == lesson.course_id)
                    .scalar_subquery(),
                )
            )
        ).one()
        now = utcnow()
        enrollment.progress_percent = progress_of(done, total)
        enrollment.last_activity_at = now
        finished = enrollment.progress_percent == 100 and enrollment.status == EnrollmentStatus.ACTIVE
        if finished:
            enrollment.status = EnrollmentStatus.COMPLETED.value
            enrollment.completed_at = now
        await session.flush()
        if inserted is not None:
            emit(
                session,
                Outbox,
                _event(
                    meta,
                    contract.LessonCompleted(
                        user_id=user_id,
                        course_id=lesson.course_id,
                        lesson_id=lesson.id,
                        enrollment_id=enrollment.id,
                        progress_percent=enrollment.progress_percent,
                    ),
                    org=enrollment.organization_id,
                    subjects={"user_id": user_id, "course_id": lesson.course_id, "lesson_id": lesson.id},
                ),
            )
        if finished:
            emit(session, Outbox, _enrollment_event(meta, "completed", enrollment))
    return enrollment


async def submit_feedback(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, rating: int, comment: str | None
) -> CourseFeedback:
    """An enrolled student rates the course 1-5 (a second submission replaces the first)."""
    user_id = require_user(meta.principal)
    if not 1 <= rating <= 5:
        raise InvalidInput({"input.rating": "Rate from 1 to 5."})
    comment = clean_long(comment, "input.comment", limit=5000)
    async with runtime.transaction() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
        )
        if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled("Only enrolled students give feedback on a course.")
        now = utcnow()
        feedback = await session.scalar(
            insert(CourseFeedback)
            .values(
                id=uuid.uuid4(),
                course_id=course_id,
                user_id=user_id,
                rating=rating,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[CourseFeedback.course_id, CourseFeedback.user_id],
                set_={"rating": rating, "comment": comment, "updated_at": now},
            )
            .returning(CourseFeedback)
        )
        emit(
            session,
            Outbox,
            _event(
                meta,
                contract.FeedbackSubmitted(rating=rating),
                org=enrollment.organization_id,
                subjects={"course_id": course_id, "user_id": user_id, "feedback_id": feedback.id},
            ),
        )
    return feedback

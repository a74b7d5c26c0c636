"""Per-request DataLoaders of the courses subgraph.

Connections on relations (`User.enrollments`, `Organization.courses`, `Course.enrollments`, ...) batch
through `page_loader`: one statement per distinct (first, after) for ALL parents, a `row_number()` window
partitioned by the parent key taking `first + 1` rows of each (the extra one answers `hasNextPage`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.errors import InvalidInput
from subgraphs.core.loaders import by_key_loader, grouped_loader
from subgraphs.core.pagination import check_page_size, decode_cursor
from subgraphs.courses import service
from subgraphs.courses.models import (
    Course,
    CourseFeedback,
    Enrollment,
    Exercise,
    Lesson,
    LessonCompletion,
    Module,
)


@dataclass(frozen=True)
class Page:
    """The rows of one parent's page: `rows` holds up to first + 1 rows."""

    rows: list[Any]
    size: int
    after: str | None


def _time_id(values: list[str]) -> tuple[datetime, uuid.UUID]:
    try:
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except ValueError as exc:
        raise InvalidInput({"after": "Not a cursor from this list."}) from exc


def page_loader(
    context: Context,
    model: type,
    key_column: Any,
    sort_columns: Sequence[Any],
    *,
    where: Callable[[], Awaitable[Any]] | None = None,
) -> DataLoader[tuple[Any, int | None, str | None], Page]:
    """Keys are (parent key, first, after); `where` adds a per-request predicate (e.g. visibility)."""
    max_size = context.runtime.settings.graphql.max_page_size

    async def load(keys: Sequence[tuple[Any, int | None, str | None]]) -> list[Page]:
        groups: dict[tuple[int, str | None], set[Any]] = defaultdict(set)
        for parent, first, after in keys:
            groups[(check_page_size(first, max_size), after)].add(parent)
        extra = await where() if where is not None else None
        found: dict[tuple[Any, int, str | None], list[Any]] = {}
        async with context.transaction() as session:
            for (size, after), parents in groups.items():
                rank = (
                    func.row_number().over(partition_by=key_column, order_by=list(sort_columns)).label("rank")
                )
                inner = select(model, rank).where(key_column.in_(list(parents)))
                if extra is not None:
                    inner = inner.where(extra)
                if after:
                    inner = inner.where(tuple_(*sort_columns) > tuple_(*_time_id(decode_cursor(after, 2))))
                sub = inner.subquery()
                row = aliased(model, sub)
                stmt = select(row).where(sub.c.rank <= size + 1).order_by(sub.c[key_column.key], sub.c.rank)
                rows = (await session.scalars(stmt)).all()
                grouped: dict[Any, list[Any]] = defaultdict(list)
                for r in rows:
                    grouped[getattr(r, key_column.key)].append(r)
                for parent in parents:
                    found[(parent, size, after)] = grouped.get(parent, [])
        return [
            Page(rows=found[(p, check_page_size(f, max_size), a)], size=check_page_size(f, max_size), after=a)
            for p, f, a in keys
        ]

    return DataLoader(load_fn=load, cache_key_fn=lambda key: key)


@dataclass
class Loaders:
    course_by_id: DataLoader[Any, Course | None]
    module_by_id: DataLoader[Any, Module | None]
    lesson_by_id: DataLoader[Any, Lesson | None]
    exercise_by_id: DataLoader[Any, Exercise | None]
    enrollment_by_id: DataLoader[Any, Enrollment | None]
    modules_by_course_id: DataLoader[Any, list[Module]]
    lessons_by_module_id: DataLoader[Any, list[Lesson]]
    exercises_by_course_id: DataLoader[Any, list[Exercise]]
    my_enrollment_by_course_id: DataLoader[Any, Enrollment | None]
    my_completed_lesson_ids_by_enrollment_id: DataLoader[Any, set[uuid.UUID]]
    my_completed_lesson_ids_by_course_id: DataLoader[Any, set[uuid.UUID]]
    enrollments_page_by_user_id: DataLoader[Any, Page]
    enrollments_page_by_course_id: DataLoader[Any, Page]
    feedback_page_by_course_id: DataLoader[Any, Page]
    courses_page_by_organization_id: DataLoader[Any, Page]
    courses_page_by_instructor_id: DataLoader[Any, Page]


def build_loaders(context: Context) -> Loaders:
    async def visible() -> Any:
        return await service.visible_clause(context, context.principal)

    async def my_enrollments(course_ids: Sequence[Any]) -> list[Enrollment | None]:
        user_id = context.principal.user_id
        if user_id is None:
            return [None for _ in course_ids]
        async with context.transaction() as session:
            rows = (
                await session.scalars(
                    select(Enrollment).where(
                        Enrollment.user_id == user_id, Enrollment.course_id.in_(course_ids)
                    )
                )
            ).all()
        by_course = {r.course_id: r for r in rows}
        return [by_course.get(c) for c in course_ids]

    async def completed(enrollment_ids: Sequence[Any]) -> list[set[uuid.UUID]]:
        async with context.transaction() as session:
            rows = (
                await session.execute(
                    select(LessonCompletion.enrollment_id, LessonCompletion.lesson_id).where(
                        LessonCompletion.enrollment_id.in_(enrollment_ids)
                    )
                )
            ).all()
        done: dict[Any, set[uuid.UUID]] = defaultdict(set)
        for enrollment_id, lesson_id in rows:
            done[enrollment_id].add(lesson_id)
        return [done.get(e, set()) for e in enrollment_ids]

    async def my_completed(course_ids: Sequence[Any]) -> list[set[uuid.UUID]]:
        """The viewer's completed lessons per course: one statement (enrollment joined to completions)."""
        user_id = context.principal.user_id
        if user_id is None:
            return [set() for _ in course_ids]
        async with context.transaction() as session:
            rows = (
                await session.execute(
                    select(Enrollment.course_id, LessonCompletion.lesson_id)
                    .join(LessonCompletion, LessonCompletion.enrollment_id == Enrollment.id)
                    .where(Enrollment.user_id == user_id, Enrollment.course_id.in_(course_ids))
                )
            ).all()
        done: dict[Any, set[uuid.UUID]] = defaultdict(set)
        for course_id, lesson_id in rows:
            done[course_id].add(lesson_id)
        return [done.get(c, set()) for c in course_ids]

    return Loaders(
        course_by_id=by_key_loader(context, Course, Course.id),
        module_by_id=by_key_loader(context, Module, Module.id),
        lesson_by_id=by_key_loader(context, Lesson, Lesson.id),
        exercise_by_id=by_key_loader(context, Exercise, Exercise.id),
        enrollment_by_id=by_key_loader(context, Enrollment, Enrollment.id),
        modules_by_course_id=grouped_loader(
            context, Module, Module.course_id, order_by=lambda: (Module.position, Module.id)
        ),
        lessons_by_module_id=grouped_loader(
            context, Lesson, Lesson.module_id, order_by=lambda: (Lesson.position, Lesson.id)
        ),
        exercises_by_course_id=grouped_loader(
            context, Exercise, Exercise.course_id, order_by=lambda: (Exercise.created_at, Exercise.id)
        ),
        my_enrollment_by_course_id=DataLoader(load_fn=my_enrollments),
        my_completed_lesson_ids_by_enrollment_id=DataLoader(load_fn=completed),
        my_completed_lesson_ids_by_course_id=DataLoader(load_fn=my_completed),
        enrollments_page_by_user_id=page_loader(
            context, Enrollment, Enrollment.user_id, (Enrollment.enrolled_at, Enrollment.id)
        ),
        enrollments_page_by_course_id=page_loader(
            context, Enrollment, Enrollment.course_id, (Enrollment.enrolled_at, Enrollment.id)
        ),
        feedback_page_by_course_id=page_loader(
            context, CourseFeedback, CourseFeedback.course_id, (CourseFeedback.created_at, CourseFeedback.id)
        ),
        courses_page_by_organization_id=page_loader(
            context, Course, Course.organization_id, (Course.created_at, Course.id), where=visible
        ),
        courses_page_by_instructor_id=page_loader(
            context, Course, Course.instructor_id, (Course.created_at, Course.id), where=visible
        ),
    )

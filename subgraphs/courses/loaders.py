"""Per-request DataLoaders of the courses subgraph.

Connections on relations (`Course.modules`, `Module.lessons`, `User.enrollments`, `Organization.courses`,
...) batch through core `page_loader`: one statement per distinct (first, after) for ALL parents, a
`row_number()` window partitioned by the parent key taking `first + 1` rows of each.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader, memberships_loader, value_loader
from subgraphs.core.pages import PageLoader, oldest_first, page_loader
from subgraphs.courses.access import published_or_editable, visible_clause
from subgraphs.courses.models import (
    AppliedGeneration,
    Course,
    CourseFeedback,
    Enrollment,
    Exercise,
    Lesson,
    LessonCompletion,
    Module,
)


@dataclass
class Loaders:
    course_by_id: RowLoader[Course]
    module_by_id: RowLoader[Module]
    lesson_by_id: RowLoader[Lesson]
    exercise_by_id: RowLoader[Exercise]
    enrollment_by_id: RowLoader[Enrollment]
    modules_page_by_course_id: PageLoader
    lessons_page_by_module_id: PageLoader
    exercises_page_by_course_id: PageLoader
    my_enrollment_by_course_id: RowLoader[Enrollment]
    my_completed_lesson_ids_by_enrollment_id: DataLoader[Any, set[uuid.UUID]]
    my_completed_lesson_ids_by_course_id: DataLoader[Any, set[uuid.UUID]]
    enrollments_page_by_user_id: PageLoader
    enrollments_page_by_course_id: PageLoader
    feedback_page_by_course_id: PageLoader
    courses_page_by_organization_id: PageLoader
    courses_page_by_instructor_id: PageLoader
    applied_course_id_by_job_id: DataLoader[Any, uuid.UUID | None]
    # One shared read of the viewer's memberships per request (see core.loaders.warm_memberships).
    memberships_by_user_id: DataLoader[Any, Any]


def build_loaders(context: Context) -> Loaders:
    def in_order(model: type[Module] | type[Lesson], parent: Any) -> PageLoader:
        """The parent's modules or lessons by position, drafts only for the course's editors."""
        return page_loader(
            context,
            parent,
            (model.position, model.id),
            where=lambda caller: published_or_editable(caller, model),
        )

    async def my_enrollments(course_ids: Sequence[Any]) -> list[Enrollment | None]:
        user_id = context.principal.user_id
        if user_id is None:
            return [None for _ in course_ids]
        async with context.read() as session:
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
        async with context.read() as session:
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
        async with context.read() as session:
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

    enrolled = (Enrollment.enrolled_at, Enrollment.id)
    return Loaders(
        course_by_id=by_key_loader(context, Course, Course.id),
        module_by_id=by_key_loader(context, Module, Module.id),
        lesson_by_id=by_key_loader(context, Lesson, Lesson.id),
        exercise_by_id=by_key_loader(context, Exercise, Exercise.id),
        enrollment_by_id=by_key_loader(context, Enrollment, Enrollment.id),
        modules_page_by_course_id=in_order(Module, Module.course_id),
        lessons_page_by_module_id=in_order(Lesson, Lesson.module_id),
        exercises_page_by_course_id=oldest_first(context, Exercise.course_id),
        my_enrollment_by_course_id=DataLoader(load_fn=my_enrollments),
        my_completed_lesson_ids_by_enrollment_id=DataLoader(load_fn=completed),
        my_completed_lesson_ids_by_course_id=DataLoader(load_fn=my_completed),
        enrollments_page_by_user_id=page_loader(context, Enrollment.user_id, enrolled),
        enrollments_page_by_course_id=page_loader(context, Enrollment.course_id, enrolled),
        feedback_page_by_course_id=oldest_first(context, CourseFeedback.course_id),
        courses_page_by_organization_id=oldest_first(context, Course.organization_id, where=visible_clause),
        courses_page_by_instructor_id=oldest_first(context, Course.instructor_id, where=visible_clause),
        applied_course_id_by_job_id=value_loader(
            context, AppliedGeneration.job_id, AppliedGeneration.course_id
        ),
        memberships_by_user_id=memberships_loader(context),
    )

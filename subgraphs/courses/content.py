"""A course's content: its modules and their lessons, in order. Drafts (`published` false) are seen by the
course's editors only; publishing or removing lessons recomputes the students' progress. Managed as the
course is (access.MANAGE)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import delete, select, update

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import emit
from subgraphs.core.ordering import next_position, parse_ids
from subgraphs.core.text import clean_long, clean_text
from subgraphs.courses.access import course_for_change, part_for_change, touch
from subgraphs.courses.enrollment import refresh_progress
from subgraphs.courses.events import content_event
from subgraphs.courses.models import Course, Lesson, Module, Outbox
from subgraphs.courses.validation import MAX_BODY, MAX_LESSONS, MAX_MODULES

PartT = TypeVar("PartT", Module, Lesson)


def _reorder(parts: Sequence[Module | Lesson], ids: list[uuid.UUID], field: str, whose: str) -> None:
    """Number `parts` in the order of `ids`, which name each of them exactly once."""
    if len(set(ids)) != len(ids) or set(ids) != {part.id for part in parts}:
        raise InvalidInput({field: f"Give exactly the {whose}, each once, in the new order."})
    by_id = {part.id: part for part in parts}
    for position, id in enumerate(ids, start=1):
        by_id[id].position = position


async def create_module(runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, title: str) -> Module:
    title = clean_text(title, "input.title")
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, course_id)
        position = await next_position(
            session,
            Module.position,
            Module.course_id == course_id,
            most=MAX_MODULES,
            field="input.courseId",
            full=f"A course holds at most {MAX_MODULES} modules.",
        )
        module = Module(course_id=course_id, title=title, position=position)
        session.add(module)
        touch(course)
        await session.flush()
        emit(session, Outbox, content_event(meta, "courses.module.created", course, module_id=module.id))
    return module


async def update_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, title: str) -> Module:
    title = clean_text(title, "input.title")
    async with runtime.transaction() as session:
        module, course = await part_for_change(meta, session, Module, id)
        module.title = title
        touch(course)
        await session.flush()
        emit(session, Outbox, content_event(meta, "courses.module.updated", course, module_id=module.id))
    return module


async def publish_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, published: bool) -> Module:
    """Publish a draft module with its lessons (students see them), or take it back to draft."""
    async with runtime.transaction() as session:
        module, course = await part_for_change(meta, session, Module, id)
        module.published = published
        if published:
            await session.execute(update(Lesson).where(Lesson.module_id == id).values(published=True))
        await refresh_progress(session, course.id)
        touch(course)
        await session.flush()
        verb = "published" if published else "unpublished"
        emit(session, Outbox, content_event(meta, f"courses.module.{verb}", course, module_id=module.id))
    return module


async def publish_lesson(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, published: bool) -> Lesson:
    """Publish a draft lesson (students see it once its module is published too), or take it back."""
    async with runtime.transaction() as session:
        lesson, course = await part_for_change(meta, session, Lesson, id)
        lesson.published = published
        await session.flush()
        await refresh_progress(session, course.id)
        touch(course)
        verb = "published" if published else "unpublished"
        emit(session, Outbox, content_event(meta, f"courses.lesson.{verb}", course, lesson_id=lesson.id))
    return lesson


async def _delete_part(
    runtime: Runtime, meta: RequestMeta, model: type[PartT], id: uuid.UUID, part: str
) -> PartT:
    """Delete a module or a lesson (`part` names it in the event) and recompute the students' progress."""
    async with runtime.transaction() as session:
        row, course = await part_for_change(meta, session, model, id)
        await session.execute(delete(model).where(model.id == id))
        await refresh_progress(session, course.id)
        touch(course)
        emit(
            session, Outbox, content_event(meta, f"courses.{part}.deleted", course, **{f"{part}_id": row.id})
        )
    return row


async def delete_module(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Module:
    """Delete a module and its lessons (students' progress is recomputed)."""
    return await _delete_part(runtime, meta, Module, id, "module")


async def reorder_modules(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, module_ids: list[Any]
) -> Course:
    ids = parse_ids(module_ids, "input.moduleIds")
    async with runtime.transaction() as session:
        course = await course_for_change(meta, session, course_id)
        modules = (await session.scalars(select(Module).where(Module.course_id == course_id))).all()
        _reorder(modules, ids, "input.moduleIds", "course's modules")
        touch(course)
        await session.flush()
        emit(session, Outbox, content_event(meta, "courses.module.reordered", course))
    return course


async def create_lesson(
    runtime: Runtime, meta: RequestMeta, *, module_id: uuid.UUID, title: str, body: str | None
) -> Lesson:
    title = clean_text(title, "input.title")
    body = clean_long(body, "input.body", limit=MAX_BODY)
    async with runtime.transaction() as session:
        module, course = await part_for_change(meta, session, Module, module_id)
        position = await next_position(
            session,
            Lesson.position,
            Lesson.module_id == module_id,
            most=MAX_LESSONS,
            field="input.moduleId",
            full=f"A module holds at most {MAX_LESSONS} lessons.",
        )
        lesson = Lesson(module_id=module.id, course_id=course.id, title=title, body=body, position=position)
        session.add(lesson)
        await session.flush()
        await refresh_progress(session, course.id)
        touch(course)
        emit(session, Outbox, content_event(meta, "courses.lesson.created", course, lesson_id=lesson.id))
    return lesson


async def update_lesson(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, title: str | None, body: str | None
) -> Lesson:
    title = clean_text(title, "input.title") if title is not None else None
    body = clean_long(body, "input.body", limit=MAX_BODY) if body is not None else None
    async with runtime.transaction() as session:
        lesson, course = await part_for_change(meta, session, Lesson, id)
        if title is not None:
            lesson.title = title
        if body is not None:
            lesson.body = body
        touch(course)
        await session.flush()
        emit(session, Outbox, content_event(meta, "courses.lesson.updated", course, lesson_id=lesson.id))
    return lesson


async def delete_lesson(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Lesson:
    return await _delete_part(runtime, meta, Lesson, id, "lesson")


async def reorder_lessons(
    runtime: Runtime, meta: RequestMeta, *, module_id: uuid.UUID, lesson_ids: list[Any]
) -> Module:
    ids = parse_ids(lesson_ids, "input.lessonIds")
    async with runtime.transaction() as session:
        module, course = await part_for_change(meta, session, Module, module_id)
        lessons = (await session.scalars(select(Lesson).where(Lesson.module_id == module_id))).all()
        _reorder(lessons, ids, "input.lessonIds", "module's lessons")
        touch(course)
        await session.flush()
        emit(session, Outbox, content_event(meta, "courses.lesson.reordered", course, module_id=module.id))
    return module

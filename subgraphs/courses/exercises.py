"""Exercises of a course: hands-on tasks done in a lab (the labs domain projects their IDE and starter
files from `courses.exercise.*`). Managed as the course is (access.MANAGE)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select

from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import emit
from subgraphs.core.text import clean_long, clean_text
from subgraphs.courses.access import course_for_change, part_for_change, touch
from subgraphs.courses.events import exercise_event
from subgraphs.courses.models import Exercise, Outbox
from subgraphs.courses.validation import MAX_BODY, MAX_EXERCISES, clean_files


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
        course = await course_for_change(meta, session, course_id)
        count = await session.scalar(
            select(func.count()).select_from(Exercise).where(Exercise.course_id == course_id)
        )
        if (count or 0) >= MAX_EXERCISES:
            raise InvalidInput({"input.courseId": f"A course holds at most {MAX_EXERCISES} exercises."})
        exercise = Exercise(course_id=course_id, **values)
        session.add(exercise)
        touch(course)
        await session.flush()
        emit(session, Outbox, exercise_event(meta, "created", course, exercise))
    return exercise


async def update_exercise(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, **fields: Any) -> Exercise:
    values = _exercise_fields(fields)
    async with runtime.transaction() as session:
        exercise, course = await part_for_change(meta, session, Exercise, id)
        for key, value in values.items():
            setattr(exercise, key, value)
        exercise.updated_at = utcnow()
        touch(course)
        await session.flush()
        emit(session, Outbox, exercise_event(meta, "updated", course, exercise))
    return exercise


async def delete_exercise(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Exercise:
    async with runtime.transaction() as session:
        exercise, course = await part_for_change(meta, session, Exercise, id)
        await session.execute(delete(Exercise).where(Exercise.id == id))
        touch(course)
        emit(session, Outbox, exercise_event(meta, "deleted", course, exercise))
    return exercise

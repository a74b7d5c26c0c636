"""Imported courses: the courses domain applies `content.import.ready` (a Common Cartridge the content
domain read, docs/content.md "Import").

`ImportedCourseConsumer` (run by `coursegraph worker`, group courses-imports on `events.content`) creates
the DRAFT course, its modules, lessons and exercises under the ids the import chose, in ONE transaction with
the event id (`processed_event`), then announces `courses.import.applied` (the content domain finishes the
import job with it). A course that already exists under that id was created before: nothing is created
twice. The course is the importer's (instructor), in the import's organization; the content domain checked
the importer may create courses there. Modules and lessons arrive published inside the draft course (they
show once the instructor publishes the course); exercises open VS Code with no starter files. Course limits
hold (100 modules, 100 lessons per module, 100 exercises; long texts are cut): what does not fit is left out
with a warning.
"""

from __future__ import annotations

import logging
import uuid
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.content import ImportReady
from subgraphs.contracts.courses import ImportApplied
from subgraphs.contracts.vocabulary import Difficulty, LabIde
from subgraphs.core.consumers import DatabaseConsumer, claim_event, event_meta
from subgraphs.core.context import publishing_transaction
from subgraphs.core.events import Event, emit, request_event, stream_name
from subgraphs.courses.events import content_event, course_event, exercise_event
from subgraphs.courses.generated import clip, unique_slug
from subgraphs.courses.models import (
    Course,
    CourseStatus,
    Exercise,
    Lesson,
    Module,
    Outbox,
    ProcessedEvent,
    Visibility,
)
from subgraphs.courses.validation import MAX_BODY, MAX_EXERCISES, MAX_LESSONS, MAX_MODULES

log = logging.getLogger("coursegraph.courses")


async def apply_import(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, event: Event
) -> uuid.UUID | None:
    """The course created from an import; None when the event is not an import or was applied before."""
    ready = parse_if(event, ImportReady)
    if ready is None:
        return None
    meta = event_meta(event, redis)
    async with publishing_transaction(sessionmaker, redis) as session:
        if not await claim_event(session, ProcessedEvent, event):
            return None  # a redelivery
        if await session.get(Course, ready.course_id) is not None:
            return None  # created before
        title = clip(ready.title, 200)
        difficulty = ready.difficulty if ready.difficulty in set(Difficulty) else "BEGINNER"
        course = Course(
            id=ready.course_id,
            organization_id=ready.organization_id,
            instructor_id=ready.instructor_id,
            title=title,
            slug=await unique_slug(session, ready.organization_id, title),
            description=ready.description[:10_000],
            category=" ".join(ready.category.split())[:64],
            difficulty=difficulty,
            estimated_duration_hours=None,
            status=CourseStatus.DRAFT.value,
            visibility=Visibility.ORGANIZATION.value,
        )
        session.add(course)
        await session.flush()
        emit(session, Outbox, course_event(meta, "created", course))
        modules = ready.modules[:MAX_MODULES]
        lessons = 0
        for position, imported in enumerate(modules, start=1):
            module = Module(
                id=imported.id, course_id=course.id, title=clip(imported.title, 200), position=position
            )
            session.add(module)
            await session.flush()
            emit(
                session,
                Outbox,
                content_event(meta, "courses.module.created", course, module_id=module.id),
            )
            for n, part in enumerate(imported.lessons[:MAX_LESSONS], start=1):
                lesson = Lesson(
                    id=part.id,
                    module_id=module.id,
                    course_id=course.id,
                    title=clip(part.title, 200),
                    body=part.body[:MAX_BODY],
                    position=n,
                )
                session.add(lesson)
                await session.flush()
                lessons += 1
                emit(
                    session,
                    Outbox,
                    content_event(meta, "courses.lesson.created", course, lesson_id=lesson.id),
                )
        exercises = ready.exercises[:MAX_EXERCISES]
        for imported_exercise in exercises:
            exercise = Exercise(
                id=imported_exercise.id,
                course_id=course.id,
                title=clip(imported_exercise.title, 200),
                instructions=imported_exercise.instructions[:MAX_BODY],
                language=clip(imported_exercise.language, 32).lower(),
                starter_files=[],
                tests=[],
                ide=LabIde.VSCODE.value,
            )
            session.add(exercise)
            await session.flush()
            emit(session, Outbox, exercise_event(meta, "created", course, exercise))
        left_out = (len(ready.modules) - len(modules), len(ready.exercises) - len(exercises))
        if any(left_out):
            log.warning("import %s: %d modules and %d exercises left out", ready.import_id, *left_out)
        applied = ImportApplied(
            import_id=ready.import_id,
            course_id=course.id,
            modules=len(modules),
            lessons=lessons,
            exercises=len(exercises),
        )
        emit(
            session,
            Outbox,
            request_event(
                meta, applied, organization_id=course.organization_id, subjects={"course_id": course.id}
            ),
        )
    return course.id


class ImportedCourseConsumer(DatabaseConsumer):
    """Creates imported courses (worker, group courses-imports)."""

    group: ClassVar[str] = "courses-imports"
    streams: ClassVar[tuple[str, ...]] = (stream_name("content"),)

    async def handle(self, event: Event) -> None:
        await apply_import(self.sessionmaker, self.redis, event)

"""Imported quizzes: the quizzes domain applies the quizzes of `content.import.ready` (a Common Cartridge the
content domain read, docs/content.md "Import").

`ImportedQuizConsumer` (run by `coursegraph worker`, group quizzes-imports on `events.content`) waits until
the course the import creates is in this domain's course projection (the courses domain creates it from the
same event; until then the event is retried, like generated quizzes), checks it belongs to the import's
organization, then creates the DRAFT quizzes under the ids the import chose in ONE transaction with the
event id, and announces `quizzes.import.applied`. A quiz that exists already was created before: nothing is
created twice. A question our rules refuse is left out (counted in `questions_skipped`), not the quiz.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.content import ImportedQuestion, ImportReady
from subgraphs.contracts.quizzes import ImportApplied
from subgraphs.core.consumers import DatabaseConsumer, claim_event, event_meta
from subgraphs.core.context import publishing_transaction
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import Event, emit, request_event, stream_name
from subgraphs.core.text import clean_text
from subgraphs.quizzes import drafts, grading
from subgraphs.quizzes.models import CourseProjection, Outbox, ProcessedEvent, Quiz

log = logging.getLogger("coursegraph.quizzes")


def question_spec(imported: ImportedQuestion) -> grading.QuestionSpec:
    return grading.QuestionSpec(
        type=grading.QuestionType(imported.type),
        prompt=imported.prompt,
        options=imported.options,
        correct_choices=imported.correct_choices,
        correct_boolean=imported.correct_boolean,
        accepted_answers=imported.accepted_answers,
        correct_number=imported.correct_number,
        tolerance=imported.tolerance,
        points=imported.points,
        explanation=imported.explanation or None,
    )


async def apply_import(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, event: Event
) -> list[Quiz] | None:
    """The quizzes created from an import; None when the event is not an import with quizzes, was applied
    before, or is refused (the course is not the organization's)."""
    ready = parse_if(event, ImportReady)
    if ready is None or not ready.quizzes:
        return None
    async with publishing_transaction(sessionmaker, redis) as session:
        course = await session.get(CourseProjection, ready.course_id)
        if course is None:
            raise drafts.CourseNotProjectedYet(ready.course_id)  # retried: courses creates it from this event
        if not await claim_event(session, ProcessedEvent, event):
            return None  # a redelivery
        ids = [q.id for q in ready.quizzes]
        if await session.scalar(select(Quiz.id).where(Quiz.id.in_(ids)).limit(1)):
            return None  # created before
        if not drafts.writable_by(course, ready.organization_id):
            log.warning(
                "import %s: course %s is not writable here; ignored", ready.import_id, course.course_id
            )
            return None
        meta = event_meta(event, redis)
        quizzes, questions, skipped = [], 0, 0
        for imported in ready.quizzes:
            try:
                title = clean_text(imported.title, "title")
            except InvalidInput:
                title = "Untitled quiz"
            quiz = drafts.new_quiz(
                course,
                id=imported.id,
                title=title,
                description=imported.description[:10_000],
                passing_score=min(max(imported.passing_score, 0), 100),
            )
            accepted, refused = drafts.accepted_questions(imported.questions, question_spec)
            for index, exc in refused:
                log.warning("import %s: question %d of %s left out: %s", ready.import_id, index, title, exc)
            skipped += len(imported.questions) - len(accepted)
            questions += len(await drafts.add_quiz(session, meta, quiz, accepted))
            quizzes.append(quiz)
        applied = ImportApplied(
            import_id=ready.import_id,
            course_id=course.course_id,
            quizzes=len(quizzes),
            questions=questions,
            questions_skipped=skipped,
        )
        emit(
            session,
            Outbox,
            request_event(
                meta,
                applied,
                organization_id=course.organization_id,
                subjects={"course_id": course.course_id},
            ),
        )
    return quizzes


class ImportedQuizConsumer(DatabaseConsumer):
    """Creates imported quizzes (worker, group quizzes-imports)."""

    group: ClassVar[str] = "quizzes-imports"
    streams: ClassVar[tuple[str, ...]] = (stream_name("content"),)

    async def handle(self, event: Event) -> None:
        await apply_import(self.sessionmaker, self.redis, event)

"""Generated quiz drafts: the quizzes domain applies `generator.result.applied` of QUIZ jobs.

`GeneratedQuizConsumer` (run by `coursegraph worker`, group quizzes-generation on `events.generator`)
creates a DRAFT quiz with the generated questions on the job's course, in ONE transaction with the event id
(`processed_event`) and a marker per generation job (`applied_generation`): a redelivered event, or the
same job announced twice, creates nothing twice. The event's organization must own the course (checked in
this domain's course projection); otherwise the event is ignored with a warning. A course the projection
does not know yet (its event still on the way) is retried later (the consumer's redelivery).

Mapping: each question keeps its generated type (a MULTIPLE_CHOICE question with one correct option stays
MULTIPLE_CHOICE, as requested); one point each. Archived courses are read-only: their results are ignored.
A generated question this domain's rules refuse (e.g. too many options) is left out with a warning rather
than failing the whole draft.
"""

from __future__ import annotations

import logging
import uuid
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.generation import QuizDraft, QuizQuestion
from subgraphs.contracts.generator import ResultApplied
from subgraphs.core.consumers import DatabaseConsumer, claim_event, event_meta
from subgraphs.core.context import publishing_transaction
from subgraphs.core.events import Event, stream_name
from subgraphs.core.ids import to_uuid
from subgraphs.core.text import clean_text
from subgraphs.quizzes import drafts, grading
from subgraphs.quizzes.models import AppliedGeneration, CourseProjection, ProcessedEvent, Quiz

log = logging.getLogger("coursegraph.quizzes")


def question_spec(generated: QuizQuestion) -> grading.QuestionSpec:
    kind, answers = generated.type, list(generated.correct_answers)
    options = list(generated.options)
    common = {"prompt": generated.prompt, "explanation": generated.explanation or None}
    if kind == "MULTIPLE_CHOICE":
        choices = sorted({options.index(a) for a in answers if a in options})
        return grading.QuestionSpec(
            type=grading.QuestionType.MULTIPLE_CHOICE,
            options=options,
            correct_choices=choices,
            **common,
        )
    if kind == "TRUE_FALSE":
        return grading.QuestionSpec(
            type=grading.QuestionType.TRUE_FALSE, correct_boolean=answers == ["true"], **common
        )
    return grading.QuestionSpec(type=grading.QuestionType.SHORT_ANSWER, accepted_answers=answers, **common)


async def apply_generated_quiz(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, event: Event
) -> Quiz | None:
    """The quiz created from a QUIZ job's result; None when the event is not for this domain, was applied
    before, or is refused (wrong organization, unknown or deleted course)."""
    applied = parse_if(event, ResultApplied)
    if applied is None or not isinstance(applied.result, QuizDraft):
        return None
    job_id = uuid.UUID(event.subject_ids["job_id"])
    course_id = applied.course_id or to_uuid(event.subject_ids.get("course_id"))
    async with publishing_transaction(sessionmaker, redis) as session:
        if not await claim_event(session, ProcessedEvent, event) or await session.get(
            AppliedGeneration, job_id
        ):
            return None
        course = await session.get(CourseProjection, course_id) if course_id else None
        if course_id and course is None:
            raise drafts.CourseNotProjectedYet(course_id)
        if course is None or not drafts.writable_by(course, event.organization_id):
            log.warning(
                "generation job %s: course %s is not a live, writable course of organization %s; ignored",
                job_id,
                course_id,
                event.organization_id,
            )
            return None
        result = applied.result
        title = clean_text(result.title, "result.title")
        quiz = drafts.new_quiz(course, title=title, description="", passing_score=60)
        questions, refused = drafts.accepted_questions(result.questions, question_spec)
        for index, exc in refused:
            log.warning("generation job %s: question %d left out: %s", job_id, index, exc)
        await drafts.add_quiz(session, event_meta(event, redis), quiz, questions)
        session.add(AppliedGeneration(job_id=job_id, quiz_id=quiz.id))
    return quiz


class GeneratedQuizConsumer(DatabaseConsumer):
    """Applies generated quiz drafts (worker, group quizzes-generation)."""

    group: ClassVar[str] = "quizzes-generation"
    streams: ClassVar[tuple[str, ...]] = (stream_name("generator"),)

    async def handle(self, event: Event) -> None:
        await apply_generated_quiz(self.sessionmaker, self.redis, event)

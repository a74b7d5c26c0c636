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
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.generation import QuizDraft, QuizQuestion
from subgraphs.contracts.generator import ResultApplied
from subgraphs.contracts.quizzes import QuestionCreated
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import Consumer, Event, emit, stream_name
from subgraphs.core.ids import to_uuid
from subgraphs.quizzes import access, authoring, grading
from subgraphs.quizzes.models import (
    AppliedGeneration,
    CourseProjection,
    Outbox,
    ProcessedEvent,
    Question,
    Quiz,
)
from subgraphs.quizzes.projection import event_meta

log = logging.getLogger("coursegraph.quizzes")


class CourseNotProjectedYet(Exception):
    """The course's own events have not reached this domain yet: retry the event later."""


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
    async with sessionmaker() as session, session.begin():
        fresh = await session.scalar(
            insert(ProcessedEvent)
            .values(event_id=event.id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        if fresh is None or await session.get(AppliedGeneration, job_id) is not None:
            return None
        course = await session.get(CourseProjection, course_id) if course_id else None
        if course_id and course is None:
            raise CourseNotProjectedYet(course_id)
        if (
            course is None
            or str(course.organization_id) != event.organization_id
            or course.status in ("DELETED", "ARCHIVED")
        ):
            log.warning(
                "generation job %s: course %s is not a live, writable course of organization %s; ignored",
                job_id,
                course_id,
                event.organization_id,
            )
            return None
        meta = event_meta(event, redis)
        result = applied.result
        quiz = Quiz(
            course_id=course.course_id,
            organization_id=course.organization_id,
            title=grading.clean_text(result.title, "result.title"),
            description="",
            time_limit_seconds=None,
            attempts_allowed=None,
            passing_score=60,
            shuffle_questions=False,
            status=access.QuizStatus.DRAFT.value,
        )
        session.add(quiz)
        await session.flush()
        questions = []
        for index, generated in enumerate(result.questions[: authoring.MAX_QUESTIONS]):
            try:
                values = grading.clean_question(question_spec(generated))
            except InvalidInput as exc:
                log.warning("generation job %s: question %d left out: %s", job_id, index, exc)
                continue
            questions.append(Question(quiz_id=quiz.id, position=len(questions) + 1, **values))
        session.add_all(questions)
        session.add(AppliedGeneration(job_id=job_id, quiz_id=quiz.id))
        await session.flush()
        emit(session, Outbox, authoring.quiz_event(meta, "created", quiz))
        for question in questions:
            emit(session, Outbox, authoring.question_event(meta, QuestionCreated(), quiz, question.id))
    return quiz


class GeneratedQuizConsumer(Consumer):
    """Applies generated quiz drafts (worker, group quizzes-generation)."""

    group: ClassVar[str] = "quizzes-generation"
    streams: ClassVar[tuple[str, ...]] = (stream_name("generator"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_generated_quiz(self._sessionmaker, self.redis, event)

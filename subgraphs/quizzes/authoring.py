"""Quizzes and their questions: create, change, publish, delete, with their outbox events. No GraphQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import quizzes as contract
from subgraphs.contracts.base import EventPayload, contract_as
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.guards import authorized_row
from subgraphs.core.ordering import next_position
from subgraphs.core.rbac import authorize
from subgraphs.core.text import clean_long, clean_text
from subgraphs.quizzes.access import (
    MANAGE,
    QuizStatus,
    can_view_quiz,
    enrollment_status,
    ensure_writable,
    projected_course,
)
from subgraphs.quizzes.errors import HasAttempts, NotPublishable
from subgraphs.quizzes.grading import QuestionSpec, ShowCorrectAnswers, clean_question
from subgraphs.quizzes.models import CourseProjection, Outbox, Question, Quiz, QuizAttempt

MAX_QUESTIONS = 100


async def _quiz_for_change(runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID) -> Quiz:
    quiz = await authorized_row(meta, session, Quiz, id, MANAGE, missing="No such quiz.", lock=True)
    ensure_writable(await session.get(CourseProjection, quiz.course_id))
    return quiz


def _quiz_values(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key == "title":
            out[key] = clean_text(value, "input.title")
        elif key == "description":
            out[key] = clean_long(value, "input.description")
        elif key == "time_limit_seconds":
            if value != 0 and not 10 <= value <= 24 * 3600:
                raise InvalidInput({"input.timeLimitSeconds": "Give 10 seconds to 24 hours (0: no limit)."})
            out[key] = value or None
        elif key == "attempts_allowed":
            if not 0 <= value <= 100:
                raise InvalidInput({"input.attemptsAllowed": "Give 1 to 100 (0: unlimited)."})
            out[key] = value or None
        elif key == "passing_score":
            if not 0 <= value <= 100:
                raise InvalidInput({"input.passingScore": "Give a percentage from 0 to 100."})
            out[key] = value
        elif key == "shuffle_questions":
            out[key] = bool(value)
        elif key == "show_correct_answers":
            out[key] = ShowCorrectAnswers(value).value
    return out


async def create_quiz(runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, **fields: Any) -> Quiz:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    values = _quiz_values(fields)
    if "title" not in values:
        raise InvalidInput({"input.title": "Give 1 to 200 characters."})
    async with runtime.transaction() as session:
        course = await projected_course(runtime, session, course_id)
        await authorize(meta.caller, MANAGE, course.organization_id)
        ensure_writable(course)
        quiz = Quiz(
            course_id=course_id,
            organization_id=course.organization_id,
            status=QuizStatus.DRAFT.value,
            **values,
        )
        session.add(quiz)
        await session.flush()
        emit(session, Outbox, quiz_event(meta, "created", quiz))
    return quiz


def quiz_event(meta: RequestMeta, verb: str, quiz: Quiz) -> Event:
    payload = contract_as(f"quizzes.quiz.{verb}", contract.QuizSnapshot)(
        quiz_id=quiz.id, course_id=quiz.course_id, status=quiz.status, title=quiz.title
    )
    subjects = {"quiz_id": quiz.id, "course_id": quiz.course_id}
    return request_event(meta, payload, organization_id=quiz.organization_id, subjects=subjects)


async def update_quiz(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, **fields: Any) -> Quiz:
    values = _quiz_values(fields)
    async with runtime.transaction() as session:
        quiz = await _quiz_for_change(runtime, meta, session, id)
        for key, value in values.items():
            setattr(quiz, key, value)
        quiz.updated_at = utcnow()
        await session.flush()
        emit(session, Outbox, quiz_event(meta, "updated", quiz))
    return quiz


async def publish_quiz(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, published: bool = True) -> Quiz:
    async with runtime.transaction() as session:
        quiz = await _quiz_for_change(runtime, meta, session, id)
        if published:
            count = await session.scalar(
                select(func.count()).select_from(Question).where(Question.quiz_id == id)
            )
            if not count:
                raise NotPublishable()
        quiz.status = (QuizStatus.PUBLISHED if published else QuizStatus.DRAFT).value
        quiz.updated_at = utcnow()
        await session.flush()
        emit(session, Outbox, quiz_event(meta, "published" if published else "unpublished", quiz))
    return quiz


async def delete_quiz(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Quiz:
    async with runtime.transaction() as session:
        quiz = await _quiz_for_change(runtime, meta, session, id)
        if await session.scalar(
            select(func.count()).select_from(QuizAttempt).where(QuizAttempt.quiz_id == id)
        ):
            raise HasAttempts()
        emit(session, Outbox, quiz_event(meta, "deleted", quiz))
        await session.execute(delete(Quiz).where(Quiz.id == id))
    return quiz


async def get_quiz(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Quiz | None:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        quiz = await session.get(Quiz, id)
        if quiz is None:
            return None
        enrolled = await enrollment_status(session, quiz.course_id, meta.principal.user_id)
    return quiz if await can_view_quiz(meta.caller, quiz, enrolled) else None


def question_event(meta: RequestMeta, payload: EventPayload, quiz: Quiz, question_id: uuid.UUID) -> Event:
    subjects = {"quiz_id": quiz.id, "question_id": question_id}
    return request_event(meta, payload, organization_id=quiz.organization_id, subjects=subjects)


async def _question_for_change(
    runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID
) -> tuple[Question, Quiz]:
    question = await session.get(Question, id)
    if question is None:
        raise NotFound("No such question.")
    return question, await _quiz_for_change(runtime, meta, session, question.quiz_id)


async def create_question(
    runtime: Runtime, meta: RequestMeta, *, quiz_id: uuid.UUID, spec: QuestionSpec
) -> Question:
    values = clean_question(spec)
    async with runtime.transaction() as session:
        quiz = await _quiz_for_change(runtime, meta, session, quiz_id)
        position = await next_position(
            session,
            Question.position,
            Question.quiz_id == quiz_id,
            most=MAX_QUESTIONS,
            field="input.quizId",
            full=f"A quiz holds at most {MAX_QUESTIONS} questions.",
        )
        question = Question(quiz_id=quiz.id, position=position, **values)
        session.add(question)
        quiz.updated_at = utcnow()
        await session.flush()
        emit(session, Outbox, question_event(meta, contract.QuestionCreated(), quiz, question.id))
    return question


async def update_question(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, spec: QuestionSpec
) -> Question:
    """Replace a question's content (its position stays)."""
    values = clean_question(spec)
    async with runtime.transaction() as session:
        question, quiz = await _question_for_change(runtime, meta, session, id)
        for key, value in values.items():
            setattr(question, key, value)
        quiz.updated_at = utcnow()
        await session.flush()
        emit(session, Outbox, question_event(meta, contract.QuestionUpdated(), quiz, id))
    return question


async def delete_question(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Question:
    async with runtime.transaction() as session:
        question, quiz = await _question_for_change(runtime, meta, session, id)
        await session.execute(delete(Question).where(Question.id == id))
        quiz.updated_at = utcnow()
        emit(session, Outbox, question_event(meta, contract.QuestionDeleted(), quiz, id))
    return question

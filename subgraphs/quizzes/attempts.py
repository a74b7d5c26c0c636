"""Attempts at a quiz: start, save answers, submit (scored on the server), and the instructor's list.
Correct answers and explanations are shown to a student only once they have submitted an attempt
(grading.reveals_answers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import quizzes as contract
from subgraphs.contracts.base import contract_as
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.guards import authorized_row
from subgraphs.core.pagination import PageRequest, paginate_by_time
from subgraphs.quizzes.access import (
    MANAGE,
    PROJECTION_GROUP,
    TAKING,
    QuizStatus,
    can_view_quiz,
    enrollment_status,
)
from subgraphs.quizzes.errors import (
    AlreadySubmitted,
    AttemptsExhausted,
    NotEnrolled,
    QuestionNotInQuiz,
    QuizNotOpen,
    TimeUp,
)
from subgraphs.quizzes.grading import Answer, clean_answer, is_correct
from subgraphs.quizzes.models import AttemptAnswer, CourseProjection, Outbox, Question, Quiz, QuizAttempt


async def _lock(session: AsyncSession, key: str) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


def _attempt_event(meta: RequestMeta, verb: str, attempt: QuizAttempt, **extra: Any) -> Event:
    payload = contract_as(f"quizzes.attempt.{verb}", contract.AttemptEvent)(
        attempt_id=attempt.id,
        quiz_id=attempt.quiz_id,
        user_id=attempt.user_id,
        course_id=attempt.course_id,
        **extra,
    )
    subjects = {
        "attempt_id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "user_id": attempt.user_id,
        "course_id": attempt.course_id,
    }
    return request_event(meta, payload, organization_id=attempt.organization_id, subjects=subjects)


async def start_attempt(runtime: Runtime, meta: RequestMeta, *, quiz_id: uuid.UUID) -> QuizAttempt:
    """Start an attempt (an open, unexpired attempt of the same quiz is returned instead)."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        await _lock(session, f"quiz-attempt:{quiz_id}:{user_id}")
        quiz = await session.get(Quiz, quiz_id)
        if quiz is None:
            raise NotFound("No such quiz.")
        enrolled = await enrollment_status(session, quiz.course_id, user_id)
        # Read your writes: an enrollment made a moment ago may not have reached the projection yet.
        if enrolled not in TAKING and await runtime.caught_up("courses", PROJECTION_GROUP):
            enrolled = await enrollment_status(session, quiz.course_id, user_id)
        if not await can_view_quiz(meta.caller, quiz, enrolled):
            raise NotFound("No such quiz.")
        course = await session.get(CourseProjection, quiz.course_id)
        if quiz.status != QuizStatus.PUBLISHED or course is None or course.status != "PUBLISHED":
            raise QuizNotOpen()
        if enrolled not in TAKING:
            raise NotEnrolled()
        now = utcnow()
        attempts = (
            await session.scalars(
                select(QuizAttempt)
                .where(QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == user_id)
                .order_by(QuizAttempt.number)
            )
        ).all()
        for attempt in attempts:
            if attempt.submitted_at is None and (attempt.deadline_at is None or attempt.deadline_at > now):
                return attempt
        if quiz.attempts_allowed is not None and len(attempts) >= quiz.attempts_allowed:
            raise AttemptsExhausted()
        attempt = QuizAttempt(
            quiz_id=quiz.id,
            user_id=user_id,
            course_id=quiz.course_id,
            organization_id=quiz.organization_id,
            number=len(attempts) + 1,
            started_at=now,
            deadline_at=now + timedelta(seconds=quiz.time_limit_seconds) if quiz.time_limit_seconds else None,
        )
        session.add(attempt)
        await session.flush()
        emit(session, Outbox, _attempt_event(meta, "started", attempt, number=attempt.number))
    return attempt


async def _own_attempt(session: AsyncSession, meta: RequestMeta, attempt_id: uuid.UUID) -> QuizAttempt:
    user_id = require_user(meta.principal)
    attempt = await session.get(QuizAttempt, attempt_id, with_for_update=True)
    if attempt is None or attempt.user_id != user_id:
        raise NotFound("No such attempt.")
    return attempt


async def save_answer(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    attempt_id: uuid.UUID,
    question_id: uuid.UUID,
    answer: Answer,
    time_spent_seconds: int = 0,
) -> AttemptAnswer:
    """Save (or replace) the answer to one question of an open attempt. Idempotent per question."""
    if time_spent_seconds < 0 or time_spent_seconds > 7 * 24 * 3600:
        raise InvalidInput({"input.timeSpentSeconds": "Give the seconds spent (zero or more)."})
    async with runtime.transaction() as session:
        attempt = await _own_attempt(session, meta, attempt_id)
        if attempt.submitted_at is not None:
            raise AlreadySubmitted()
        question = await session.get(Question, question_id)
        if question is None:
            raise NotFound("No such question.")
        if question.quiz_id != attempt.quiz_id:
            raise QuestionNotInQuiz()
        now = utcnow()
        if attempt.deadline_at is not None and now > attempt.deadline_at:
            raise TimeUp()
        stored = clean_answer(question, answer)
        previous = await session.scalar(
            select(AttemptAnswer.answer).where(
                AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.question_id == question.id
            )
        )
        stmt = insert(AttemptAnswer).values(
            attempt_id=attempt.id,
            question_id=question.id,
            answer=stored,
            saved_at=now,
            time_spent_seconds=time_spent_seconds,
        )
        row = (
            await session.scalars(
                stmt.on_conflict_do_update(
                    index_elements=[AttemptAnswer.attempt_id, AttemptAnswer.question_id],
                    set_={"answer": stored, "saved_at": now, "time_spent_seconds": time_spent_seconds},
                ).returning(AttemptAnswer)
            )
        ).one()
        if previous != stored:  # saving the same answer again is not news
            emit(
                session,
                Outbox,
                request_event(
                    meta,
                    contract.AnswerSaved(
                        attempt_id=attempt.id,
                        quiz_id=attempt.quiz_id,
                        question_id=question.id,
                        user_id=attempt.user_id,
                        course_id=attempt.course_id,
                        organization_id=attempt.organization_id,
                        time_spent_ms=time_spent_seconds * 1000,
                    ),
                    organization_id=attempt.organization_id,
                    subjects={
                        "attempt_id": attempt.id,
                        "quiz_id": attempt.quiz_id,
                        "question_id": question.id,
                        "user_id": attempt.user_id,
                        "course_id": attempt.course_id,
                    },
                ),
            )
    return row


async def submit_attempt(runtime: Runtime, meta: RequestMeta, *, attempt_id: uuid.UUID) -> QuizAttempt:
    """Score the attempt on the server from the answers saved (saving refuses answers after the time
    limit, so a late submission is scored with what was saved in time)."""
    async with runtime.transaction() as session:
        attempt = await _own_attempt(session, meta, attempt_id)
        if attempt.submitted_at is not None:
            raise AlreadySubmitted()
        quiz = await session.get_one(Quiz, attempt.quiz_id)
        questions = (await session.scalars(select(Question).where(Question.quiz_id == attempt.quiz_id))).all()
        answers = {
            a.question_id: a
            for a in (
                await session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
            ).all()
        }
        now = utcnow()
        score = 0.0
        max_score = float(sum(q.points for q in questions))
        for question in questions:
            answer = answers.get(question.id)
            if answer is None:
                continue
            in_time = attempt.deadline_at is None or answer.saved_at <= attempt.deadline_at
            answer.correct = in_time and is_correct(question, answer.answer)
            points = float(question.points) if answer.correct else 0.0
            answer.points_awarded = points
            score += points
        attempt.submitted_at = now
        attempt.late = attempt.deadline_at is not None and now > attempt.deadline_at
        attempt.score = score
        attempt.max_score = max_score
        attempt.passed = max_score > 0 and score * 100 >= quiz.passing_score * max_score
        await session.flush()
        emit(
            session,
            Outbox,
            _attempt_event(
                meta,
                "submitted",
                attempt,
                score=score,
                max_score=max_score,
                passed=attempt.passed,
                late=attempt.late,
            ),
        )
    return attempt


@dataclass
class AttemptFilter:
    user_id: uuid.UUID | None = None
    submitted: bool | None = None
    passed: bool | None = None


async def list_attempts(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    quiz_id: uuid.UUID,
    filter: AttemptFilter,
    page: PageRequest,
) -> Any:
    """The instructor view: attempts of one quiz, oldest first, filtered (UPDATE_COURSES there)."""
    async with runtime.transaction() as session:
        await authorized_row(meta, session, Quiz, quiz_id, MANAGE, missing="No such quiz.")
        stmt = select(QuizAttempt).where(QuizAttempt.quiz_id == quiz_id)
        if filter.user_id is not None:
            stmt = stmt.where(QuizAttempt.user_id == filter.user_id)
        if filter.submitted is not None:
            stmt = stmt.where(
                QuizAttempt.submitted_at.is_not(None)
                if filter.submitted
                else QuizAttempt.submitted_at.is_(None)
            )
        if filter.passed is not None:
            stmt = stmt.where(QuizAttempt.passed.is_(filter.passed))
        return await paginate_by_time(
            runtime,
            session,
            stmt,
            (QuizAttempt.started_at, QuizAttempt.id),
            page=page,
        )

"""Quizzes: quiz and question authoring, attempts, answers and server-side scoring. No GraphQL here.

Who may do what (core.rbac by membership role in the course's organization, which this domain knows from
its course projection): authoring and the instructor views need UPDATE_COURSES there; taking a quiz needs
an ACTIVE or COMPLETED enrollment in its course (enrollment projection) while quiz and course are
published. Correct answers and explanations are shown to authors, and to a student only once they have
submitted an attempt of that quiz.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, exists, false, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import quizzes as contract
from subgraphs.contracts.base import contract_as
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.rbac import Caller, Permission, authorize, organizations_permitting, permitted
from subgraphs.core.time_pagination import paginate_by_time
from subgraphs.quizzes.errors import (
    AlreadySubmitted,
    AttemptsExhausted,
    HasAttempts,
    NotEnrolled,
    NotPublishable,
    QuestionNotInQuiz,
    QuizNotOpen,
    TimeUp,
)
from subgraphs.quizzes.models import (
    AttemptAnswer,
    CourseProjection,
    EnrollmentProjection,
    Outbox,
    Question,
    Quiz,
    QuizAttempt,
)

MANAGE = Permission.UPDATE_COURSES
VIEW = Permission.VIEW_COURSES
MAX_QUESTIONS = 100
MAX_OPTIONS = 10
TAKING = ("ACTIVE", "COMPLETED")


class QuizStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"


class ShowCorrectAnswers(StrEnum):
    """When students see a quiz's correct answers (and explanations): the instructor's choice per quiz."""

    NEVER = "NEVER"
    AFTER_LAST_ATTEMPT = "AFTER_LAST_ATTEMPT"
    AFTER_EACH_ATTEMPT = "AFTER_EACH_ATTEMPT"


def reveals_answers(quiz: Quiz, attempts: list[QuizAttempt]) -> bool:
    """Whether a student with these attempts of `quiz` sees its correct answers. Never while they can
    still answer it: not during an open attempt, and with AFTER_LAST_ATTEMPT not while an attempt is left
    (a quiz of unlimited attempts never shows them)."""
    if not attempts or any(a.submitted_at is None for a in attempts):
        return False
    rule = ShowCorrectAnswers(quiz.show_correct_answers)
    if rule is ShowCorrectAnswers.AFTER_EACH_ATTEMPT:
        return True
    if rule is ShowCorrectAnswers.AFTER_LAST_ATTEMPT:
        return quiz.attempts_allowed is not None and len(attempts) >= quiz.attempts_allowed
    return False


class QuestionType(StrEnum):
    SINGLE_CHOICE = "SINGLE_CHOICE"
    MULTIPLE_CHOICE = "MULTIPLE_CHOICE"
    TRUE_FALSE = "TRUE_FALSE"
    SHORT_ANSWER = "SHORT_ANSWER"
    NUMERIC = "NUMERIC"


@dataclass
class Answer:
    """What a student answers; the field matching the question's type is set."""

    choices: list[int] | None = None
    boolean: bool | None = None
    text: str | None = None
    number: float | None = None


@dataclass
class QuestionSpec:
    type: QuestionType
    prompt: str
    options: list[str] | None = None
    correct_choices: list[int] | None = None
    correct_boolean: bool | None = None
    accepted_answers: list[str] | None = None
    correct_number: float | None = None
    tolerance: float | None = None
    points: int = 1
    explanation: str | None = None


def clean_text(value: str, field: str, *, limit: int = 200) -> str:
    text_ = " ".join(value.split())
    if not 1 <= len(text_) <= limit:
        raise InvalidInput({field: f"Give 1 to {limit} characters."})
    return text_


def clean_long(value: str | None, field: str, *, limit: int = 10_000) -> str:
    """Long text (Markdown) is stored exactly as written: leading spaces are an indented code block."""
    text_ = value or ""
    if len(text_) > limit:
        raise InvalidInput({field: f"Keep it under {limit} characters."})
    return text_


def _normalize(value: str) -> str:
    return " ".join(value.split()).casefold()


# --- questions: validation and scoring ------------------------------------------------------------


def clean_question(spec: QuestionSpec, field: str = "input.question") -> dict[str, Any]:
    """Validate a question; returns the row values (options, correct, points, ...). Errors name
    `field`'s members (`input.question.points`), where the question sits in the mutation's input."""
    if spec.points is None or spec.points <= 0 or spec.points > 1000:
        raise InvalidInput({f"{field}.points": "Give a positive number of points (at most 1000)."})
    prompt = clean_long(spec.prompt, f"{field}.prompt", limit=5000)
    if not prompt.strip():
        raise InvalidInput({f"{field}.prompt": "Ask something."})
    kind = spec.type
    options: list[str] = []
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        options = [clean_text(o, f"{field}.options.{i}", limit=500) for i, o in enumerate(spec.options or [])]
        if not 2 <= len(options) <= MAX_OPTIONS:
            raise InvalidInput({f"{field}.options": f"Give 2 to {MAX_OPTIONS} options."})
        choices = sorted(set(spec.correct_choices or []))
        if not choices or any(not 0 <= c < len(options) for c in choices):
            raise InvalidInput({f"{field}.correctChoices": "Name the correct options by their index."})
        if kind == QuestionType.SINGLE_CHOICE and len(choices) != 1:
            raise InvalidInput(
                {f"{field}.correctChoices": "A single-choice question has one correct option."}
            )
        correct: list[Any] = choices
    elif kind == QuestionType.TRUE_FALSE:
        if spec.correct_boolean is None:
            raise InvalidInput({f"{field}.correctBoolean": "Say whether the statement is true."})
        options, correct = ["True", "False"], [spec.correct_boolean]
    elif kind == QuestionType.SHORT_ANSWER:
        accepted = [
            clean_text(a, f"{field}.acceptedAnswers.{i}", limit=500)
            for i, a in enumerate(spec.accepted_answers or [])
        ]
        if not accepted:
            raise InvalidInput({f"{field}.acceptedAnswers": "Give at least one accepted answer."})
        correct = accepted
    else:
        if spec.correct_number is None or not math.isfinite(spec.correct_number):
            raise InvalidInput({f"{field}.correctNumber": "Give the correct number."})
        tolerance = spec.tolerance or 0.0
        if tolerance < 0 or not math.isfinite(tolerance):
            raise InvalidInput({f"{field}.tolerance": "Give a tolerance of zero or more."})
        correct = [spec.correct_number, tolerance]
    return {
        "type": kind.value,
        "prompt": prompt,
        "options": options,
        "correct": correct,
        "points": spec.points,
        "explanation": clean_long(spec.explanation, f"{field}.explanation", limit=5000),
    }


def clean_answer(question: Question, answer: Answer) -> list[Any]:
    """The stored form of an answer to `question`, or a ValidationError naming `input.answer`."""
    kind = QuestionType(question.type)
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        choices = sorted(set(answer.choices or []))
        if not choices or any(not 0 <= c < len(question.options) for c in choices):
            raise InvalidInput({"input.answer.choices": "Choose among the question's options (by index)."})
        if kind == QuestionType.SINGLE_CHOICE and len(choices) != 1:
            raise InvalidInput({"input.answer.choices": "Choose one option."})
        return choices
    if kind == QuestionType.TRUE_FALSE:
        if answer.boolean is None:
            raise InvalidInput({"input.answer.boolean": "Answer true or false."})
        return [answer.boolean]
    if kind == QuestionType.SHORT_ANSWER:
        if answer.text is None or not answer.text.strip() or len(answer.text) > 1000:
            raise InvalidInput({"input.answer.text": "Write an answer (under 1000 characters)."})
        return [answer.text.strip()]
    if answer.number is None or not math.isfinite(answer.number):
        raise InvalidInput({"input.answer.number": "Give a number."})
    # Stored as a float: a whole number kept as an int would read back as a choice index.
    return [float(answer.number)]


def is_correct(question: Question, stored: list[Any]) -> bool:
    kind = QuestionType(question.type)
    if kind == QuestionType.SHORT_ANSWER:
        return _normalize(str(stored[0])) in {_normalize(a) for a in question.correct}
    if kind == QuestionType.NUMERIC:
        value, tolerance = question.correct
        return abs(float(stored[0]) - float(value)) <= float(tolerance) + 1e-9
    return list(stored) == list(question.correct)


# --- access ---------------------------------------------------------------------------------------


# The worker's consumer group that keeps CourseProjection and EnrollmentProjection (projection.py).
PROJECTION_GROUP = "quizzes-projection"


async def _course(runtime: Runtime, session: AsyncSession, course_id: uuid.UUID) -> CourseProjection:
    course = await session.get(CourseProjection, course_id)
    if course is None and await runtime.caught_up("courses", PROJECTION_GROUP):  # read your writes
        course = await session.get(CourseProjection, course_id)
    if course is None or course.status == "DELETED":
        raise NotFound("No such course.")
    return course


def _writable(course: CourseProjection | None) -> None:
    """Archived courses are read-only: their quizzes and questions change no more."""
    if course is not None and course.status == "ARCHIVED":
        raise CourseArchived()


async def _quiz_for_change(runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID) -> Quiz:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    quiz = await session.get(Quiz, id, with_for_update=True)
    if quiz is None:
        raise NotFound("No such quiz.")
    await authorize(meta.caller, MANAGE, quiz.organization_id)
    _writable(await session.get(CourseProjection, quiz.course_id))
    return quiz


# --- quizzes --------------------------------------------------------------------------------------


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
        course = await _course(runtime, session, course_id)
        await authorize(meta.caller, MANAGE, course.organization_id)
        _writable(course)
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
        enrolled = await _enrollment_status(session, quiz.course_id, meta.principal.user_id)
    return quiz if await can_view_quiz(meta.caller, quiz, enrolled) else None


async def _enrollment_status(
    session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID | None
) -> str | None:
    if user_id is None:
        return None
    row = await session.get(EnrollmentProjection, (course_id, user_id))
    return row.status if row else None


async def can_view_quiz(caller: Caller, quiz: Quiz, enrollment_status: str | None) -> bool:
    """Authors see every quiz of their organization; students see published quizzes of courses they are
    enrolled in (or of their organization)."""
    if not caller.principal.is_authenticated:
        return False
    if await permitted(caller, MANAGE, quiz.organization_id):
        return True
    if quiz.status != QuizStatus.PUBLISHED:
        return False
    return enrollment_status in TAKING or await permitted(caller, VIEW, quiz.organization_id)


async def visible_quizzes_clause(caller: Caller) -> Any:
    """A SQL predicate on Quiz: what `can_view_quiz` accepts, for lists."""
    principal = caller.principal
    if not principal.is_authenticated:
        return false()
    if principal.is_site_admin:
        return true()
    manage = await organizations_permitting(caller, MANAGE)
    view = await organizations_permitting(caller, VIEW)
    published = Quiz.status == QuizStatus.PUBLISHED.value
    clauses = []
    if manage.ids:
        clauses.append(Quiz.organization_id.in_(manage.uuids()))
    if view.ids:
        clauses.append(and_(published, Quiz.organization_id.in_(view.uuids())))
    if principal.user_id is not None:
        enrolled = exists().where(
            EnrollmentProjection.course_id == Quiz.course_id,
            EnrollmentProjection.user_id == principal.user_id,
            EnrollmentProjection.status.in_(TAKING),
        )
        clauses.append(and_(published, enrolled))
    return or_(*clauses) if clauses else false()


# --- questions ------------------------------------------------------------------------------------


async def create_question(
    runtime: Runtime, meta: RequestMeta, *, quiz_id: uuid.UUID, spec: QuestionSpec
) -> Question:
    values = clean_question(spec)
    async with runtime.transaction() as session:
        quiz = await _quiz_for_change(runtime, meta, session, quiz_id)
        count, last = (
            await session.execute(
                select(func.count(), func.max(Question.position)).where(Question.quiz_id == quiz_id)
            )
        ).one()
        if count >= MAX_QUESTIONS:
            raise InvalidInput({"input.quizId": f"A quiz holds at most {MAX_QUESTIONS} questions."})
        question = Question(quiz_id=quiz.id, position=(last or 0) + 1, **values)
        session.add(question)
        quiz.updated_at = utcnow()
        await session.flush()
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.QuestionCreated(),
                organization_id=quiz.organization_id,
                subjects={"quiz_id": quiz.id, "question_id": question.id},
            ),
        )
    return question


async def update_question(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, spec: QuestionSpec
) -> Question:
    """Replace a question's content (its position stays)."""
    values = clean_question(spec)
    async with runtime.transaction() as session:
        question = await session.get(Question, id)
        if question is None:
            raise NotFound("No such question.")
        quiz = await _quiz_for_change(runtime, meta, session, question.quiz_id)
        for key, value in values.items():
            setattr(question, key, value)
        quiz.updated_at = utcnow()
        await session.flush()
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.QuestionUpdated(),
                organization_id=quiz.organization_id,
                subjects={"quiz_id": quiz.id, "question_id": id},
            ),
        )
    return question


async def delete_question(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Question:
    async with runtime.transaction() as session:
        question = await session.get(Question, id)
        if question is None:
            raise NotFound("No such question.")
        quiz = await _quiz_for_change(runtime, meta, session, question.quiz_id)
        await session.execute(delete(Question).where(Question.id == id))
        quiz.updated_at = utcnow()
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.QuestionDeleted(),
                organization_id=quiz.organization_id,
                subjects={"quiz_id": quiz.id, "question_id": id},
            ),
        )
    return question


# --- attempts -------------------------------------------------------------------------------------


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
        enrolled = await _enrollment_status(session, quiz.course_id, user_id)
        # Read your writes: an enrollment made a moment ago may not have reached the projection yet.
        if enrolled not in TAKING and await runtime.caught_up("courses", PROJECTION_GROUP):
            enrolled = await _enrollment_status(session, quiz.course_id, user_id)
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
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Any:
    """The instructor view: attempts of one quiz, oldest first, filtered (UPDATE_COURSES there)."""

    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        quiz = await session.get(Quiz, quiz_id)
        if quiz is None:
            raise NotFound("No such quiz.")
        await authorize(meta.caller, MANAGE, quiz.organization_id)
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
            first=first,
            after=after,
            to_node=to_node,
        )

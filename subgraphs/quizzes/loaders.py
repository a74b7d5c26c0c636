"""Per-request DataLoaders of the quizzes subgraph (every relation and `resolve_reference` batches).

Connections (`Course.quizzes`, `Quiz.questions`, `Quiz.myAttempts`, `QuizAttempt.answers`,
`User.quizAttempts`) go through core `page_loader`: one windowed statement for all parents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, case, cast, false, func, literal, not_, select, true
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader, memberships_loader, value_loader
from subgraphs.core.pages import PageLoader, bytes_id, oldest_first, page_loader
from subgraphs.core.rbac import Caller, organizations_permitting
from subgraphs.quizzes import access
from subgraphs.quizzes.models import (
    AppliedGeneration,
    AttemptAnswer,
    EnrollmentProjection,
    Question,
    Quiz,
    QuizAttempt,
)


@dataclass
class Loaders:
    quiz_by_id: RowLoader[Quiz]
    attempt_by_id: RowLoader[QuizAttempt]
    quizzes_page_by_course_id: PageLoader
    questions_page_by_quiz_id: PageLoader
    answers_page_by_attempt_id: PageLoader
    my_attempts_page_by_quiz_id: PageLoader
    my_attempts_by_quiz_id: DataLoader[Any, list[QuizAttempt]]
    my_enrollment_status_by_course_id: DataLoader[Any, str | None]
    attempts_page_by_user_id: PageLoader
    applied_quiz_id_by_job_id: DataLoader[Any, Any]
    # One shared read of the viewer's memberships per request (see core.loaders.warm_memberships).
    memberships_by_user_id: DataLoader[Any, Any]


def _shuffled(user_id: Any) -> Any:
    """A student's stable shuffled position of a question: sha256(student:quiz:question)."""
    seed = user_id + ":" + cast(Question.quiz_id, Text) + ":" + cast(Question.id, Text)
    return func.sha256(func.convert_to(seed, "UTF8"))


def build_loaders(context: Context) -> Loaders:
    caller = context.caller
    principal = caller.principal

    async def my_attempts(quiz_ids: Sequence[Any]) -> list[list[QuizAttempt]]:
        user_id = principal.user_id
        if user_id is None:
            return [[] for _ in quiz_ids]
        async with context.read() as session:
            rows = (
                await session.scalars(
                    select(QuizAttempt)
                    .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(quiz_ids))
                    .order_by(QuizAttempt.number)
                )
            ).all()
        grouped: dict[Any, list[QuizAttempt]] = defaultdict(list)
        for r in rows:
            grouped[r.quiz_id].append(r)
        return [grouped.get(q, []) for q in quiz_ids]

    async def my_enrollments(course_ids: Sequence[Any]) -> list[str | None]:
        user_id = principal.user_id
        if user_id is None:
            return [None for _ in course_ids]
        async with context.read() as session:
            rows = (
                await session.execute(
                    select(EnrollmentProjection.course_id, EnrollmentProjection.status).where(
                        EnrollmentProjection.user_id == user_id,
                        EnrollmentProjection.course_id.in_(course_ids),
                    )
                )
            ).all()
        status = dict(rows)
        return [status.get(c) for c in course_ids]

    async def question_order() -> list[Any]:
        """By position; for a shuffling quiz seen by a student, by sha256(viewer:quiz:question) — a stable
        order per student that the cursor can follow. Authors always see the authored order."""
        positional = func.int4send(Question.position)  # big-endian bytes: sorts like the number
        managed = await organizations_permitting(caller, access.MANAGE)
        if managed.every:
            return [positional, Question.id]
        shuffles = (
            select(
                and_(
                    Quiz.shuffle_questions,
                    not_(Quiz.organization_id.in_(managed.uuids())) if managed.ids else true(),
                )
            )
            .where(Quiz.id == Question.quiz_id)
            .scalar_subquery()
        )
        return [case((shuffles, _shuffled(literal(str(principal.subject)))), else_=positional), Question.id]

    async def mine(caller: Caller) -> Any:
        user_id = caller.principal.user_id
        return QuizAttempt.user_id == user_id if user_id is not None else false()

    # Answers in the order the attempt's student saw the questions (shuffled for them, or authored).
    seen_order = (
        select(
            case(
                (Quiz.shuffle_questions, _shuffled(cast(QuizAttempt.user_id, Text))),
                else_=func.int4send(Question.position),
            )
        )
        .where(
            Question.id == AttemptAnswer.question_id,
            Quiz.id == Question.quiz_id,
            QuizAttempt.id == AttemptAnswer.attempt_id,
        )
        .scalar_subquery()
    )
    return Loaders(
        quiz_by_id=by_key_loader(context, Quiz, Quiz.id),
        attempt_by_id=by_key_loader(context, QuizAttempt, QuizAttempt.id),
        quizzes_page_by_course_id=oldest_first(context, Quiz.course_id, where=access.visible_quizzes_clause),
        questions_page_by_quiz_id=page_loader(context, Question.quiz_id, question_order, kinds=bytes_id),
        answers_page_by_attempt_id=page_loader(
            context, AttemptAnswer.attempt_id, (seen_order, AttemptAnswer.question_id), kinds=bytes_id
        ),
        my_attempts_page_by_quiz_id=page_loader(
            context, QuizAttempt.quiz_id, (QuizAttempt.number, QuizAttempt.id), where=mine
        ),
        my_attempts_by_quiz_id=DataLoader(load_fn=my_attempts),
        my_enrollment_status_by_course_id=DataLoader(load_fn=my_enrollments),
        attempts_page_by_user_id=page_loader(
            context, QuizAttempt.user_id, (QuizAttempt.started_at, QuizAttempt.id)
        ),
        applied_quiz_id_by_job_id=value_loader(context, AppliedGeneration.job_id, AppliedGeneration.quiz_id),
        memberships_by_user_id=memberships_loader(context),
    )

"""Per-request DataLoaders of the quizzes subgraph (every relation and `resolve_reference` batches)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.errors import InvalidInput
from subgraphs.core.loaders import by_key_loader, grouped_loader
from subgraphs.core.pagination import check_page_size, decode_cursor
from subgraphs.quizzes.models import AttemptAnswer, EnrollmentProjection, Question, Quiz, QuizAttempt


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    size: int
    after: str | None


def attempts_page_by_user_loader(context: Context) -> DataLoader[tuple[Any, int | None, str | None], Page]:
    """(user id, first, after) -> a page of that user's attempts, oldest first.
    One `row_number()` statement per distinct (first, after) for all users."""
    max_size = context.runtime.settings.graphql.max_page_size
    sort = (QuizAttempt.started_at, QuizAttempt.id)

    async def load(keys: Sequence[tuple[Any, int | None, str | None]]) -> list[Page]:
        groups: dict[tuple[int, str | None], set[Any]] = defaultdict(set)
        for user, first, after in keys:
            groups[(check_page_size(first, max_size), after)].add(user)
        found: dict[tuple[Any, int, str | None], list[Any]] = {}
        async with context.transaction() as session:
            for (size, after), users in groups.items():
                rank = (
                    func.row_number()
                    .over(partition_by=QuizAttempt.user_id, order_by=list(sort))
                    .label("rank")
                )
                inner = select(QuizAttempt, rank).where(QuizAttempt.user_id.in_(list(users)))
                if after:
                    values = decode_cursor(after, 2)
                    try:
                        position = (datetime.fromisoformat(values[0]), uuid.UUID(values[1]))
                    except ValueError as exc:
                        raise InvalidInput({"after": "Not a cursor from this list."}) from exc
                    inner = inner.where(tuple_(*sort) > tuple_(*position))
                sub = inner.subquery()
                row = aliased(QuizAttempt, sub)
                rows = (
                    await session.scalars(
                        select(row).where(sub.c.rank <= size + 1).order_by(sub.c.user_id, sub.c.rank)
                    )
                ).all()
                grouped: dict[Any, list[Any]] = defaultdict(list)
                for r in rows:
                    grouped[r.user_id].append(r)
                for user in users:
                    found[(user, size, after)] = grouped.get(user, [])
        return [
            Page(rows=found[(u, check_page_size(f, max_size), a)], size=check_page_size(f, max_size), after=a)
            for u, f, a in keys
        ]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    quiz_by_id: DataLoader[Any, Quiz | None]
    attempt_by_id: DataLoader[Any, QuizAttempt | None]
    quizzes_by_course_id: DataLoader[Any, list[Quiz]]
    questions_by_quiz_id: DataLoader[Any, list[Question]]
    answers_by_attempt_id: DataLoader[Any, list[AttemptAnswer]]
    my_attempts_by_quiz_id: DataLoader[Any, list[QuizAttempt]]
    my_enrollment_status_by_course_id: DataLoader[Any, str | None]
    attempts_page_by_user_id: DataLoader[Any, Page]
    # One shared read of the viewer's memberships per request: concurrent resolvers all wait on the SAME
    # future and so continue in the same tick, which keeps their own loads in one batch.
    memberships_by_user_id: DataLoader[Any, Any]


def build_loaders(context: Context) -> Loaders:
    async def my_attempts(quiz_ids: Sequence[Any]) -> list[list[QuizAttempt]]:
        user_id = context.principal.user_id
        if user_id is None:
            return [[] for _ in quiz_ids]
        async with context.transaction() as session:
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
        user_id = context.principal.user_id
        if user_id is None:
            return [None for _ in course_ids]
        async with context.transaction() as session:
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

    async def memberships(user_ids: Sequence[Any]) -> list[Any]:
        return [await context.memberships.of(u) for u in user_ids]

    return Loaders(
        quiz_by_id=by_key_loader(context, Quiz, Quiz.id),
        attempt_by_id=by_key_loader(context, QuizAttempt, QuizAttempt.id),
        quizzes_by_course_id=grouped_loader(
            context, Quiz, Quiz.course_id, order_by=lambda: (Quiz.created_at, Quiz.id)
        ),
        questions_by_quiz_id=grouped_loader(
            context, Question, Question.quiz_id, order_by=lambda: (Question.position, Question.id)
        ),
        answers_by_attempt_id=grouped_loader(context, AttemptAnswer, AttemptAnswer.attempt_id),
        my_attempts_by_quiz_id=DataLoader(load_fn=my_attempts),
        my_enrollment_status_by_course_id=DataLoader(load_fn=my_enrollments),
        attempts_page_by_user_id=attempts_page_by_user_loader(context),
        memberships_by_user_id=DataLoader(load_fn=memberships),
    )

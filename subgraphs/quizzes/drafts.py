"""Draft quizzes that other domains' events create: generated quizzes (generated.py) and imported ones
(imported.py). Both write into a course of this domain's projection, in the transaction that applies the
event, and announce what they create as the mutations do (`quizzes.quiz.created`, `...question.created`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts.quizzes import QuestionCreated
from subgraphs.core.context import RequestMeta
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import emit
from subgraphs.quizzes import access, authoring, grading
from subgraphs.quizzes.models import CourseProjection, Outbox, Question, Quiz

Part = TypeVar("Part")


class CourseNotProjectedYet(Exception):
    """The course's own events have not reached this domain yet: retry the event later."""


def writable_by(course: CourseProjection, organization_id: uuid.UUID | str | None) -> bool:
    """Whether `organization_id` may add quizzes to `course`: its own course, neither deleted nor archived."""
    owned = str(course.organization_id) == str(organization_id)
    return owned and course.status not in ("DELETED", "ARCHIVED")


def new_quiz(course: CourseProjection, **chosen: Any) -> Quiz:
    """A new DRAFT quiz of `course` with what the caller `chosen` (title, description, passing score, and
    the id when another domain chose it): no time limit, unlimited attempts, questions in order."""
    return Quiz(
        course_id=course.course_id,
        organization_id=course.organization_id,
        time_limit_seconds=None,
        attempts_allowed=None,
        shuffle_questions=False,
        status=access.QuizStatus.DRAFT.value,
        **chosen,
    )


def accepted_questions(
    parts: Sequence[Part], spec_of: Callable[[Part], grading.QuestionSpec]
) -> tuple[list[dict[str, Any]], list[tuple[int, Exception]]]:
    """The row values of the first `MAX_QUESTIONS` parts this domain's rules accept, and (index, error) of
    each one refused: a refused question is left out rather than failing the whole quiz."""
    accepted, refused = [], []
    for index, part in enumerate(parts[: authoring.MAX_QUESTIONS]):
        try:
            accepted.append(grading.clean_question(spec_of(part)))
        except (InvalidInput, ValueError) as exc:
            refused.append((index, exc))
    return accepted, refused


async def add_quiz(
    session: AsyncSession, meta: RequestMeta, quiz: Quiz, questions: list[dict[str, Any]]
) -> list[Question]:
    """Write `quiz` with `questions` (row values, in order) and their events; the questions written."""
    session.add(quiz)
    await session.flush()
    rows = [Question(quiz_id=quiz.id, position=n, **values) for n, values in enumerate(questions, start=1)]
    session.add_all(rows)
    await session.flush()
    emit(session, Outbox, authoring.quiz_event(meta, "created", quiz))
    for row in rows:
        emit(session, Outbox, authoring.question_event(meta, QuestionCreated(), quiz, row.id))
    return rows

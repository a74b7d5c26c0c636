"""Scale data of the quizzes domain (`coursegraph seed --scale`): a published quiz per course, its
projections of those courses and enrollments (as the worker's consumer would have written them), and
submitted attempts. Bulk inserts use COPY."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.db import utcnow
from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection, Question, Quiz, QuizAttempt
from subgraphs.quizzes.service import QuestionType, QuizStatus


async def copy_rows(session: AsyncSession, table: Any, columns: list[str], rows: list[tuple]) -> None:
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(table.name, schema_name=table.schema, columns=columns, records=rows)


async def seed_scale_quizzes(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    courses: dict[uuid.UUID, uuid.UUID],
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    attempts: int,
) -> int:
    """`courses`: course id -> instructor id; `enrollments`: (enrollment id, course id, user id).
    Returns how many attempts were written (spread over the enrollments)."""
    now = utcnow()
    await copy_rows(
        session,
        CourseProjection.__table__,
        ["course_id", "organization_id", "instructor_id", "status", "as_of"],
        [(c, organization_id, i, "PUBLISHED", now) for c, i in courses.items()],
    )
    await copy_rows(
        session,
        EnrollmentProjection.__table__,
        ["course_id", "user_id", "enrollment_id", "status", "as_of"],
        [(c, u, e, "ACTIVE", now) for e, c, u in enrollments],
    )
    quiz_of: dict[uuid.UUID, uuid.UUID] = {}
    quiz_rows, questions = [], []
    for course_id in courses:
        quiz_id = uuid.uuid4()
        quiz_of[course_id] = quiz_id
        quiz_rows.append(
            (
                quiz_id,
                course_id,
                organization_id,
                "Checkpoint",
                "",
                None,
                None,
                60,
                False,
                QuizStatus.PUBLISHED.value,
                now,
                now,
            )
        )
        for position in range(1, 6):
            questions.append(
                {
                    "id": uuid.uuid4(),
                    "quiz_id": quiz_id,
                    "type": QuestionType.SINGLE_CHOICE.value,
                    "prompt": f"Question {position}?",
                    "options": ["a", "b", "c"],
                    "correct": [position % 3],
                    "points": 1,
                    "explanation": "",
                    "position": position,
                }
            )
    await copy_rows(
        session,
        Quiz.__table__,
        [
            "id",
            "course_id",
            "organization_id",
            "title",
            "description",
            "time_limit_seconds",
            "attempts_allowed",
            "passing_score",
            "shuffle_questions",
            "status",
            "created_at",
            "updated_at",
        ],
        quiz_rows,
    )
    await session.execute(insert(Question), questions)
    rows, counts = [], {}
    for n in range(attempts):
        _, course_id, user_id = enrollments[n % len(enrollments)]
        key = (course_id, user_id)
        counts[key] = counts.get(key, 0) + 1
        started = now - timedelta(minutes=n % 10_000)
        score = float(n % 6)
        rows.append(
            (
                uuid.uuid4(),
                quiz_of[course_id],
                user_id,
                course_id,
                organization_id,
                counts[key],
                started,
                started + timedelta(minutes=5),
                score,
                5.0,
                score >= 3,
                False,
            )
        )
    await copy_rows(
        session,
        QuizAttempt.__table__,
        [
            "id",
            "quiz_id",
            "user_id",
            "course_id",
            "organization_id",
            "number",
            "started_at",
            "submitted_at",
            "score",
            "max_score",
            "passed",
            "late",
        ],
        rows,
    )
    return len(rows)

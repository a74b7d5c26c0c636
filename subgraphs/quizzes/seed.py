"""Demo data of the quizzes domain: Demo Academy's checkpoint quiz, one question of every type, and a
submitted attempt of the demo student (`coursegraph seed`), written through the service functions so their
events reach analytics. Scale data (`coursegraph seed --scale`): a published quiz per course, its
projections of those courses and enrollments (as the worker's consumer would have written them), and
submitted attempts. Bulk inserts use COPY."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.seeding import DemoSeeding, ScaleSeeding, copy_rows
from subgraphs.quizzes import attempts, authoring
from subgraphs.quizzes.access import QuizStatus
from subgraphs.quizzes.grading import Answer, QuestionSpec, QuestionType
from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection, Question, Quiz, QuizAttempt

DEMO_QUIZ_TITLE = "Checkpoint: Python basics"

# One question of every type, with the demo student's answer (the fourth is wrong: a score of 7/9).
DEMO_QUESTIONS: list[tuple[QuestionSpec, Answer]] = [
    (
        QuestionSpec(
            type=QuestionType.SINGLE_CHOICE,
            prompt="Which keyword defines a function?",
            options=["func", "def", "lambda", "fn"],
            correct_choices=[1],
            explanation="`def name(...):` defines a function; `lambda` makes an anonymous one.",
        ),
        Answer(choices=[1]),
    ),
    (
        QuestionSpec(
            type=QuestionType.MULTIPLE_CHOICE,
            prompt="Which of these are Python collection types?",
            options=["list", "dict", "int", "tuple"],
            correct_choices=[0, 1, 3],
            points=3,
        ),
        Answer(choices=[0, 1, 3]),
    ),
    (
        QuestionSpec(
            type=QuestionType.TRUE_FALSE,
            prompt="A function without `return` returns `None`.",
            correct_boolean=True,
        ),
        Answer(boolean=True),
    ),
    (
        QuestionSpec(
            type=QuestionType.SHORT_ANSWER,
            prompt="Which command runs the tests of the current directory?",
            accepted_answers=["pytest", "python -m pytest"],
            points=2,
        ),
        Answer(text="unittest"),
    ),
    (
        QuestionSpec(
            type=QuestionType.NUMERIC,
            prompt="What does `area(2.5, 2)` return?",
            correct_number=5.0,
            tolerance=0.01,
            points=2,
        ),
        Answer(number=5),
    ),
]


async def seed_demo_quizzes(
    runtime: Runtime,
    *,
    instructor: RequestMeta,
    student: RequestMeta,
    organization_id: uuid.UUID,
    course_id: uuid.UUID,
    course_status: str,
    enrollments: list[tuple[uuid.UUID, uuid.UUID, str]],
) -> uuid.UUID:
    """The published checkpoint quiz of the course `course_id` (whose instructor is `instructor`), and one
    submitted attempt of `student` while the course is published. `course_status` and `enrollments`
    ((enrollment id, user id, status) in that course) are the courses domain's state now. Idempotent: the
    quiz is found by its title, the attempt made only once."""
    async with runtime.transaction() as session:
        # The projection the worker's consumer keeps from the courses events, written from the same facts:
        # the seed runs before the worker, and a quiz needs its course known. Facts of now are at least as
        # recent as any event, with the consumer's order-safety rule (as_of) all the same.
        now = utcnow()
        await _project(
            session,
            CourseProjection,
            ["course_id"],
            course_id=course_id,
            organization_id=organization_id,
            instructor_id=instructor.principal.user_id,
            status=course_status,
            as_of=now,
        )
        for enrollment_id, user_id, status in enrollments:
            await _project(
                session,
                EnrollmentProjection,
                ["course_id", "user_id"],
                course_id=course_id,
                user_id=user_id,
                enrollment_id=enrollment_id,
                status=status,
                as_of=now,
            )
        quiz_id = await session.scalar(
            select(Quiz.id).where(Quiz.course_id == course_id, Quiz.title == DEMO_QUIZ_TITLE)
        )
    if quiz_id is None:
        quiz = await authoring.create_quiz(
            runtime,
            instructor,
            course_id=course_id,
            title=DEMO_QUIZ_TITLE,
            description="Five questions, one of each type. Three attempts, ten minutes each.",
            time_limit_seconds=600,
            attempts_allowed=3,
            passing_score=60,
        )
        for spec, _ in DEMO_QUESTIONS:
            await authoring.create_question(runtime, instructor, quiz_id=quiz.id, spec=spec)
        await authoring.publish_quiz(runtime, instructor, id=quiz.id)
        quiz_id = quiz.id
    async with runtime.transaction() as session:
        attempted = await session.scalar(
            select(QuizAttempt.id).where(
                QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == student.principal.user_id
            )
        )
        questions = (
            await session.scalars(
                select(Question.id).where(Question.quiz_id == quiz_id).order_by(Question.position)
            )
        ).all()
    if attempted is None and course_status == "PUBLISHED":
        attempt = await attempts.start_attempt(runtime, student, quiz_id=quiz_id)
        for question_id, (_, answer) in zip(questions, DEMO_QUESTIONS, strict=True):
            await attempts.save_answer(
                runtime,
                student,
                attempt_id=attempt.id,
                question_id=question_id,
                answer=answer,
                time_spent_seconds=40,
            )
        await attempts.submit_attempt(runtime, student, attempt_id=attempt.id)
    return quiz_id


async def _project(session: AsyncSession, model: Any, keys: list[str], **values: Any) -> None:
    stmt = upsert(model).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[getattr(model, k) for k in keys],
            set_={k: stmt.excluded[k] for k in values if k not in keys},
            where=model.as_of <= stmt.excluded.as_of,
        )
    )


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


async def demo(seeding: DemoSeeding) -> None:
    """The seed hook (core/seeding.py): the checkpoint quiz of the course the courses hook seeded."""
    assert seeding.organization_id is not None and seeding.course is not None, "courses seeds first"
    await seed_demo_quizzes(
        seeding.runtime,
        instructor=seeding.acting("instructor@coursegraph.dev"),
        student=seeding.acting("student@coursegraph.dev"),
        organization_id=seeding.organization_id,
        course_id=seeding.course.course_id,
        course_status=seeding.course.status,
        enrollments=seeding.course.enrollments,
    )


async def scale(seeding: ScaleSeeding) -> None:
    """The seed hook of the benchmark data: a quiz per course and submitted attempts, by COPY."""
    assert seeding.organization_id is not None, "the organizations hook runs first"
    seeding.counts["attempts"] = await seed_scale_quizzes(
        seeding.session,
        organization_id=seeding.organization_id,
        courses=seeding.course_instructors,
        enrollments=seeding.enrollments,
        attempts=seeding.attempts,
    )

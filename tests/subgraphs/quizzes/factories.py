"""Quizzes test data: a published course with an enrolled student (projected), and quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subgraphs.courses.enrollment import enroll
from subgraphs.quizzes import authoring, grading
from tests.subgraphs.courses.factories import School

QUESTIONS = [
    grading.QuestionSpec(
        type=grading.QuestionType.SINGLE_CHOICE,
        prompt="2 + 2?",
        options=["3", "4", "5"],
        correct_choices=[1],
        points=2,
    ),
    grading.QuestionSpec(
        type=grading.QuestionType.MULTIPLE_CHOICE,
        prompt="Primes?",
        options=["2", "4", "5", "9"],
        correct_choices=[0, 2],
        points=3,
        explanation="4 and 9 are squares.",
    ),
    grading.QuestionSpec(
        type=grading.QuestionType.TRUE_FALSE, prompt="The sky is green.", correct_boolean=False
    ),
    grading.QuestionSpec(
        type=grading.QuestionType.SHORT_ANSWER,
        prompt="Capital of France?",
        accepted_answers=["Paris"],
        points=2,
    ),
    grading.QuestionSpec(
        type=grading.QuestionType.NUMERIC,
        prompt="Pi to 2 decimals?",
        correct_number=3.14,
        tolerance=0.005,
        points=2,
    ),
]


@dataclass
class Classroom:
    school: School
    course_id: Any
    quiz_id: Any
    question_ids: list[Any]


async def classroom(
    courses, projector, quizzes_runtime, *, publish: bool = True, **quiz_fields: Any
) -> Classroom:
    """A school, its published course with the student enrolled (projected), and a quiz of five questions."""
    school = await courses.school()
    course = await courses.course(school)
    await enroll(courses.runtime, school.student.meta, course_id=course.id)
    await projector.sync(
        courses={course.id: "PUBLISHED"}, enrollments={(course.id, school.student.id): "ACTIVE"}
    )
    quiz = await authoring.create_quiz(
        quizzes_runtime, school.instructor.meta, course_id=course.id, title="Checkpoint", **quiz_fields
    )
    ids = []
    for spec in QUESTIONS:
        ids.append(
            (
                await authoring.create_question(
                    quizzes_runtime, school.instructor.meta, quiz_id=quiz.id, spec=spec
                )
            ).id
        )
    if publish:
        await authoring.publish_quiz(quizzes_runtime, school.instructor.meta, id=quiz.id)
    return Classroom(school, course.id, quiz.id, ids)

"""Demo data of the courses domain: a published course of the demo organization, with a module, two
lessons and an exercise. Idempotent (found by its slug)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, emit
from subgraphs.courses.models import Course, Enrollment, Exercise, Lesson, Module, Outbox
from subgraphs.courses.service import CourseStatus, Difficulty, EnrollmentStatus, LabIde, Visibility

DEMO_COURSE_SLUG = "python-foundations"


async def seed_demo_course(
    sessionmaker: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, instructor_id: uuid.UUID
) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        existing = await session.scalar(
            select(Course.id).where(
                Course.organization_id == organization_id, Course.slug == DEMO_COURSE_SLUG
            )
        )
        if existing is not None:
            return existing
        course = Course(
            organization_id=organization_id,
            instructor_id=instructor_id,
            title="Python Foundations",
            slug=DEMO_COURSE_SLUG,
            description="Variables, functions and tests: a first course in Python.",
            category="programming",
            difficulty=Difficulty.BEGINNER.value,
            estimated_duration_hours=6,
            status=CourseStatus.PUBLISHED.value,
            visibility=Visibility.ORGANIZATION.value,
            published_at=utcnow(),
        )
        session.add(course)
        await session.flush()
        module = Module(course_id=course.id, title="Getting started", position=1)
        session.add(module)
        await session.flush()
        for position, (title, body) in enumerate(
            (
                ("Hello, Python", "# Hello, Python\n\n```python\nprint('hello')\n```\n"),
                ("Functions", "# Functions\n\nA function takes arguments and *returns* a value.\n"),
            ),
            start=1,
        ):
            session.add(
                Lesson(module_id=module.id, course_id=course.id, title=title, body=body, position=position)
            )
        exercise = Exercise(
            course_id=course.id,
            title="FizzBuzz",
            instructions="Write `fizzbuzz(n)` returning the FizzBuzz word for `n`.",
            language="python",
            starter_files=[{"path": "fizzbuzz.py", "content": "def fizzbuzz(n):\n    ...\n"}],
            tests=[
                {
                    "path": "test_fizzbuzz.py",
                    "content": "from fizzbuzz import fizzbuzz\n\n\ndef test_15():\n"
                    "    assert fizzbuzz(15) == 'FizzBuzz'\n",
                }
            ],
            ide=LabIde.VSCODE.value,
        )
        session.add(exercise)
        await session.flush()
        # The labs domain learns of exercises from these events.
        emit(
            session,
            Outbox,
            Event(
                type="courses.exercise.created",
                organization_id=str(organization_id),
                subject_ids={"course_id": str(course.id), "exercise_id": str(exercise.id)},
                payload={
                    "exercise_id": str(exercise.id),
                    "course_id": str(course.id),
                    "organization_id": str(organization_id),
                    "ide": exercise.ide,
                    "seed": True,
                },
            ),
        )
        for verb in ("created", "published"):
            emit(
                session,
                Outbox,
                Event(
                    type=f"courses.course.{verb}",
                    organization_id=str(organization_id),
                    subject_ids={"course_id": str(course.id)},
                    payload={
                        "course_id": str(course.id),
                        "organization_id": str(organization_id),
                        "instructor_id": str(instructor_id),
                        "status": course.status,
                        "title": course.title,
                        "seed": True,
                    },
                ),
            )
    return course.id


# --- `coursegraph seed --scale` ------------------------------------------------------------------


async def copy_rows(session: AsyncSession, table: Any, columns: list[str], rows: list[tuple]) -> None:
    """Bulk insert with PostgreSQL COPY (binary) on the session's connection."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(table.name, schema_name=table.schema, columns=columns, records=rows)


@dataclass
class ScaleCourses:
    course_ids: list[uuid.UUID]
    # (enrollment id, course id, user id)
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]


async def seed_scale_courses(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    instructor_ids: list[uuid.UUID],
    student_ids: list[uuid.UUID],
    courses: int,
    enrollments_per_student: int,
) -> ScaleCourses:
    """Published courses (a module of three lessons and an exercise each) and enrollments, by COPY."""
    now = utcnow()
    topics = (
        "Python",
        "Rust",
        "SQL",
        "Statistics",
        "Networks",
        "Security",
        "Design",
        "Graphs",
        "Cloud",
        "Testing",
    )
    course_rows, module_rows, lesson_rows, course_ids = [], [], [], []
    for i in range(courses):
        course_id, module_id = uuid.uuid4(), uuid.uuid4()
        topic = topics[i % len(topics)]
        course_ids.append(course_id)
        course_rows.append(
            (
                course_id,
                organization_id,
                instructor_ids[i % len(instructor_ids)],
                f"{topic} course {i + 1}",
                f"scale-{i + 1}",
                f"Everything about {topic.lower()}, part {i + 1}.",
                topic.lower(),
                (Difficulty.BEGINNER, Difficulty.INTERMEDIATE, Difficulty.ADVANCED)[i % 3].value,
                10,
                CourseStatus.PUBLISHED.value,
                Visibility.ORGANIZATION.value,
                now,
                now,
                now,
            )
        )
        module_rows.append((module_id, course_id, "Module 1", 1, now))
        for position in range(1, 4):
            lesson_rows.append(
                (
                    uuid.uuid4(),
                    module_id,
                    course_id,
                    f"Lesson {position}",
                    f"# Lesson {position}",
                    position,
                    now,
                )
            )
    await copy_rows(
        session,
        Course.__table__,
        [
            "id",
            "organization_id",
            "instructor_id",
            "title",
            "slug",
            "description",
            "category",
            "difficulty",
            "estimated_duration_hours",
            "status",
            "visibility",
            "published_at",
            "created_at",
            "updated_at",
        ],
        course_rows,
    )
    await copy_rows(
        session, Module.__table__, ["id", "course_id", "title", "position", "created_at"], module_rows
    )
    await copy_rows(
        session,
        Lesson.__table__,
        ["id", "module_id", "course_id", "title", "body", "position", "created_at"],
        lesson_rows,
    )
    session.add_all(
        Exercise(
            course_id=c,
            title="Exercise",
            instructions="Do it.",
            language="python",
            starter_files=[],
            tests=[],
            ide="VSCODE",
        )
        for c in course_ids
    )
    enrollments, enrollment_rows = [], []
    per = min(enrollments_per_student, courses)
    for s, student in enumerate(student_ids):
        for k in range(per):
            course_id = course_ids[(s * per + k) % courses]
            enrollment_id = uuid.uuid4()
            enrollments.append((enrollment_id, course_id, student))
            progress = (s + k) % 4 * 33
            enrollment_rows.append(
                (
                    enrollment_id,
                    course_id,
                    student,
                    organization_id,
                    EnrollmentStatus.ACTIVE.value,
                    progress,
                    now,
                    now,
                )
            )
    await copy_rows(
        session,
        Enrollment.__table__,
        [
            "id",
            "course_id",
            "user_id",
            "organization_id",
            "status",
            "progress_percent",
            "enrolled_at",
            "last_activity_at",
        ],
        enrollment_rows,
    )
    return ScaleCourses(course_ids, enrollments)

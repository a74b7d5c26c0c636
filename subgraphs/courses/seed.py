"""Demo data of the courses domain: a published course of the demo organization, with a module, two
lessons and an exercise. Idempotent (found by its slug)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, emit
from subgraphs.courses.models import Course, Exercise, Lesson, Module, Outbox
from subgraphs.courses.service import CourseStatus, Difficulty, LabIde, Visibility

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
        session.add(
            Exercise(
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

"""Test data of the courses domain, made through its service functions (as the mutations do)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from subgraphs.courses.catalog import create_course, publish_course
from subgraphs.courses.content import create_lesson, create_module
from subgraphs.courses.models import Course, Outbox
from tests.subgraphs.organizations.factories import Caller, Minter


@dataclass
class School:
    """An organization with an admin, an instructor and a student (membership roles)."""

    org: str
    admin: Caller
    instructor: Caller
    student: Caller


class CourseFactory:
    def __init__(self, runtime: Any, minter: Minter) -> None:
        self.runtime = runtime
        self.minter = minter

    async def school(self) -> School:
        admin = await self.minter.user("student")
        org = await self.minter.organization(admin, name="Course School")
        instructor = await self.minter.member(org, "instructor", platform_role="student")
        student = await self.minter.member(org, "student", platform_role="instructor")
        return School(org, admin, instructor, student)

    async def course(
        self,
        school: School,
        *,
        publish: bool = True,
        lessons: int = 1,
        title: str = "Python for Data",
        description: str = "Learn pandas and plotting.",
        **fields: Any,
    ) -> Course:
        meta = school.instructor.meta
        course = await create_course(
            self.runtime,
            meta,
            organization_id=uuid.UUID(school.org),
            title=title,
            slug=f"c-{uuid.uuid4().hex[:12]}",
            description=description,
            **fields,
        )
        if lessons:
            module = await create_module(self.runtime, meta, course_id=course.id, title="Basics")
            for i in range(lessons):
                await create_lesson(
                    self.runtime, meta, module_id=module.id, title=f"Lesson {i + 1}", body=f"# Lesson {i + 1}"
                )
        if publish:
            course = await publish_course(self.runtime, meta, id=course.id)
        return course

    async def events(self, **subject: str) -> list[dict]:
        """Outbox events (oldest first) whose subject ids contain `subject`."""
        async with self.runtime.transaction() as session:
            rows = (await session.scalars(select(Outbox.event).order_by(Outbox.position))).all()
        return [e for e in rows if all(e["subject_ids"].get(k) == v for k, v in subject.items())]

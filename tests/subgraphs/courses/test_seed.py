"""`coursegraph seed`: the demo organization's published course, visible to its demo student."""

from __future__ import annotations

from sqlalchemy import func, select

from subgraphs.core.cli import seed_demo
from subgraphs.core.context import RequestMeta
from subgraphs.courses import service
from subgraphs.courses.models import Course, Exercise, Lesson
from subgraphs.courses.seed import DEMO_COURSE_SLUG
from subgraphs.users.models import User
from tests.subgraphs.courses.queries import COURSE, result


async def test_seed_creates_the_published_demo_course_once(settings, courses_runtime, courses_gql, minter):
    await seed_demo(settings)
    await seed_demo(settings)  # idempotent
    async with courses_runtime.transaction() as session:
        rows = (await session.scalars(select(Course).where(Course.slug == DEMO_COURSE_SLUG))).all()
        assert len(rows) == 1 and rows[0].status == service.CourseStatus.PUBLISHED
        course = rows[0]
        assert (
            await session.scalar(
                select(func.count()).select_from(Lesson).where(Lesson.course_id == course.id)
            )
            == 2
        )
        assert (
            await session.scalar(
                select(func.count()).select_from(Exercise).where(Exercise.course_id == course.id)
            )
            == 1
        )
        instructor = await session.scalar(select(User.id).where(User.email == "instructor@coursegraph.dev"))
        student = await session.scalar(select(User.id).where(User.email == "student@coursegraph.dev"))
    assert course.instructor_id == instructor
    # The demo student (a member of Demo Academy) can enroll in it.
    caller = await minter.user("student")
    member_meta = RequestMeta(principal=caller.principal)
    await minter.add(course.organization_id, caller.id, "student")
    enrollment = await service.enroll(courses_runtime, member_meta, course_id=course.id)
    assert enrollment.status == "ACTIVE" and student is not None
    body = await courses_gql(COURSE, {"id": str(course.id)}, token=caller.token)
    assert result(body, "course")["exercises"][0]["title"] == "FizzBuzz"

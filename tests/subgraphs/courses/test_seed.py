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
    assert result(body, "course")["exercises"]["nodes"][0]["title"] == "FizzBuzz"


async def test_seed_scale_writes_consistent_benchmark_data_once(
    settings, courses_runtime, courses_gql, minter
):
    from subgraphs.core.cli import DEMO_PASSWORD, SCALE_STUDENT_EMAIL, seed_scale
    from subgraphs.quizzes.models import EnrollmentProjection, QuizAttempt
    from subgraphs.users.passwords import verify_password

    counts = await seed_scale(settings, courses=3, students=4, enrollments_per_student=2, attempts=10)
    assert counts == {"users": 9, "courses": 3, "enrollments": 8, "attempts": 10}
    assert await seed_scale(settings, courses=3, students=4, enrollments_per_student=2, attempts=10) == {}
    async with courses_runtime.transaction() as session:
        student = await session.scalar(select(User).where(User.email == SCALE_STUDENT_EMAIL.format(1)))
        assert student.email_verified and student.role == "student"
        projected = await session.scalar(
            select(func.count())
            .select_from(EnrollmentProjection)
            .where(EnrollmentProjection.user_id == student.id)
        )
        attempts = await session.scalar(
            select(func.count()).select_from(QuizAttempt).where(QuizAttempt.user_id == student.id)
        )
    assert projected == 2 and attempts >= 2
    assert (await verify_password(DEMO_PASSWORD, student.password_hash, settings.auth))[0]
    # The seeded student's own dashboard (a token for that user, as login would issue it).
    import uuid as _uuid

    from subgraphs.core.auth import SESSION_KEY
    from subgraphs.core.rbac import Role
    from subgraphs.users.tokens import issue_user_token

    session_id = _uuid.uuid4()
    token = issue_user_token(
        minter.keys,
        settings,
        user_id=student.id,
        role=Role.STUDENT,
        session_id=session_id,
        orgs=[],
        email_verified=True,
    )
    await courses_runtime.redis.set(SESSION_KEY.format(sid=session_id), str(student.id), ex=600)
    body = await courses_gql(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { enrollments { edges { node { "
        "course { title modules { nodes { lessons { nodes { title } } } } } } } } } } }",
        {"r": [{"__typename": "User", "id": str(student.id)}]},
        token=token,
    )
    edges = body["data"]["_entities"][0]["enrollments"]["edges"]
    modules = [e["node"]["course"]["modules"]["nodes"] for e in edges]
    assert len(edges) == 2 and all(len(m[0]["lessons"]["nodes"]) == 3 for m in modules)
    roles = await courses_runtime.redis.hgetall(f"authz:memberships:{student.id}")
    assert list(roles.values()) == [b"student"]

"""`coursegraph seed`: Demo Academy's courses, quiz, enrollments and progress, made once by the services."""

from __future__ import annotations

import uuid

from sqlalchemy import Table, func, select

from subgraphs.courses import models as courses
from subgraphs.courses.seed import DEMO_COURSE_SLUG
from subgraphs.organizations.models import Organization
from subgraphs.quizzes import models as quizzes
from subgraphs.tooling.seed_runner import seed_demo
from subgraphs.users.models import User


async def demo_counts(runtime, organization_id: uuid.UUID) -> dict[str, int]:
    """Rows of the demo organization in every table the demo seed writes, outbox events included."""
    org = str(organization_id)
    course_ids = select(courses.Course.id).where(courses.Course.organization_id == organization_id)
    quiz_ids = select(quizzes.Quiz.id).where(quizzes.Quiz.organization_id == organization_id)
    attempt_ids = select(quizzes.QuizAttempt.id).where(quizzes.QuizAttempt.organization_id == organization_id)
    enrollment_ids = select(courses.Enrollment.id).where(
        courses.Enrollment.organization_id == organization_id
    )

    def rows(table: Table, condition) -> object:  # noqa: ANN001
        return select(func.count()).select_from(table).where(condition)

    queries = {
        "courses": rows(courses.Course.__table__, courses.Course.organization_id == organization_id),
        "modules": rows(courses.Module.__table__, courses.Module.course_id.in_(course_ids)),
        "lessons": rows(courses.Lesson.__table__, courses.Lesson.course_id.in_(course_ids)),
        "exercises": rows(courses.Exercise.__table__, courses.Exercise.course_id.in_(course_ids)),
        "enrollments": rows(
            courses.Enrollment.__table__, courses.Enrollment.organization_id == organization_id
        ),
        "completions": rows(
            courses.LessonCompletion.__table__, courses.LessonCompletion.enrollment_id.in_(enrollment_ids)
        ),
        "quizzes": rows(quizzes.Quiz.__table__, quizzes.Quiz.organization_id == organization_id),
        "questions": rows(quizzes.Question.__table__, quizzes.Question.quiz_id.in_(quiz_ids)),
        "attempts": rows(
            quizzes.QuizAttempt.__table__, quizzes.QuizAttempt.organization_id == organization_id
        ),
        "answers": rows(quizzes.AttemptAnswer.__table__, quizzes.AttemptAnswer.attempt_id.in_(attempt_ids)),
        "courses events": rows(
            courses.Outbox.__table__, courses.Outbox.event["organization_id"].astext == org
        ),
        "quizzes events": rows(
            quizzes.Outbox.__table__, quizzes.Outbox.event["organization_id"].astext == org
        ),
    }
    async with runtime.transaction() as session:
        return {name: await session.scalar(query) for name, query in queries.items()}


async def test_seed_makes_the_demo_content_once_through_the_services(settings, courses_runtime):
    await seed_demo(settings)
    async with courses_runtime.transaction() as session:
        organization_id = await session.scalar(
            select(Organization.id).where(Organization.slug == "demo-academy")
        )
    first = await demo_counts(courses_runtime, organization_id)
    await seed_demo(settings)  # `make run` again: nothing twice
    assert await demo_counts(courses_runtime, organization_id) == first
    assert (
        first["courses"] == 3 and first["modules"] >= 5 and first["lessons"] >= 9 and first["exercises"] == 2
    )
    assert (
        first["quizzes"] == 1 and first["questions"] == 5 and first["attempts"] == 1 and first["answers"] == 5
    )
    # Made through the services: every step emitted its event (analytics, labs and quizzes follow them).
    assert first["courses events"] >= first["lessons"] + first["enrollments"] + first["completions"]
    assert first["quizzes events"] >= 1 + first["questions"] + 1 + first["answers"] + 1

    async with courses_runtime.transaction() as session:
        by_slug = {
            c.slug: c
            for c in await session.scalars(
                select(courses.Course).where(courses.Course.organization_id == organization_id)
            )
        }
        foundations = by_slug[DEMO_COURSE_SLUG]
        lessons = (
            await session.scalars(
                select(courses.Lesson.body).where(courses.Lesson.course_id == foundations.id)
            )
        ).all()
        exercise = await session.scalar(
            select(courses.Exercise).where(courses.Exercise.course_id == foundations.id)
        )
        people = dict((await session.execute(select(User.email, User.id))).all())
        student = people["student@coursegraph.dev"]
        enrollment = await session.scalar(
            select(courses.Enrollment).where(
                courses.Enrollment.course_id == foundations.id, courses.Enrollment.user_id == student
            )
        )
        quiz = await session.scalar(select(quizzes.Quiz).where(quizzes.Quiz.course_id == foundations.id))
        types = set(
            (
                await session.scalars(
                    select(quizzes.Question.type).where(quizzes.Question.quiz_id == quiz.id)
                )
            ).all()
        )
        attempt = await session.scalar(
            select(quizzes.QuizAttempt).where(quizzes.QuizAttempt.quiz_id == quiz.id)
        )
    statuses = sorted(c.status for c in by_slug.values())
    assert statuses == ["DRAFT", "PUBLISHED", "PUBLISHED"]
    assert foundations.instructor_id == people["instructor@coursegraph.dev"]
    assert by_slug["data-analysis-with-pandas"].instructor_id == people["instructor2@coursegraph.dev"]
    assert any("```python" in body for body in lessons) and all(body.startswith("# ") for body in lessons)
    assert any("\n- " in body for body in lessons) and any("\n1. " in body for body in lessons)
    assert exercise.ide == "VSCODE" and {f["path"] for f in exercise.starter_files} == {
        "fizzbuzz.py",
        "README.md",
    }
    assert enrollment.status == "ACTIVE" and 0 < enrollment.progress_percent < 100
    assert quiz.status == "PUBLISHED"
    assert types == {"SINGLE_CHOICE", "MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER", "NUMERIC"}
    assert attempt.user_id == student and attempt.submitted_at is not None
    assert (attempt.score, attempt.max_score, attempt.passed) == (7, 9, True)


async def test_seed_scale_writes_consistent_benchmark_data_once(
    settings, courses_runtime, courses_gql, minter
):
    from subgraphs.core.seeding import DEMO_PASSWORD, SCALE_STUDENT_EMAIL
    from subgraphs.quizzes.models import EnrollmentProjection, QuizAttempt
    from subgraphs.tooling.seed_runner import seed_scale
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

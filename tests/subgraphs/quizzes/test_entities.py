"""The `_entities` contract of the quizzes subgraph (who sees a quiz, an attempt, a user's attempts) and
N+1 guards on `Course.quizzes`, `User.quizAttempts` and the quiz questions."""

from __future__ import annotations

import re

import pytest

from subgraphs.quizzes import attempts as quiz_attempts
from subgraphs.quizzes import authoring
from tests.subgraphs.quizzes.factories import classroom
from tests.subgraphs.quizzes.queries import ENTITIES, reps

# How the exported SDL sizes a connection for the router's cost estimate (core/pagination.py).
SIZED = (
    '@listSize(slicingArguments: ["first"], sizedFields: ["edges", "nodes"], requireOneSlicingArgument: true)'
)


async def statements(counting, call) -> int:
    with counting() as counter:
        await call()
    return counter.count


async def test_sdl_declares_entities_and_contributed_fields(quizzes_gql):
    sdl = (await quizzes_gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for entity in ("Quiz", "QuizAttempt", "Course", "User"):
        assert re.search(rf'type {entity} @key\(fields: "id"\)', sdl), entity
    flat = " ".join(sdl.split())
    assert f"quizzes(first: Int! = 20, after: String = null): QuizConnection! {SIZED} @authenticated" in flat
    assert (
        f"quizAttempts(first: Int! = 20, after: String = null): QuizAttemptConnection! {SIZED} @authenticated"
        in flat
    )


@pytest.fixture
async def room(courses, projector, quizzes_runtime):
    # One attempt allowed: once it is submitted, the student sees the answers (AFTER_LAST_ATTEMPT).
    room = await classroom(courses, projector, quizzes_runtime, attempts_allowed=1)
    attempt = await quiz_attempts.start_attempt(
        quizzes_runtime, room.school.student.meta, quiz_id=room.quiz_id
    )
    await quiz_attempts.submit_attempt(quizzes_runtime, room.school.student.meta, attempt_id=attempt.id)
    room.attempt_id = attempt.id
    return room


async def visible(quizzes_gql, rep: dict, token: str | None) -> bool:
    body = await quizzes_gql(ENTITIES, rep, token=token)
    assert "errors" not in body, body
    return body["data"]["_entities"][0] is not None


async def test_entities_matrix(quizzes_gql, courses, room):
    other = await courses.school()
    site_admin = await courses.minter.user("site_admin")
    member = await courses.minter.member(room.school.org, "student")  # not enrolled: sees published quizzes
    callers = {
        "anonymous": None,
        "student": room.school.student.token,
        "member": member.token,
        "instructor": room.school.instructor.token,
        "org_admin": room.school.admin.token,
        "other_org_admin": other.admin.token,
        "site_admin": site_admin.token,
    }
    quiz = {name: await visible(quizzes_gql, reps("Quiz", room.quiz_id), t) for name, t in callers.items()}
    assert quiz == {
        "anonymous": False,
        "student": True,
        "member": True,
        "instructor": True,
        "org_admin": True,
        "other_org_admin": False,
        "site_admin": True,
    }
    attempt = {
        name: await visible(quizzes_gql, reps("QuizAttempt", room.attempt_id), t)
        for name, t in callers.items()
    }
    assert attempt == {
        "anonymous": False,
        "student": True,
        "member": False,
        "instructor": True,
        "org_admin": True,
        "other_org_admin": False,
        "site_admin": True,
    }
    attempts = {}
    for name, token in callers.items():
        body = await quizzes_gql(ENTITIES, reps("User", room.school.student.id), token=token)
        value = body["data"]["_entities"][0]
        attempts[name] = None if value is None else len(value["quizAttempts"]["edges"])
    assert attempts == {
        "anonymous": None,
        "student": 1,
        "member": 0,
        "instructor": 0,
        "org_admin": 0,
        "other_org_admin": 0,
        "site_admin": 1,
    }
    # Correct answers: authors always; the student after submitting; a member who has not, never.
    for token, revealed in (
        (room.school.instructor.token, True),
        (room.school.student.token, True),
        (member.token, False),
    ):
        body = await quizzes_gql(ENTITIES, reps("Quiz", room.quiz_id), token=token)
        answers = [q["correctAnswer"] for q in body["data"]["_entities"][0]["questions"]["nodes"]]
        assert all((a is not None) == revealed for a in answers), token


async def test_course_quizzes_and_user_attempts_do_not_grow(
    quizzes_gql, courses, projector, quizzes_runtime, quizzes_count_queries
):
    rooms = [await classroom(courses, projector, quizzes_runtime) for _ in range(5)]
    site_admin = await courses.minter.user("site_admin")
    for room in rooms:
        attempt = await quiz_attempts.start_attempt(
            quizzes_runtime, room.school.student.meta, quiz_id=room.quiz_id
        )
        await quiz_attempts.submit_attempt(quizzes_runtime, room.school.student.meta, attempt_id=attempt.id)

    async def course_quizzes(n: int) -> None:
        body = await quizzes_gql(
            ENTITIES, reps("Course", *(r.course_id for r in rooms[:n])), token=site_admin.token
        )
        assert [len(c["quizzes"]["nodes"][0]["questions"]["nodes"]) for c in body["data"]["_entities"]] == [
            5
        ] * n

    async def user_attempts(n: int) -> None:
        body = await quizzes_gql(
            ENTITIES, reps("User", *(r.school.student.id for r in rooms[:n])), token=site_admin.token
        )
        assert [len(u["quizAttempts"]["edges"]) for u in body["data"]["_entities"]] == [1] * n

    for call in (course_quizzes, user_attempts):
        one = await statements(quizzes_count_queries, lambda call=call: call(1))
        five = await statements(quizzes_count_queries, lambda call=call: call(5))
        assert one >= 1 and one == five, (call.__name__, one, five)


async def test_dashboard_quizzes_part_statements_do_not_grow_with_enrollments(
    quizzes_gql, courses, projector, quizzes_runtime, quizzes_count_queries
):
    """The quizzes half of the student dashboard (the router asks `_entities` of the student's courses for
    quizzes -> questions, my attempts) for 5 and for 50 enrolled courses: the same statements."""
    from subgraphs.courses.enrollment import enroll
    from tests.subgraphs.quizzes.factories import QUESTIONS

    school = await courses.school()
    made = []
    for i in range(50):
        course = await courses.course(school, title=f"Course {i}")
        await enroll(courses.runtime, school.student.meta, course_id=course.id)
        made.append(course.id)
    await projector.sync(
        courses={c: "PUBLISHED" for c in made}, enrollments={(c, school.student.id): "ACTIVE" for c in made}
    )
    for course_id in made:
        quiz = await authoring.create_quiz(
            quizzes_runtime,
            school.instructor.meta,
            course_id=course_id,
            title="Q",
            attempts_allowed=1,  # submitted once: the answers show (AFTER_LAST_ATTEMPT)
        )
        await authoring.create_question(
            quizzes_runtime, school.instructor.meta, quiz_id=quiz.id, spec=QUESTIONS[0]
        )
        await authoring.publish_quiz(quizzes_runtime, school.instructor.meta, id=quiz.id)
        attempt = await quiz_attempts.start_attempt(quizzes_runtime, school.student.meta, quiz_id=quiz.id)
        await quiz_attempts.submit_attempt(quizzes_runtime, school.student.meta, attempt_id=attempt.id)
    query = """query($representations: [_Any!]!) { _entities(representations: $representations) {
      ... on Course { quizzes(first: 100) { nodes { title questions(first: 100) { nodes { id correctAnswer {
        choices } } } myAttempts(first: 100) { nodes { score maxScore passed } } } } } } }"""
    seen = {}

    async def dashboard(n: int) -> None:
        body = await quizzes_gql(query, reps("Course", *made[:n]), token=school.student.token)
        assert "errors" not in body, body
        seen[n] = body["data"]["_entities"]

    five = await statements(quizzes_count_queries, lambda: dashboard(5))
    fifty = await statements(quizzes_count_queries, lambda: dashboard(50))
    quizzes = [c["quizzes"]["nodes"][0] for c in seen[50]]
    assert len(quizzes) == 50 and all(q["myAttempts"]["nodes"][0]["maxScore"] == 2.0 for q in quizzes)
    assert all(q["questions"]["nodes"][0]["correctAnswer"] == {"choices": [1]} for q in quizzes)
    assert five >= 1 and five == fifty, (five, fifty)

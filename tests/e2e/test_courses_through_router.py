"""Courses and quizzes end to end through the real router: an instructor builds and publishes a course
(module, lesson, exercise) and a quiz; a student of the organization enrolls, completes the lesson, takes
the quiz and sees score and progress on their dashboard (one query across users, courses and quizzes);
the instructor sees the attempt. The quizzes subgraph learns of the course and the enrollment only from
events (the worker's projection consumer), so those steps poll with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import token_from_mail
from tests.e2e.test_account_through_router import wait_for_mail
from tests.e2e.test_organizations_through_router import ACCEPT, CREATE, INVITE, verified_user

pytestmark = pytest.mark.e2e

ERR = "... on Error { code message }"


def m(name: str, input_type: str, success: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename ... on {success} {ERR} }} }}"
    )


CREATE_COURSE = m("createCourse", "CreateCourseInput", "CourseSuccess { course { id status } }")
CREATE_MODULE = m("createModule", "CreateModuleInput", "ModuleSuccess { module { id } }")
CREATE_LESSON = m("createLesson", "CreateLessonInput", "LessonSuccess { lesson { id } }")
CREATE_EXERCISE = m("createExercise", "CreateExerciseInput", "ExerciseSuccess { exercise { id } }")
PUBLISH = m("publishCourse", "CourseIdInput", "CourseSuccess { course { id status } }")
CREATE_QUIZ = m("createQuiz", "CreateQuizInput", "QuizSuccess { quiz { id } }")
CREATE_QUESTION = m("createQuestion", "CreateQuestionInput", "QuestionSuccess { question { id } }")
PUBLISH_QUIZ = m("publishQuiz", "QuizIdInput", "QuizSuccess { quiz { id status } }")
ENROLL = m("enroll", "EnrollInput", "EnrollmentSuccess { enrollment { id status } }")
COMPLETE = m(
    "completeLesson", "CompleteLessonInput", "EnrollmentSuccess { enrollment { progressPercent status } }"
)
START = m("startQuizAttempt", "StartQuizAttemptInput", "QuizAttemptSuccess { attempt { id } }")
SAVE = m("saveAnswer", "SaveAnswerInput", "SaveAnswerSuccess { answer { questionId } }")
SUBMIT = m(
    "submitQuizAttempt", "SubmitQuizAttemptInput", "QuizAttemptSuccess { attempt { score maxScore passed } }"
)
# `nodes` rather than `edges { node }` keeps the dashboard within the router's depth limit of 10.
DASHBOARD = """{ me { fullName enrollments(first: 50) { nodes { status progressPercent
  course { title instructor { fullName } modules { nodes { title lessons { nodes { title completed } } } }
    exercises { nodes { title } }
    quizzes { nodes { title questions { nodes { prompt correctAnswer { choices } } }
      myAttempts { nodes { score maxScore passed } } } } } } }
  quizAttempts(first: 10) { edges { node { score quiz { title } } } } } }"""
ATTEMPTS = """query($quiz: ID!) { quizAttempts(quizId: $quiz) { edges { node { score passed
  user { id fullName } } } } }"""


async def until(
    call: Callable[[], Awaitable[dict]], done: Callable[[dict], bool], timeout: float = 30
) -> dict:
    """Repeat `call` until `done(answer)` (the worker has projected what it needs), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await call()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, answer
        await asyncio.sleep(0.1)


async def member(router_gql, unique_email, admin_token: str, org_id: str, role: str, name: str) -> dict:
    email = unique_email(f"e2e-{role.lower()}")
    invited = await router_gql(
        INVITE, {"input": {"organizationId": org_id, "email": email, "role": role}}, token=admin_token
    )
    assert invited["data"]["inviteMember"]["__typename"] == "InviteMemberSuccess", invited
    invitation = token_from_mail(await wait_for_mail(email, "organization_invitation"))
    login = await verified_user(router_gql, email, name)
    accepted = await router_gql(ACCEPT, {"token": invitation}, token=login["accessToken"])
    assert accepted["data"]["acceptInvitation"]["membership"]["role"] == role, accepted
    return login


async def test_course_and_quiz_through_router(router_gql, unique_email):
    admin = await verified_user(router_gql, unique_email("e2e-owner"), "Olga Owner")
    created = await router_gql(
        CREATE,
        {"input": {"name": "Course Academy", "slug": f"ca-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    teacher = await member(router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Tia Teacher")
    student = await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Stu Student")
    t, s = teacher["accessToken"], student["accessToken"]

    async def run(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    course = (
        await run(
            CREATE_COURSE, "createCourse", t, organizationId=org, title="Graph Basics", slug="graph-basics"
        )
    )["course"]
    module = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="Nodes"))["module"]
    lesson = (
        await run(
            CREATE_LESSON, "createLesson", t, moduleId=module["id"], title="What is a node", body="# Nodes"
        )
    )["lesson"]
    await run(
        CREATE_EXERCISE, "createExercise", t, courseId=course["id"], title="Build a graph", language="python"
    )
    published = await run(PUBLISH, "publishCourse", t, id=course["id"])
    assert published["course"]["status"] == "PUBLISHED", published

    # The quizzes subgraph knows the course once the worker has projected its events.
    quiz = (
        await until(
            lambda: run(
                CREATE_QUIZ,
                "createQuiz",
                t,
                courseId=course["id"],
                title="Nodes quiz",
                passingScore=50,
                attemptsAllowed=1,  # once submitted, no attempt is left: the answers show
            ),
            lambda a: a["__typename"] == "QuizSuccess",
        )
    )["quiz"]
    question = {
        "type": "SINGLE_CHOICE",
        "prompt": "A node is a...",
        "options": ["vertex", "edge"],
        "correctChoices": [0],
    }
    q1 = (
        await run(CREATE_QUESTION, "createQuestion", t, quizId=quiz["id"], question={**question, "points": 3})
    )["question"]
    numeric = {"type": "NUMERIC", "prompt": "Edges of K3?", "correctNumber": 3, "points": 1}
    q2 = (await run(CREATE_QUESTION, "createQuestion", t, quizId=quiz["id"], question=numeric))["question"]
    assert (await run(PUBLISH_QUIZ, "publishQuiz", t, id=quiz["id"]))["quiz"]["status"] == "PUBLISHED"

    enrolled = await run(ENROLL, "enroll", s, courseId=course["id"])
    assert enrolled["enrollment"]["status"] == "ACTIVE", enrolled
    completed = await run(COMPLETE, "completeLesson", s, lessonId=lesson["id"])
    assert completed["enrollment"] == {"progressPercent": 100, "status": "COMPLETED"}

    attempt = (
        await until(
            lambda: run(START, "startQuizAttempt", s, quizId=quiz["id"]),
            lambda a: a["__typename"] == "QuizAttemptSuccess",
        )
    )["attempt"]
    await run(SAVE, "saveAnswer", s, attemptId=attempt["id"], questionId=q1["id"], answer={"choices": [0]})
    await run(SAVE, "saveAnswer", s, attemptId=attempt["id"], questionId=q2["id"], answer={"number": 4})
    scored = await run(SUBMIT, "submitQuizAttempt", s, attemptId=attempt["id"])
    assert scored["attempt"] == {"score": 3.0, "maxScore": 4.0, "passed": True}

    dashboard = await router_gql(DASHBOARD, token=s)
    assert "errors" not in dashboard, dashboard
    me = dashboard["data"]["me"]
    [enrollment] = me["enrollments"]["nodes"]
    assert (enrollment["status"], enrollment["progressPercent"]) == ("COMPLETED", 100)
    seen = enrollment["course"]
    assert seen["title"] == "Graph Basics" and seen["instructor"] == {"fullName": "Tia Teacher"}
    assert seen["modules"]["nodes"] == [
        {"title": "Nodes", "lessons": {"nodes": [{"title": "What is a node", "completed": True}]}}
    ]
    assert seen["exercises"]["nodes"] == [{"title": "Build a graph"}]
    [seen_quiz] = seen["quizzes"]["nodes"]
    assert seen_quiz["myAttempts"]["nodes"] == [{"score": 3.0, "maxScore": 4.0, "passed": True}]
    questions = seen_quiz["questions"]["nodes"]
    assert questions[0]["correctAnswer"] == {"choices": [0]}  # revealed: the only attempt is submitted
    assert me["quizAttempts"]["edges"] == [{"node": {"score": 3.0, "quiz": {"title": "Nodes quiz"}}}]

    view = await router_gql(ATTEMPTS, {"quiz": quiz["id"]}, token=t)
    assert "errors" not in view, view
    assert view["data"]["quizAttempts"]["edges"] == [
        {
            "node": {
                "score": 3.0,
                "passed": True,
                "user": {"id": student["user"]["id"], "fullName": "Stu Student"},
            }
        }
    ]
    # The student may not read the instructor view.
    refused = await router_gql(ATTEMPTS, {"quiz": quiz["id"]}, token=s)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused

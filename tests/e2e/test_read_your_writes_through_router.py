"""Read your writes across subgraphs, through the real router (issue 16): a client that finishes one
mutation and at once sends the next that depends on it succeeds, every time, although the second subgraph
learns of the first write only from events (docs/reliability.md). 100 pairs in a row of each kind, no
retry, no wait between the two calls:

- createCourse (courses) -> createQuiz (quizzes: its course projection)
- createLesson (courses) -> requestUpload for that lesson (content: its course and lesson projections)
- enroll (courses) -> startQuizAttempt (quizzes: its enrollment projection)
- enroll (courses) -> startLab (labs: its enrollment projection). Whether a lab can then run here (a
  template, the lab limits) is not what this test is about: the pair succeeds when labs accepts the
  enrollment, i.e. answers anything but "Enroll in the course first." or "No such exercise."
"""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.e2e.test_courses_through_router import (
    CREATE_COURSE,
    CREATE_EXERCISE,
    CREATE_LESSON,
    CREATE_MODULE,
    CREATE_QUESTION,
    CREATE_QUIZ,
    ENROLL,
    PUBLISH,
    PUBLISH_QUIZ,
    START,
    member,
)
from tests.e2e.test_labs import START as START_LAB
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.subgraphs.content.helpers import PDF, REQUEST_UPLOAD

PDF_SHA256 = hashlib.sha256(PDF).hexdigest()

pytestmark = pytest.mark.e2e

PAIRS = 100
ENROLLMENT_MISSES = {"NOT_ENROLLED", "NOT_FOUND"}


@pytest.mark.timeout(900)  # ~1,400 requests through the router
async def test_one_hundred_dependent_pairs_in_a_row_never_fail(router_gql, unique_email):
    admin = await verified_user(router_gql, unique_email("ryw-owner"), "Rita Owner")
    created = await router_gql(
        CREATE,
        {"input": {"name": "RYW Academy", "slug": f"ryw-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    t = (await member(router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Ian"))[
        "accessToken"
    ]
    quiz_taker = (await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Qi"))[
        "accessToken"
    ]
    lab_user = (await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Lu"))[
        "accessToken"
    ]

    async def call(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    failures: dict[str, list[dict]] = {
        "createQuiz": [],
        "requestUpload": [],
        "startQuizAttempt": [],
        "startLab": [],
    }
    gaps: list[float] = []
    question = {
        "type": "SINGLE_CHOICE",
        "prompt": "Pick one",
        "options": ["a", "b"],
        "correctChoices": [0],
        "points": 1,
    }
    started = time.monotonic()
    for n in range(PAIRS):
        course = (
            await call(CREATE_COURSE, "createCourse", t, organizationId=org, title=f"C{n}", slug=f"c-{n}")
        )["course"]
        before = time.monotonic()
        quiz = await call(CREATE_QUIZ, "createQuiz", t, courseId=course["id"], title=f"Q{n}")
        gaps.append(time.monotonic() - before)
        if quiz["__typename"] != "QuizSuccess":
            failures["createQuiz"].append(quiz)
            continue
        quiz_id = quiz["quiz"]["id"]
        module = (await call(CREATE_MODULE, "createModule", t, courseId=course["id"], title="M"))["module"]
        lesson = await call(CREATE_LESSON, "createLesson", t, moduleId=module["id"], title="L", body="x")
        upload = await call(
            REQUEST_UPLOAD,
            "requestUpload",
            t,
            name="notes.pdf",
            size=len(PDF),
            checksum=PDF_SHA256,
            courseId=course["id"],
            lessonId=lesson["lesson"]["id"],
        )
        if upload["__typename"] != "UploadTicket":
            failures["requestUpload"].append(upload)
        exercise = (
            await call(
                CREATE_EXERCISE, "createExercise", t, courseId=course["id"], title="E", language="python"
            )
        )["exercise"]
        assert (await call(PUBLISH, "publishCourse", t, id=course["id"]))["__typename"] == "CourseSuccess"
        await call(CREATE_QUESTION, "createQuestion", t, quizId=quiz_id, question=question)
        assert (await call(PUBLISH_QUIZ, "publishQuiz", t, id=quiz_id))["__typename"] == "QuizSuccess"

        enrolled = await call(ENROLL, "enroll", quiz_taker, courseId=course["id"])
        assert enrolled["__typename"] == "EnrollmentSuccess", enrolled
        attempt = await call(START, "startQuizAttempt", quiz_taker, quizId=quiz_id)
        if attempt["__typename"] != "QuizAttemptSuccess":
            failures["startQuizAttempt"].append(attempt)

        enrolled = await call(ENROLL, "enroll", lab_user, courseId=course["id"])
        assert enrolled["__typename"] == "EnrollmentSuccess", enrolled
        exercise_id = exercise["id"]
        body = await router_gql(START_LAB, {"input": {"exerciseId": exercise_id}}, token=lab_user)
        assert "errors" not in body, body
        lab = body["data"]["startLab"]
        if lab["__typename"] != "LabSessionSuccess" and lab.get("code") in ENROLLMENT_MISSES:
            failures["startLab"].append(lab)
    gaps.sort()
    print(
        f"\n{PAIRS} x 4 dependent pairs in {time.monotonic() - started:.1f} s; createQuiz right after "
        f"createCourse: median {gaps[len(gaps) // 2] * 1000:.0f} ms, max {gaps[-1] * 1000:.0f} ms"
    )
    assert failures == {"createQuiz": [], "requestUpload": [], "startQuizAttempt": [], "startLab": []}

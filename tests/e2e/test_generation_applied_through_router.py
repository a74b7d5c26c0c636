"""Applying generated drafts end to end through the real router: an instructor generates a syllabus for
their course, follows the job live to SUCCEEDED (generationJobEvents over WebSocket), applies it and sees
the new draft modules on the course once the worker has applied the event (polled with a deadline); the
job's `appliedCourse` (joined from the courses subgraph) is that course. The same for a quiz: applied, a
DRAFT quiz with the generated questions appears on the course (quizzes subgraph)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.test_courses_through_router import CREATE_COURSE, CREATE_MODULE
from tests.e2e.test_generation_through_router import APPLY, JobEvents, instructor_of_new_organization
from tests.fakes.anthropic_server import FakeAnthropic, Reply, syllabus_for
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

GENERATE_SYLLABUS = """mutation($input: GenerateSyllabusInput!) { generateSyllabus(input: $input) {
  __typename ... on GenerationJobSuccess { job { id status } } ... on Error { code message } } }"""
GENERATE_QUIZ = """mutation($input: GenerateQuizInput!) { generateQuiz(input: $input) {
  __typename ... on GenerationJobSuccess { job { id status } } ... on Error { code message } } }"""
JOB = """query($id: ID!) { generationJob(id: $id) { status appliedAt appliedCourse { id title }
  appliedQuiz { title status }
  result { __typename ... on Syllabus { modules { week title topics } }
    ... on QuizDraft { title questions { prompt } } } } }"""
COURSE = """query($id: ID!) { course(id: $id) { id
  modules(first: 100) { nodes { title published lessons { nodes { title published } } } }
  quizzes { nodes { title status questions(first: 100) { nodes { type prompt } } } } } }"""
QUIZ_DRAFT = {
    "title": "Graph check",
    "questions": [
        {
            "type": "MULTIPLE_CHOICE",
            "prompt": "Which is a node?",
            "options": ["A vertex", "A rope"],
            "correct_answers": ["A vertex"],
            "explanation": "Nodes are vertices.",
        },
        {"type": "TRUE_FALSE", "prompt": "Edges join nodes.", "correct_answers": ["true"]},
        {"type": "SHORT_ANSWER", "prompt": "Another word for node?", "correct_answers": ["vertex"]},
    ],
}


async def run(router_gql, document: str, field: str, token: str, **values: Any) -> dict:
    body = await router_gql(document, {"input": values}, token=token)
    assert "errors" not in body, body
    return body["data"][field]


async def follow_to_success(platform, token: str, job_id: str) -> None:
    ws_url = platform.router_url.replace("http", "ws") + "/graphql"
    last = None
    async with JobEvents(ws_url, token, job_id, after=None) as events:
        while (event := await events.next_event()) is not None:
            last = event
    assert last is not None and last["status"] == "SUCCEEDED", last


async def test_an_instructor_applies_a_syllabus_and_a_quiz_to_a_course(
    platform, router_gql, unique_email, fake_anthropic: FakeAnthropic
):
    org, instructor = await instructor_of_new_organization(router_gql, unique_email)
    token = instructor["accessToken"]
    stamp = int(time.time() * 1000)
    course = (
        await run(
            router_gql,
            CREATE_COURSE,
            "createCourse",
            token,
            organizationId=org,
            title="Graphs",
            slug=f"graphs-{stamp}",
        )
    )["course"]
    module = (
        await run(router_gql, CREATE_MODULE, "createModule", token, courseId=course["id"], title="Intro")
    )["module"]

    # A syllabus for the course: generated, followed live, applied, its weeks become draft modules.
    fake_anthropic.default = lambda body: syllabus_for(body)
    syllabus_input = {
        "organizationId": org,
        "courseId": course["id"],
        "title": f"Graphs {stamp}",
        "audience": "developers",
        "durationWeeks": 2,
    }

    async def syllabus_job() -> dict | None:
        # The generator learns the course from events.courses: NOT_FOUND until the worker relayed it.
        body = await router_gql(GENERATE_SYLLABUS, {"input": syllabus_input}, token=token)
        result = body["data"]["generateSyllabus"]
        assert result["__typename"] in ("GenerationJobSuccess", "NotFoundError"), body
        return result.get("job")

    job = await eventually(syllabus_job, timeout=30, what="the generator knowing the new course")
    await follow_to_success(platform, token, job["id"])
    applied = await router_gql(APPLY, {"id": job["id"]}, token=token)
    assert applied["data"]["applyGenerationResult"]["job"]["appliedAt"], applied
    syllabus = (await router_gql(JOB, {"id": job["id"]}, token=token))["data"]["generationJob"]["result"]

    async def modules() -> list | None:
        seen = (await router_gql(COURSE, {"id": course["id"]}, token=token))["data"]["course"]
        nodes = seen["modules"]["nodes"]
        return nodes if len(nodes) > 1 else None

    nodes = await eventually(modules, timeout=60, what="the syllabus's modules")
    # The model titled its modules "Week 1", "Week 2": no "Week 1: Week 1".
    assert [m["title"] for m in syllabus["modules"]] == ["Week 1", "Week 2"]
    assert [m["title"] for m in nodes] == ["Intro", "Week 1", "Week 2"]
    assert [[x["title"] for x in m["lessons"]["nodes"]] for m in nodes[1:]] == [
        m["topics"] for m in syllabus["modules"]
    ]
    # Applied content arrives as drafts (the instructor sees them; students will not until published).
    assert [m["published"] for m in nodes] == [True, False, False]
    assert all(not x["published"] for m in nodes[1:] for x in m["lessons"]["nodes"])
    job_view = (await router_gql(JOB, {"id": job["id"]}, token=token))["data"]["generationJob"]
    assert job_view["appliedCourse"] == {"id": course["id"], "title": "Graphs"}

    # A quiz for the module: applied, a DRAFT quiz with the generated questions appears on the course.
    fake_anthropic.default = lambda body: Reply.of_json(QUIZ_DRAFT)
    quiz_job = (
        await run(
            router_gql,
            GENERATE_QUIZ,
            "generateQuiz",
            token,
            organizationId=org,
            courseId=course["id"],
            moduleId=module["id"],
            courseTitle="Graphs",
            moduleTitle=f"Intro {stamp}",
            topics=["nodes", "edges"],
            questionCount=3,
            questionTypes=["MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER"],
        )
    )["job"]
    await follow_to_success(platform, token, quiz_job["id"])
    applied = await router_gql(APPLY, {"id": quiz_job["id"]}, token=token)
    assert applied["data"]["applyGenerationResult"]["job"]["appliedAt"], applied

    async def quizzes() -> list | None:
        seen = (await router_gql(COURSE, {"id": course["id"]}, token=token))["data"]["course"]
        return seen["quizzes"]["nodes"] or None

    [quiz] = await eventually(quizzes, timeout=60, what="the generated quiz")
    assert (quiz["title"], quiz["status"]) == ("Graph check", "DRAFT")
    quiz_view = (await router_gql(JOB, {"id": quiz_job["id"]}, token=token))["data"]["generationJob"]
    assert quiz_view["appliedQuiz"] == {"title": "Graph check", "status": "DRAFT"}
    assert job_view["appliedQuiz"] is None  # a syllabus job makes no quiz
    assert [(q["type"], q["prompt"]) for q in quiz["questions"]["nodes"]] == [
        ("MULTIPLE_CHOICE", "Which is a node?"),  # the requested type, though one option is correct
        ("TRUE_FALSE", "Edges join nodes."),
        ("SHORT_ANSWER", "Another word for node?"),
    ]

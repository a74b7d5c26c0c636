"""Issue 13 item 13: jobs only for live courses of the job's organization, learned from `events.courses`."""

from __future__ import annotations

import uuid

import pytest

from subgraphs.generator.models import CourseOwner
from tests.course_owners import announce_course
from tests.subgraphs.generator.helpers import GENERATE_QUIZ, GENERATE_SYLLABUS, syllabus_input

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def quiz_input(org: str, course: str) -> dict:
    return {
        "organizationId": org,
        "courseId": course,
        "moduleId": str(uuid.uuid4()),
        "courseTitle": "Rust",
        "moduleTitle": "Ownership",
        "topics": ["moves"],
        "questionCount": 2,
        "questionTypes": ["TRUE_FALSE"],
    }


async def outcomes(gen_gql, school, course: str) -> list[dict]:
    syllabus = await gen_gql(
        GENERATE_SYLLABUS,
        {"input": syllabus_input(school.org, f"T {uuid.uuid4().hex[:8]}", courseId=course)},
        token=school.instructor.token,
    )
    quiz = await gen_gql(
        GENERATE_QUIZ, {"input": quiz_input(school.org, course)}, token=school.instructor.token
    )
    return [syllabus["data"]["generateSyllabus"], quiz["data"]["generateQuiz"]]


async def test_unknown_course_is_not_found(gen_gql, school):
    for result in await outcomes(gen_gql, school, str(uuid.uuid4())):
        assert result["__typename"] == "NotFoundError" and result["code"] == "NOT_FOUND", result


async def test_another_organizations_course_is_not_found(gen_gql, gen_runtime, school):
    foreign = await announce_course(gen_runtime, CourseOwner, uuid.uuid4())
    for result in await outcomes(gen_gql, school, foreign):
        assert result["__typename"] == "NotFoundError", result


async def test_deleted_course_is_not_found(gen_gql, gen_runtime, school):
    course = await announce_course(gen_runtime, CourseOwner, school.org)
    assert [r["__typename"] for r in await outcomes(gen_gql, school, course)] == ["GenerationJobSuccess"] * 2
    await announce_course(gen_runtime, CourseOwner, school.org, course, verb="deleted")
    for result in await outcomes(gen_gql, school, course):
        assert result["__typename"] == "NotFoundError", result


async def test_a_syllabus_without_a_course_needs_no_course(gen_gql, school):
    body = await gen_gql(
        GENERATE_SYLLABUS,
        {"input": syllabus_input(school.org, f"T {uuid.uuid4().hex[:8]}")},
        token=school.instructor.token,
    )
    assert body["data"]["generateSyllabus"]["__typename"] == "GenerationJobSuccess", body

"""Who may do what with generation jobs (every operation × anonymous / student / instructor / other
instructor / organization admin / another organization's admin / site admin / API clients), the
`_entities` contract, the SDL's router directives, and N+1 guards."""

from __future__ import annotations

import re
import uuid

import pytest

from subgraphs.generator import running
from subgraphs.generator.models import CourseOwner
from subgraphs.generator.providers.offline import OfflineGenerator
from tests.course_owners import announce_course
from tests.subgraphs.generator.helpers import (
    CANCEL,
    ENTITIES,
    GENERATE_SYLLABUS,
    JOB,
    JOBS,
    syllabus_input,
)


async def _generate(gen_gql, token, org, title):
    body = await gen_gql(GENERATE_SYLLABUS, {"input": syllabus_input(org, title)}, token=token)
    return body


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("student", False),
        ("instructor", True),
        ("admin", True),
        ("outsider", False),
        ("site_admin", True),
        ("client_with_scope", True),
        ("client_without_scope", False),
        ("client_of_other_org", False),
    ],
)
async def test_generate_syllabus_needs_create_courses_in_the_organization(
    gen_gql, school, title, minter, who, allowed
):
    if who.startswith("client"):
        org = school.org if who != "client_of_other_org" else str(uuid.uuid4())
        scopes = ["create_courses"] if who != "client_without_scope" else ["view_courses"]
        token = (await minter.client(org, scopes)).token
    else:
        token = getattr(school, who).token
    result = (await _generate(gen_gql, token, school.org, title))["data"]["generateSyllabus"]
    if allowed:
        assert result["__typename"] == "GenerationJobSuccess" and result["job"]["status"] == "QUEUED"
    else:
        assert result["__typename"] == "ForbiddenError" and result["code"] == "FORBIDDEN"


async def test_anonymous_callers_get_nothing(gen_gql, school, title):
    body = await _generate(gen_gql, None, school.org, title)
    assert body["data"] is None or body["data"]["generateSyllabus"]["code"] == "UNAUTHENTICATED"
    assert (await gen_gql(JOB, {"id": str(uuid.uuid4())}))["errors"][0]["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    assert (await gen_gql(JOBS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_who_sees_a_job(gen_gql, school, title, minter):
    job = (await _generate(gen_gql, school.instructor.token, school.org, title))["data"]["generateSyllabus"][
        "job"
    ]
    # an API client's own job
    client = await minter.client(school.org, ["create_courses"])
    client_job = (await _generate(gen_gql, client.token, school.org, title + "x"))["data"][
        "generateSyllabus"
    ]["job"]
    assert client_job["requestedBy"] is None

    for who, sees in [
        ("instructor", True),
        ("instructor2", True),
        ("admin", True),
        ("site_admin", True),
        ("student", False),
        ("outsider", False),
    ]:
        caller = getattr(school, who)
        body = await gen_gql(JOB, {"id": job["id"]}, token=caller.token)
        if sees:
            assert body["data"]["generationJob"]["id"] == job["id"], who
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
        listed = await gen_gql(
            JOBS, {"filter": {"organizationId": school.org}, "first": 100}, token=caller.token
        )
        ids = {e["node"]["id"] for e in listed["data"]["generationJobs"]["edges"]}
        assert (job["id"] in ids) is sees, who
        assert (client_job["id"] in ids) is sees, who
    body = await gen_gql(JOB, {"id": str(uuid.uuid4())}, token=school.instructor.token)
    assert body["data"]["generationJob"] is None, "an unknown id is null"


async def test_entities_answer_one_per_representation_and_only_to_viewers(gen_gql, school, title):
    job = (await _generate(gen_gql, school.instructor.token, school.org, title))["data"]["generateSyllabus"][
        "job"
    ]
    representations = [
        {"__typename": "GenerationJob", "id": job["id"]},
        {"__typename": "GenerationJob", "id": str(uuid.uuid4())},
        {"__typename": "GenerationJob", "id": "not-a-uuid"},
    ]
    mine = await gen_gql(ENTITIES, {"representations": representations}, token=school.instructor2.token)
    assert [e and e["id"] for e in mine["data"]["_entities"]] == [job["id"], None, None]
    for caller in (school.student, school.outsider):
        other = await gen_gql(ENTITIES, {"representations": representations}, token=caller.token)
        assert other["data"]["_entities"] == [None, None, None]
    anonymous = await gen_gql(ENTITIES, {"representations": representations})
    assert anonymous["data"]["_entities"] == [None, None, None]


async def test_course_generation_jobs_are_filtered_by_viewer(gen_gql, gen_runtime, school, worker_runtime):
    course = await announce_course(gen_runtime, CourseOwner, school.org)
    body = await gen_gql(
        GENERATE_SYLLABUS,
        {"input": syllabus_input(school.org, f"T {uuid.uuid4().hex[:6]}", courseId=course)},
        token=school.instructor.token,
    )
    job = body["data"]["generateSyllabus"]["job"]
    await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"]))
    reps = {"representations": [{"__typename": "Course", "id": course}]}
    seen = await gen_gql(ENTITIES, reps, token=school.admin.token)
    assert seen["data"]["_entities"] == [
        {"id": course, "generationJobs": {"nodes": [{"id": job["id"], "status": "SUCCEEDED"}]}}
    ]
    hidden = await gen_gql(ENTITIES, reps, token=school.student.token)
    assert hidden["data"]["_entities"] == [{"id": course, "generationJobs": {"nodes": []}}]


async def test_subgraph_sdl_declares_entities_and_router_policies(gen_gql):
    sdl = (await gen_gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for entity in ("GenerationJob", "Course", "User", "Organization"):
        assert re.search(rf'type {entity} @key\(fields: "id"\)', sdl), entity
    flat = " ".join(sdl.split())
    assert re.search(
        r"generateSyllabus\(input: GenerateSyllabusInput!\): GenerateResult! @authenticated @policy", flat
    )
    assert '["scope:create_courses"]' in flat and '["scope:view_all_analytics"]' in flat
    assert re.search(
        r"generationJobEvents\(jobId: ID!, after: Int = null\): GenerationEvent! @authenticated", flat
    )


async def test_lists_do_not_grow_statements_with_items(
    gen_gql, gen_runtime, gen_count_queries, school, worker_runtime
):
    course = await announce_course(gen_runtime, CourseOwner, school.org)
    ids = []

    async def add(n):
        for _ in range(n):
            body = await gen_gql(
                GENERATE_SYLLABUS,
                {"input": syllabus_input(school.org, f"T {uuid.uuid4().hex[:8]}", courseId=course)},
                token=school.instructor.token,
            )
            ids.append(body["data"]["generateSyllabus"]["job"]["id"])
            await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(ids[-1]))

    async def statements(query, variables):
        with gen_count_queries() as counter:
            body = await gen_gql(query, variables, token=school.instructor2.token)
        assert "errors" not in body, body
        return counter.count, body

    jobs_vars = {"filter": {"organizationId": school.org}, "first": 50}

    def entity_vars():
        return {
            "representations": [{"__typename": "Course", "id": course}]
            + [{"__typename": "GenerationJob", "id": i} for i in ids]
        }

    await add(2)
    few_list, _ = await statements(JOBS, jobs_vars)
    few_entities, _ = await statements(ENTITIES, entity_vars())
    await add(4)
    many_list, body = await statements(JOBS, jobs_vars)
    many_entities, entities = await statements(ENTITIES, entity_vars())
    assert len(body["data"]["generationJobs"]["edges"]) >= 6
    assert len(entities["data"]["_entities"][0]["generationJobs"]["nodes"]) == 6
    assert many_list == few_list and many_entities == few_entities


async def test_cancel_by_another_tenant_is_refused(gen_gql, school, title):
    job = (await _generate(gen_gql, school.instructor.token, school.org, title))["data"]["generateSyllabus"][
        "job"
    ]
    body = await gen_gql(CANCEL, {"input": {"jobId": job["id"]}}, token=school.outsider.token)
    assert body["data"]["cancelGenerationJob"]["__typename"] == "ForbiddenError"
    missing = await gen_gql(CANCEL, {"input": {"jobId": str(uuid.uuid4())}}, token=school.instructor.token)
    assert missing["data"]["cancelGenerationJob"]["__typename"] == "NotFoundError"

"""importCourse on the content subgraph: who may import what, the job as its callers see it, and a refused
zip as a typed failure. The whole chain (courses and quizzes creating the course) is driven in
tests/contracts/test_event_contracts.py and end to end in tests/e2e/test_content_import_through_router.py."""

from __future__ import annotations

import io
import uuid
import zipfile

from subgraphs.content import exports, importing
from subgraphs.content.exports.document import CourseDocument, ExportFormat, Lesson, Module
from subgraphs.core.context import WorkerRuntime
from subgraphs.core.live import LiveHub
from tests.subgraphs.content.helpers import PDF, upload

IMPORT = """mutation($input: ImportCourseInput!) { importCourse(input: $input) { __typename
  ... on ImportJobSuccess { job { id status progress course { id } source { id } } }
  ... on ValidationError { fieldErrors { field message } } ... on Error { code message } } }"""
JOB = "query($id: ID!) { importJob(id: $id) { id status error errorCode progress } }"


def cartridge() -> bytes:
    lesson = Lesson(title="One", body_markdown="Text.")
    return exports.render(
        ExportFormat.COMMON_CARTRIDGE,
        CourseDocument(title="C", modules=(Module(title="M", lessons=(lesson,)),)),
    )


async def test_who_may_import_and_what(content_gql, content_http, school):
    token = school.instructor.token
    item = (
        await upload(content_gql, content_http, token, cartridge(), name="c.imscc", course=school.course)
    )["item"]
    pdf = (await upload(content_gql, content_http, token, PDF, course=school.course))["item"]

    async def run(item_id: str, caller) -> dict:
        return (await content_gql(IMPORT, {"input": {"contentItemId": item_id}}, token=caller.token))["data"][
            "importCourse"
        ]

    assert (await run(item["id"], school.student))["__typename"] == "ForbiddenError"
    assert (await run(item["id"], school.outsider))["__typename"] == "ForbiddenError"
    assert (await run(str(uuid.uuid4()), school.instructor))["__typename"] == "NotFoundError"
    not_zip = await run(pdf["id"], school.instructor)
    assert not_zip["__typename"] == "ValidationError"
    assert [e["field"] for e in not_zip["fieldErrors"]] == ["input.contentItemId"]

    started = await run(item["id"], school.instructor)
    assert started["__typename"] == "ImportJobSuccess", started
    job = started["job"]
    assert (
        job["status"] == "QUEUED"
        and job["source"]["id"] == item["id"]
        and job["course"]["id"] != school.course
    )
    seen = await content_gql(JOB, {"id": job["id"]}, token=school.admin.token)
    assert seen["data"]["importJob"]["status"] == "QUEUED"
    for caller in (school.student, school.outsider):
        assert (await content_gql(JOB, {"id": job["id"]}, token=caller.token))["data"]["importJob"] is None


async def test_an_unsafe_zip_fails_the_job_with_a_typed_code(
    content_gql, content_http, content_runtime, school, settings
):
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
        archive.writestr("/etc/cron.d/evil", "* * * * * root sh\n")
    token = school.instructor.token
    item = (
        await upload(content_gql, content_http, token, evil.getvalue(), name="e.imscc", course=school.course)
    )["item"]
    started = await content_gql(IMPORT, {"input": {"contentItemId": item["id"]}}, token=token)
    job_id = started["data"]["importCourse"]["job"]["id"]
    worker = WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )
    assert await importing.run_job(worker, uuid.UUID(job_id)) == importing.ImportStatus.FAILED
    assert await importing.run_job(worker, uuid.UUID(job_id)) is None  # finished: never run again
    job = (await content_gql(JOB, {"id": job_id}, token=token))["data"]["importJob"]
    assert job["status"] == "FAILED" and job["errorCode"] == "UNSAFE_ARCHIVE", job
    assert "refused" in job["error"]


async def test_a_cartridge_that_is_no_cartridge_is_invalid(
    content_gql, content_http, content_runtime, school, settings
):
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "just a zip")
    token = school.instructor.token
    item = (
        await upload(content_gql, content_http, token, plain.getvalue(), name="z.zip", course=school.course)
    )["item"]
    started = await content_gql(IMPORT, {"input": {"contentItemId": item["id"]}}, token=token)
    job_id = started["data"]["importCourse"]["job"]["id"]
    worker = WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )
    assert await importing.run_job(worker, uuid.UUID(job_id)) == importing.ImportStatus.FAILED
    job = (await content_gql(JOB, {"id": job_id}, token=token))["data"]["importJob"]
    assert job["errorCode"] == "INVALID_CARTRIDGE", job


async def test_files_past_the_quota_fail_the_import_and_are_not_kept(
    content_gql, content_http, content_runtime, school, settings
):
    from subgraphs.content import service
    from subgraphs.content.exports.document import Attachment
    from tests.subgraphs.content.helpers import set_quota

    big = PDF * 20
    lesson = Lesson(title="One", attachments=(Attachment("big.pdf", "application/pdf", big),))
    data = exports.render(
        ExportFormat.COMMON_CARTRIDGE,
        CourseDocument(title="C", modules=(Module(title="M", lessons=(lesson,)),)),
    )
    token = school.instructor.token
    item = (await upload(content_gql, content_http, token, data, name="q.imscc", course=school.course))[
        "item"
    ]
    async with content_runtime.transaction() as session:
        used = await service.used_bytes(session, uuid.UUID(school.org))
    await set_quota(content_runtime, school.org, used + len(big) // 2)
    started = await content_gql(IMPORT, {"input": {"contentItemId": item["id"]}}, token=token)
    job = started["data"]["importCourse"]["job"]
    worker = WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )
    assert await importing.run_job(worker, uuid.UUID(job["id"])) == importing.ImportStatus.FAILED
    seen = (await content_gql(JOB, {"id": job["id"]}, token=token))["data"]["importJob"]
    assert seen["errorCode"] == "QUOTA_EXCEEDED", seen
    async with content_runtime.transaction() as session:
        assert await service.used_bytes(session, uuid.UUID(school.org)) == used  # no file of it was kept

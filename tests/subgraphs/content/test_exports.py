"""Export jobs: exportCourse → the worker's run → the result stored as the course's EXPORT item (a new
version per export), progress events, cancel, failures, permissions, Course.exports.

The jobs run the real format writers (`subgraphs.content.exports.render`; each format has its own suite in
tests/subgraphs/content/exports/). The course is given by a stand-in reader here; reading it through the
router with a service token is tested end to end (tests/e2e/test_content_*).
"""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile

import pytest
from sqlalchemy import select

from subgraphs.content import exporting, exports
from subgraphs.content.course_reader import CourseUnreadable
from subgraphs.content.exports.document import CourseDocument, Lesson, Module
from subgraphs.content.models import ExportEvent
from subgraphs.core.context import WorkerRuntime
from subgraphs.core.live import LiveHub
from tests.subgraphs.content.helpers import CANCEL, COURSE_EXPORTS, EXPORT, JOB, PDF, local, upload


@pytest.fixture
def worker(content_runtime, settings):
    return WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )


def reader_of(title: str, lesson_id: str | None = None):
    async def read(runtime, job):
        attachments = {}
        if lesson_id:
            attachments = await exporting.lesson_attachments(runtime, [uuid.UUID(lesson_id)])
        files = tuple(attachments.get(uuid.UUID(lesson_id), ())) if lesson_id else ()
        lesson = Lesson(title="Reading", body_markdown="Read the notes.", attachments=files)
        return CourseDocument(title=title, modules=(Module(title="Module one", lessons=(lesson,)),))

    return read


async def _export(content_gql, token, course, fmt="COMMON_CARTRIDGE") -> dict:
    result = await content_gql(EXPORT, {"input": {"courseId": course, "format": fmt}}, token=token)
    return result["data"]["exportCourse"]


async def test_export_stores_a_versioned_item_and_reports_progress(
    content_gql, content_http, content_runtime, worker, school
):
    attached = await upload(
        content_gql, content_http, school.instructor.token, PDF, course=school.course, lesson=school.lesson
    )
    assert attached["__typename"] == "ContentItemSuccess"
    first = await _export(content_gql, school.instructor.token, school.course)
    assert first["__typename"] == "ExportJobSuccess" and first["job"]["status"] == "QUEUED", first
    job_id = first["job"]["id"]

    status = await exporting.run_job(
        worker, uuid.UUID(job_id), reader=reader_of("Rust Basics", school.lesson)
    )
    assert status == exporting.JobStatus.SUCCEEDED
    job = (await content_gql(JOB, {"id": job_id}, token=school.instructor.token))["data"]["exportJob"]
    assert job["status"] == "SUCCEEDED" and job["progress"] == 100 and job["error"] is None
    assert job["result"]["kind"] == "EXPORT" and job["result"]["name"] == "rust-basics.imscc"
    assert job["resultVersion"]["number"] == 1

    package = (await content_http.get(local(job["resultVersion"]["downloadUrl"]))).content
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = archive.read("imsmanifest.xml").decode()
        assert "Rust Basics" in manifest and "Module one" in manifest and "Reading" in manifest
        assert archive.read("lessons/L1_1/files/notes.pdf") == PDF  # the lesson's attachment is exported
    assert exports.read_common_cartridge(package).modules[0].lessons[0].body_markdown == "Read the notes."

    async with content_runtime.transaction() as session:
        steps = (
            await session.scalars(
                select(ExportEvent)
                .where(ExportEvent.stream_id == uuid.UUID(job_id))
                .order_by(ExportEvent.seq)
            )
        ).all()
    assert [s.data["progress"] for s in steps] == [0, 1, 10, 40, 80, 100]
    assert steps[-1].data["status"] == "SUCCEEDED"

    # Exporting again adds a version to the same item.
    second = await _export(content_gql, school.instructor.token, school.course)
    await exporting.run_job(worker, uuid.UUID(second["job"]["id"]), reader=reader_of("Rust Basics, revised"))
    again = (await content_gql(JOB, {"id": second["job"]["id"]}, token=school.instructor.token))["data"][
        "exportJob"
    ]
    assert again["result"]["id"] == job["result"]["id"]
    assert [v["number"] for v in again["result"]["versions"]["nodes"]] == [2, 1]

    listed = await content_gql(
        COURSE_EXPORTS,
        {"reps": [{"__typename": "Course", "id": school.course}]},
        token=school.instructor.token,
    )
    course = listed["data"]["_entities"][0]
    assert [j["id"] for j in course["exports"]["nodes"]] == [second["job"]["id"], job_id]
    assert "EXPORT" in {i["kind"] for i in course["contentItems"]["nodes"]}


async def test_students_see_no_exports(content_gql, worker, school):
    job = await _export(content_gql, school.instructor.token, school.course, "SCORM_2004")
    await exporting.run_job(worker, uuid.UUID(job["job"]["id"]), reader=reader_of("Private"))
    seen = await content_gql(
        COURSE_EXPORTS, {"reps": [{"__typename": "Course", "id": school.course}]}, token=school.student.token
    )
    course = seen["data"]["_entities"][0]
    assert course["exports"]["nodes"] == []
    assert "EXPORT" not in {i["kind"] for i in course["contentItems"]["nodes"]}
    assert (await content_gql(JOB, {"id": job["job"]["id"]}, token=school.student.token))["data"][
        "exportJob"
    ] is None


async def test_only_course_managers_export(content_gql, school):
    assert (await _export(content_gql, school.student.token, school.course))["__typename"] == "ForbiddenError"
    assert (await _export(content_gql, school.outsider.token, school.course))[
        "__typename"
    ] == "ForbiddenError"
    unknown = await _export(content_gql, school.instructor.token, str(uuid.uuid4()))
    assert unknown["__typename"] == "NotFoundError"


async def test_a_cancelled_job_does_not_run(content_gql, worker, school):
    job = await _export(content_gql, school.instructor.token, school.course, "PDF")
    cancelled = await content_gql(
        CANCEL, {"input": {"jobId": job["job"]["id"]}}, token=school.instructor.token
    )
    assert cancelled["data"]["cancelExportJob"]["job"]["status"] == "CANCELLED"
    assert await exporting.run_job(worker, uuid.UUID(job["job"]["id"]), reader=reader_of("X")) is None
    again = await content_gql(CANCEL, {"input": {"jobId": job["job"]["id"]}}, token=school.instructor.token)
    assert again["data"]["cancelExportJob"]["code"] == "JOB_FINISHED"


async def test_an_unreadable_course_fails_the_job_with_its_reason(content_gql, worker, school):
    job = await _export(content_gql, school.instructor.token, school.course, "PPTX")

    async def refused(runtime, job):
        raise CourseUnreadable("The course could not be read: Forbidden")

    assert (
        await exporting.run_job(worker, uuid.UUID(job["job"]["id"]), reader=refused)
        == exporting.JobStatus.FAILED
    )
    seen = (await content_gql(JOB, {"id": job["job"]["id"]}, token=school.instructor.token))["data"][
        "exportJob"
    ]
    assert seen["status"] == "FAILED" and "Forbidden" in seen["error"] and seen["result"] is None


async def test_a_job_whose_worker_died_is_requeued(content_gql, content_runtime, worker, school):
    job = await _export(content_gql, school.instructor.token, school.course, "SCORM_12")
    job_id = uuid.UUID(job["job"]["id"])
    claimed = await exporting.claim(worker, job_id)
    assert claimed is not None
    async with content_runtime.transaction() as session:
        row = await session.get(exporting.ExportJob, job_id)
        row.lease_expires_at = exporting.utcnow()
    assert job_id in await exporting.requeue_expired(worker)
    assert await exporting.run_job(worker, job_id, reader=reader_of("Again")) == exporting.JobStatus.SUCCEEDED


async def test_the_subscription_replays_after_a_seq_then_ends_with_the_job(
    content_gql, content_runtime, worker, school
):
    from subgraphs.content.schema import schema
    from subgraphs.core.context import Context

    job = await _export(content_gql, school.instructor.token, school.course, "PDF")
    query = (
        "subscription($id: ID!, $after: Int) { exportJobEvents(jobId: $id, after: $after) "
        "{ seq status progress } }"
    )

    async def collect(caller, after):
        context = Context(runtime=content_runtime, principal=caller.principal)
        stream = await schema.subscribe(
            query, variable_values={"id": job["job"]["id"], "after": after}, context_value=context
        )
        seen = []
        async for result in stream:
            assert not result.errors, result.errors
            seen.append(result.data["exportJobEvents"])
        return seen

    follower = asyncio.create_task(collect(school.admin, None))
    await exporting.run_job(worker, uuid.UUID(job["job"]["id"]), reader=reader_of("Live"))
    live = await asyncio.wait_for(follower, 15)
    assert [e["progress"] for e in live] == [0, 1, 10, 40, 80, 100] and live[-1]["status"] == "SUCCEEDED"
    later = await asyncio.wait_for(collect(school.instructor, 3), 15)
    assert [e["seq"] for e in later] == [e["seq"] for e in live if e["seq"] > 3]

    context = Context(runtime=content_runtime, principal=school.student.principal)
    refused = await schema.subscribe(query, variable_values={"id": job["job"]["id"]}, context_value=context)
    first = await refused.__anext__() if hasattr(refused, "__anext__") else refused
    assert first.errors and first.errors[0].extensions["code"] == "FORBIDDEN"

"""Course files end to end through the real router: an instructor attaches a PDF to a lesson (signed
upload URL on the router's origin, PUT through the router, completeUpload), a student of the organization
sees it on the lesson (`Lesson.attachments`, joined from courses and content) and downloads it with a
Range request; another organization's admin is refused everything. The content subgraph learns of the
course and the lesson only from events (the worker's projections), so the first upload polls."""

from __future__ import annotations

import hashlib
import io
import time
import urllib.parse
import uuid
import zipfile

import pytest

from subgraphs.content.course_reader import CourseUnreadable, read_course
from subgraphs.content.exports.document import Attachment
from subgraphs.core.settings import get_settings
from tests.e2e.test_courses_through_router import (
    CREATE_COURSE,
    CREATE_LESSON,
    CREATE_MODULE,
    PUBLISH,
    member,
    until,
)
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.subgraphs.content.helpers import COMPLETE_UPLOAD, PDF, REQUEST_UPLOAD

pytestmark = pytest.mark.e2e

LESSON_FILES = """query($id: ID!) { course(id: $id) { modules { nodes { lessons { nodes { id title
  attachments { nodes { id name mimeType size downloadUrl } } } } } } } }"""
ITEM = "query($id: ID!) { contentItem(id: $id) { id name downloadUrl } }"
AUDIT = """query($org: ID!) {
  auditLog(organizationId: $org, filter: {action: "content.item.downloaded"}, first: 5) {
    nodes { action actorId subjectIds } } }"""


def local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_attach_a_pdf_and_download_it_through_router(router_gql, router_http, unique_email, platform):
    admin = await verified_user(router_gql, unique_email("e2e-files"), "Fiona Files")
    created = await router_gql(
        CREATE,
        {"input": {"name": "Files Academy", "slug": f"fa-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    teacher = await member(router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Tom Teacher")
    student = await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Sue Student")
    stranger = await verified_user(router_gql, unique_email("e2e-stranger"), "Sam Stranger")
    await router_gql(
        CREATE,
        {"input": {"name": "Elsewhere", "slug": f"el-{int(time.time() * 1000)}"}},
        token=stranger["accessToken"],
    )
    t, s, x = teacher["accessToken"], student["accessToken"], stranger["accessToken"]

    async def run(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    course = (
        await run(CREATE_COURSE, "createCourse", t, organizationId=org, title="Files 101", slug="files-101")
    )["course"]
    module = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="Papers"))["module"]
    lesson = (
        await run(CREATE_LESSON, "createLesson", t, moduleId=module["id"], title="Reading", body="Read.")
    )["lesson"]
    assert (await run(PUBLISH, "publishCourse", t, id=course["id"]))["course"]["status"] == "PUBLISHED"

    announce = {
        "name": "reading.pdf",
        "size": len(PDF),
        "checksum": hashlib.sha256(PDF).hexdigest(),
        "courseId": course["id"],
        "lessonId": lesson["id"],
    }
    # Another organization's admin may not attach files to this course.
    refused = await run(REQUEST_UPLOAD, "requestUpload", x, **announce)
    assert refused["__typename"] == "ForbiddenError", refused
    ticket = await run(REQUEST_UPLOAD, "requestUpload", t, **announce)  # at once: read your writes
    assert ticket["__typename"] == "UploadTicket", ticket
    put = await router_http.put(local(ticket["url"]), content=PDF)
    assert put.status_code == 200, put.text
    done = await run(COMPLETE_UPLOAD, "completeUpload", t, uploadId=ticket["uploadId"])
    assert done["__typename"] == "ContentItemSuccess", done
    item_id = done["item"]["id"]

    # The student sees it on the lesson (courses' Lesson, content's attachments) and downloads it.
    body = await router_gql(LESSON_FILES, {"id": course["id"]}, token=s)
    assert "errors" not in body, body
    files = body["data"]["course"]["modules"]["nodes"][0]["lessons"]["nodes"][0]["attachments"]["nodes"]
    assert [(f["id"], f["mimeType"], f["size"]) for f in files] == [(item_id, "application/pdf", len(PDF))]
    url = local(files[0]["downloadUrl"])
    whole = await router_http.get(url)
    assert whole.status_code == 200 and whole.content == PDF
    assert whole.headers["content-disposition"].startswith("inline;")
    assert whole.headers["etag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
    part = await router_http.get(url, headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == PDF[:8]

    # Another organization's admin: no item, no lesson files, and a tampered link opens nothing.
    assert (await router_gql(ITEM, {"id": item_id}, token=x))["data"]["contentItem"] is None
    assert (await router_http.get(url.replace("signature=", "signature=x"))).status_code == 403

    # The download reached the organization's audit log (content.item.downloaded, through the outbox).
    audit = await until(
        lambda: router_gql(AUDIT, {"org": org}, token=admin["accessToken"]),
        lambda a: bool(a["data"]["auditLog"]["nodes"]),
    )
    entry = audit["data"]["auditLog"]["nodes"][0]
    assert entry["actorId"] == student["user"]["id"] and entry["subjectIds"]["item_id"] == item_id

    # What an export reads: the course through the router, with a service token of the users subgraph.
    document = await read_course(
        platform_settings(platform),
        course_id=uuid.UUID(course["id"]),
        organization_id=uuid.UUID(org),
        attachments=lambda ids: _attachments_of(ids, lesson["id"]),
    )
    assert document.title == "Files 101"
    assert [(m.title, [(le.title, le.body_markdown) for le in m.lessons]) for m in document.modules] == [
        ("Papers", [("Reading", "Read.")])
    ]
    assert document.modules[0].lessons[0].attachments[0].name == "seen"
    # A service token is bound to its organization: another organization's course is not readable with it.
    with pytest.raises(CourseUnreadable):
        await read_course(
            platform_settings(platform),
            course_id=uuid.UUID(course["id"]),
            organization_id=uuid.uuid4(),
            attachments=lambda ids: _attachments_of(ids, lesson["id"]),
        )


async def _attachments_of(lesson_ids: list[uuid.UUID], expected: str) -> dict:
    assert lesson_ids == [uuid.UUID(expected)]
    return {lesson_ids[0]: [Attachment(name="seen", mime_type="text/plain", data=b"x")]}


def platform_settings(platform):  # noqa: ANN201 - Settings
    """This process's settings pointed at the test platform (its router, its users subgraph)."""
    settings = get_settings()
    return settings.model_copy(
        update={
            "content": settings.content.model_copy(update={"router_url": platform.router_url}),
            "router": settings.router.model_copy(
                update={"subgraph_urls": {d: f"{u}/graphql" for d, u in platform.subgraph_urls.items()}}
            ),
        }
    )


EXPORT = """mutation($input: ExportCourseInput!) { exportCourse(input: $input) {
  __typename ... on ExportJobSuccess { job { id status } } ... on Error { code message } } }"""
EXPORT_JOB = """query($id: ID!) { exportJob(id: $id) { id status error
  result { id kind name } resultVersion { number mimeType downloadUrl } } }"""


async def test_export_a_course_as_scorm_and_download_it_through_router(router_gql, router_http, unique_email):
    admin = await verified_user(router_gql, unique_email("e2e-export"), "Ed Exporter")
    slug = f"ex-{int(time.time() * 1000)}"
    created = await router_gql(
        CREATE, {"input": {"name": "Export Academy", "slug": slug}}, token=admin["accessToken"]
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    teacher = await member(router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Eve Teacher")
    stranger = await verified_user(router_gql, unique_email("e2e-stranger"), "Sid Stranger")
    t, x = teacher["accessToken"], stranger["accessToken"]

    async def run(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    course = (
        await run(CREATE_COURSE, "createCourse", t, organizationId=org, title="Exported", slug="exported")
    )["course"]
    module = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="One"))["module"]
    await run(CREATE_LESSON, "createLesson", t, moduleId=module["id"], title="First lesson", body="# Hello")

    refused = await run(EXPORT, "exportCourse", x, courseId=course["id"], format="SCORM_2004")
    assert refused["__typename"] == "ForbiddenError", refused
    job = await run(EXPORT, "exportCourse", t, courseId=course["id"], format="SCORM_2004")
    assert job["__typename"] == "ExportJobSuccess", job
    done = await until(
        lambda: router_gql(EXPORT_JOB, {"id": job["job"]["id"]}, token=t),
        lambda a: a["data"]["exportJob"]["status"] in ("SUCCEEDED", "FAILED"),
        timeout=120,
    )
    finished = done["data"]["exportJob"]
    assert finished["status"] == "SUCCEEDED", finished
    package = await router_http.get(local(finished["resultVersion"]["downloadUrl"]))
    assert package.status_code == 200 and package.content[:2] == b"PK"
    assert package.headers["content-disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        assert "imsmanifest.xml" in archive.namelist()
    assert (await router_gql(EXPORT_JOB, {"id": job["job"]["id"]}, token=x))["data"]["exportJob"] is None

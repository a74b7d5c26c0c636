"""Course files end to end through the real router: an instructor attaches a PDF to a lesson (signed
upload URL on the router's origin, PUT through the router, completeUpload), a student of the organization
sees it on the lesson (`Lesson.attachments`, joined from courses and content) and downloads it with a
Range request; another organization's admin is refused everything. The content subgraph learns of the
course and the lesson only from events (the worker's projections), so the first upload polls."""

from __future__ import annotations

import hashlib
import time
import urllib.parse

import pytest

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


def local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_attach_a_pdf_and_download_it_through_router(router_gql, router_http, unique_email):
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
    ticket = await until(
        lambda: run(REQUEST_UPLOAD, "requestUpload", t, **announce),
        lambda a: a["__typename"] == "UploadTicket",
    )
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

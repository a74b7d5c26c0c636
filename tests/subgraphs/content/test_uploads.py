"""Upload → version → restore → download with Range; MIME sniffing; quota; identical bytes stored once."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from subgraphs.content import service
from subgraphs.content.models import Blob, Upload
from subgraphs.content.storage import staging_key
from tests.subgraphs.content.helpers import (
    COMPLETE_UPLOAD,
    ELF,
    ITEM,
    PDF,
    REQUEST_UPLOAD,
    RESTORE,
    local,
    outbox_events,
    set_quota,
    upload,
)


async def test_upload_version_restore_download_with_range(content_gql, content_http, content_runtime, school):
    first = await upload(
        content_gql, content_http, school.instructor.token, PDF, course=school.course, lesson=school.lesson
    )
    assert first["__typename"] == "ContentItemSuccess", first
    item = first["item"]
    assert item["mimeType"] == "application/pdf" and item["size"] == len(PDF)
    assert item["checksum"] == hashlib.sha256(PDF).hexdigest()
    assert item["lesson"] == {"id": school.lesson} and item["course"] == {"id": school.course}
    assert item["owner"] == {"id": school.instructor.id} and item["kind"] == "ATTACHMENT"

    second_bytes = PDF.replace(b"Catalog", b"Katalog")
    second = await upload(
        content_gql, content_http, school.instructor.token, second_bytes, name="notes-v2.pdf", item=item["id"]
    )
    assert second["__typename"] == "ContentItemSuccess", second
    assert second["item"]["currentVersion"]["number"] == 2 and second["item"]["name"] == "notes-v2.pdf"
    assert [v["number"] for v in second["item"]["versions"]["nodes"]] == [2, 1]

    v1 = second["item"]["versions"]["nodes"][1]["id"]
    restored = await content_gql(
        RESTORE, {"input": {"itemId": item["id"], "versionId": v1}}, token=school.instructor.token
    )
    restored_item = restored["data"]["restoreContentVersion"]["item"]
    assert restored_item["currentVersion"]["id"] == v1
    assert len(restored_item["versions"]["nodes"]) == 2  # restoring adds no version
    assert restored_item["checksum"] == hashlib.sha256(PDF).hexdigest()

    # The student of the organization downloads the (restored) current version through its signed URL.
    seen = (await content_gql(ITEM, {"id": item["id"]}, token=school.student.token))["data"]["contentItem"]
    url = local(seen["downloadUrl"])
    whole = await content_http.get(url)
    assert whole.status_code == 200 and whole.content == PDF
    assert whole.headers["etag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
    assert whole.headers["content-disposition"].startswith("inline;")
    assert whole.headers["accept-ranges"] == "bytes"

    part = await content_http.get(url, headers={"Range": "bytes=5-14"})
    assert part.status_code == 206 and part.content == PDF[5:15]
    assert part.headers["content-range"] == f"bytes 5-14/{len(PDF)}"
    tail = await content_http.get(url, headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == PDF[-4:]
    beyond = await content_http.get(url, headers={"Range": f"bytes={len(PDF)}-"})
    assert beyond.status_code == 416
    cached = await content_http.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""

    events = await outbox_events(content_runtime, item["id"], "content.item.downloaded")
    assert len(events) == 1  # the whole download; ranges after the start and revalidations are not new ones
    assert events[0]["actor_id"] == school.student.id
    assert events[0]["organization_id"] == school.org


async def test_identical_bytes_are_stored_once(content_gql, content_http, content_runtime, school):
    data = b"%PDF-1.7\n" + os.urandom(4096)
    a = await upload(content_gql, content_http, school.instructor.token, data, course=school.course)
    b = await upload(
        content_gql, content_http, school.admin.token, data, name="copy.pdf", course=school.course
    )
    assert a["__typename"] == b["__typename"] == "ContentItemSuccess"
    assert a["item"]["id"] != b["item"]["id"]
    sha = hashlib.sha256(data).hexdigest()
    async with content_runtime.transaction() as session:
        assert await session.scalar(select(func.count()).where(Blob.sha256 == sha)) == 1
    files = list((content_runtime.settings.data_dir / "content" / "objects").rglob(sha))
    assert len(files) == 1 and files[0].read_bytes() == data
    assert not list((content_runtime.settings.data_dir / "content" / "staging").glob("*"))


async def test_an_executable_renamed_pdf_is_refused(content_gql, content_http, school):
    result = await upload(
        content_gql, content_http, school.instructor.token, ELF, name="slides.pdf", course=school.course
    )
    assert result["__typename"] == "ValidationError", result
    assert result["fieldErrors"][0]["field"] == "file"
    assert "application/x-executable" in result["fieldErrors"][0]["message"]


async def test_html_is_refused(content_gql, content_http, school):
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    result = await upload(
        content_gql, content_http, school.instructor.token, page, name="a.txt", course=school.course
    )
    assert result["__typename"] == "ValidationError" and result["fieldErrors"][0]["field"] == "file"


async def test_a_wrong_checksum_is_refused(content_gql, content_http, school):
    result = await upload(
        content_gql, content_http, school.instructor.token, PDF, course=school.course, sha256="0" * 64
    )
    assert result["__typename"] == "ValidationError"
    assert result["fieldErrors"][0]["field"] == "input.checksum"


async def test_fewer_bytes_than_announced_are_refused(content_gql, content_http, school):
    result = await upload(
        content_gql, content_http, school.instructor.token, PDF, course=school.course, size=len(PDF) + 10
    )
    assert result["__typename"] == "ValidationError"
    assert result["fieldErrors"][0]["field"] == "input.size"


async def test_more_bytes_than_announced_are_refused_at_the_put(content_gql, content_http, school):
    result = await upload(
        content_gql, content_http, school.instructor.token, PDF, course=school.course, size=100
    )
    assert result["__typename"] == "PUT" and result["status"] == 413


async def test_bad_input_names_the_fields(content_gql, school):
    result = await content_gql(
        REQUEST_UPLOAD,
        {"input": {"name": "a/b", "size": 0, "checksum": "xyz", "courseId": school.course}},
        token=school.instructor.token,
    )
    fields = {e["field"] for e in result["data"]["requestUpload"]["fieldErrors"]}
    assert fields == {"input.name", "input.size", "input.checksum"}


async def test_the_organizations_quota_is_a_typed_error(content_gql, content_http, content_runtime, school):
    await set_quota(content_runtime, school.org, len(PDF) + 100)
    first = await upload(content_gql, content_http, school.instructor.token, PDF, course=school.course)
    assert first["__typename"] == "ContentItemSuccess"
    second = await upload(content_gql, content_http, school.instructor.token, PDF, course=school.course)
    assert second["__typename"] == "QuotaExceededError", second
    assert second["code"] == "QUOTA_EXCEEDED"
    assert second["quotaBytes"] == len(PDF) + 100 and second["usedBytes"] == len(PDF)
    await set_quota(content_runtime, school.org, None)  # back to the platform default
    third = await upload(content_gql, content_http, school.instructor.token, PDF, course=school.course)
    assert third["__typename"] == "ContentItemSuccess"


async def test_a_lesson_of_another_course_is_refused(content_gql, content_http, school):
    result = await upload(
        content_gql,
        content_http,
        school.instructor.token,
        PDF,
        course=school.draft_course,
        lesson=school.lesson,
    )
    assert result["__typename"] == "ValidationError"
    assert result["fieldErrors"][0]["field"] == "input.lessonId"


async def test_abandoned_uploads_and_their_staged_bytes_are_swept(
    content_gql, content_http, content_runtime, school
):
    data = b"%PDF-1.4\n" + os.urandom(100)
    ticket = (
        await content_gql(
            REQUEST_UPLOAD,
            {
                "input": {
                    "name": "left.pdf",
                    "size": len(data),
                    "checksum": hashlib.sha256(data).hexdigest(),
                    "courseId": school.course,
                }
            },
            token=school.instructor.token,
        )
    )["data"]["requestUpload"]
    assert (await content_http.put(local(ticket["url"]), content=data)).status_code == 200
    storage = service.storage_of(content_runtime)
    upload_id = uuid.UUID(ticket["uploadId"])
    async with content_runtime.transaction() as session:
        staged = (await session.get(Upload, upload_id)).staged_key
    assert staged.startswith(staging_key(upload_id)) and await storage.size(staged) == len(data)
    assert await service.sweep_uploads(content_runtime, older_than=timedelta(days=1)) >= 0
    assert await storage.size(staged) == len(data)  # not expired yet: kept
    async with content_runtime.transaction() as session:
        row = await session.get(Upload, upload_id)
        row.expires_at = row.expires_at - timedelta(days=2)
    assert await service.sweep_uploads(content_runtime, older_than=timedelta(days=1)) >= 1
    assert await storage.size(staged) is None
    async with content_runtime.transaction() as session:
        assert await session.get(Upload, upload_id) is None


async def test_a_second_put_replaces_the_first(content_gql, content_http, content_runtime, school):
    """Two PUTs to one upload URL: the last one counts, and the first one's staged bytes are gone."""
    data = b"%PDF-1.4\n" + os.urandom(200)
    ticket = (
        await content_gql(
            REQUEST_UPLOAD,
            {
                "input": {
                    "name": "twice.pdf",
                    "size": len(data),
                    "checksum": hashlib.sha256(data).hexdigest(),
                    "courseId": school.course,
                }
            },
            token=school.instructor.token,
        )
    )["data"]["requestUpload"]
    first = await content_http.put(local(ticket["url"]), content=b"%PDF-1.4\n" + os.urandom(200))
    assert first.status_code == 200
    async with content_runtime.transaction() as session:
        first_key = (await session.get(Upload, uuid.UUID(ticket["uploadId"]))).staged_key
    assert (await content_http.put(local(ticket["url"]), content=data)).status_code == 200
    assert await service.storage_of(content_runtime).size(first_key) is None
    done = await content_gql(
        COMPLETE_UPLOAD, {"input": {"uploadId": ticket["uploadId"]}}, token=school.instructor.token
    )
    assert done["data"]["completeUpload"]["item"]["checksum"] == hashlib.sha256(data).hexdigest()
    again = await content_http.put(local(ticket["url"]), content=data)
    assert again.status_code == 409 and again.json()["error"]["code"] == "UPLOAD_COMPLETED"

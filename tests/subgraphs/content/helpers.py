"""Queries and helpers of the content tests."""

from __future__ import annotations

import hashlib
import urllib.parse
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from subgraphs.content import service
from subgraphs.content.models import CourseOwner, Outbox
from subgraphs.core.events import Event
from tests.course_owners import announce_course as _announce_course

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500

ITEM_FIELDS = """
  id name kind mimeType size checksum downloadUrl createdAt owner { id } organization { id }
  course { id } lesson { id }
  currentVersion { id number size checksum mimeType downloadUrl }
  versions { nodes { id number checksum } }
"""

REQUEST_UPLOAD = """
mutation($input: RequestUploadInput!) {
  requestUpload(input: $input) {
    __typename
    ... on UploadTicket { uploadId url method expiresAt maxBytes }
    ... on Error { message code }
    ... on ValidationError { fieldErrors { field message } }
    ... on QuotaExceededError { quotaBytes usedBytes requestedBytes }
  }
}"""

COMPLETE_UPLOAD = """
mutation($input: CompleteUploadInput!) {
  completeUpload(input: $input) {
    __typename
    ... on ContentItemSuccess { item { %s } }
    ... on Error { message code }
    ... on ValidationError { fieldErrors { field message } }
  }
}""".replace("%s", ITEM_FIELDS)

RESTORE = """
mutation($input: RestoreContentVersionInput!) {
  restoreContentVersion(input: $input) {
    __typename ... on ContentItemSuccess { item { %s } } ... on Error { message code }
  }
}""".replace("%s", ITEM_FIELDS)

DELETE = """
mutation($input: DeleteContentItemInput!) {
  deleteContentItem(input: $input) {
    __typename ... on DeleteContentItemSuccess { itemId } ... on Error { message code }
  }
}"""

ITEM = "query($id: ID!) { contentItem(id: $id) { %s } }".replace("%s", ITEM_FIELDS)

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on ContentItem { id name downloadUrl }
    ... on Course { id contentItems { nodes { id } } }
    ... on Lesson { id attachments { nodes { id } } }
  }
}"""

EXPORT = """
mutation($input: ExportCourseInput!) {
  exportCourse(input: $input) {
    __typename ... on ExportJobSuccess { job { id status format progress course { id } } }
    ... on Error { code message }
  }
}"""
CANCEL = """
mutation($input: ExportJobIdInput!) {
  cancelExportJob(input: $input) {
    __typename ... on ExportJobSuccess { job { id status } } ... on Error { code }
  }
}"""
JOB = """query($id: ID!) { exportJob(id: $id) { id status progress error format
  result { id name kind mimeType downloadUrl versions { nodes { number } } }
  resultVersion { number downloadUrl } } }"""
COURSE_EXPORTS = """query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Course { exports { nodes { id status } } contentItems { nodes { id kind } } } } }"""


async def announce_course(runtime: Any, organization_id: Any, *, status: str = "PUBLISHED") -> str:
    return await _announce_course(runtime, CourseOwner, organization_id, status=status)


async def announce_lesson(runtime: Any, course_id: str, lesson_id: str, *, verb: str = "created") -> str:
    event = Event(type=f"courses.lesson.{verb}", subject_ids={"course_id": course_id, "lesson_id": lesson_id})
    async with runtime.transaction() as session:
        assert await service.record_lesson_event(session, event)
    return lesson_id


async def set_quota(runtime: Any, organization_id: str, quota: int | None) -> None:
    event = Event(
        type="organizations.organization.updated",
        organization_id=organization_id,
        payload={"after": {"settings": {"storage_quota_bytes": quota}}},
    )
    async with runtime.transaction() as session:
        assert await service.record_organization_event(session, event)


def local(url: str) -> str:
    """The path and query of a signed URL on the router's origin, to call the subgraph directly."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def upload(
    gql: Any,
    http: httpx.AsyncClient,
    token: str,
    data: bytes,
    *,
    name: str = "notes.pdf",
    course: str | None = None,
    lesson: str | None = None,
    item: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> dict[str, Any]:
    """requestUpload → PUT → completeUpload; returns completeUpload's result (or the first failure)."""
    ticket = (
        await gql(
            REQUEST_UPLOAD,
            {
                "input": {
                    "name": name,
                    "size": len(data) if size is None else size,
                    "checksum": sha256 or hashlib.sha256(data).hexdigest(),
                    "courseId": course,
                    "lessonId": lesson,
                    "itemId": item,
                }
            },
            token=token,
        )
    )["data"]["requestUpload"]
    if ticket["__typename"] != "UploadTicket":
        return ticket
    put = await http.put(local(ticket["url"]), content=data)
    if put.status_code != 200:
        return {"__typename": "PUT", "status": put.status_code, "body": put.json()}
    done = await gql(COMPLETE_UPLOAD, {"input": {"uploadId": ticket["uploadId"]}}, token=token)
    return done["data"]["completeUpload"]


async def outbox_events(runtime: Any, item_id: str, type_: str) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(Outbox.event).where(
                Outbox.type == type_, Outbox.event["subject_ids"]["item_id"].astext == str(item_id)
            )
        )
        return list(rows)


def new_id() -> str:
    return str(uuid.uuid4())

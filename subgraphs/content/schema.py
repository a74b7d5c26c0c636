"""Query and Mutation of the content subgraph. Resolvers stay thin: parse, call the service.

Bytes never travel through GraphQL: `requestUpload` returns a signed URL the client PUTs the file to,
`completeUpload` verifies it; `downloadUrl` fields are signed GET links (routes in app.py).
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator

import strawberry

from subgraphs.content import exporting, importing, service
from subgraphs.content.errors import CONTENT_ERRORS
from subgraphs.content.exports.document import ExportFormat
from subgraphs.content.models import ExportEvent as ExportEventRow
from subgraphs.content.types import (
    CancelExportJobResult,
    CompleteUploadInput,
    CompleteUploadResult,
    ContentItem,
    ContentItemResult,
    ContentItemSuccess,
    Course,
    DeleteContentItemInput,
    DeleteContentItemResult,
    DeleteContentItemSuccess,
    ExportCourseInput,
    ExportCourseResult,
    ExportEvent,
    ExportJob,
    ExportJobIdInput,
    ExportJobSuccess,
    ImportCourseInput,
    ImportCourseResult,
    ImportJob,
    ImportJobSuccess,
    Lesson,
    Organization,
    RequestUploadInput,
    RequestUploadResult,
    RestoreContentVersionInput,
    UploadTicket,
    User,
)
from subgraphs.core.errors import InvalidInput
from subgraphs.core.federation import lookup
from subgraphs.core.ids import parse_id, parse_optional_id, to_id
from subgraphs.core.live import JobEvents, job_event
from subgraphs.core.rbac import Permission, member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    authenticated_subscription,
    call_service,
)
from subgraphs.core.schema import build_schema

VIEW = member_or_scope_policy(Permission.VIEW_COURSES)
MANAGE = member_or_scope_policy(Permission.UPDATE_COURSES)

EXPORT_EVENTS = JobEvents(
    model=ExportEventRow,
    channel=exporting.channel,
    terminal=exporting.TERMINAL,
    visible=exporting.visible_job,
    can_view=exporting.can_view,
)


def _size(value: float) -> int:
    if not math.isfinite(value) or value != int(value):
        raise InvalidInput({"input.size": "A whole number of bytes."})
    return int(value)


@strawberry.type
class Query:
    @authenticated_field(policy=VIEW, description="One content item you may see (null otherwise).")
    async def content_item(self, info: strawberry.Info, id: strawberry.ID) -> ContentItem | None:
        return await lookup(info, ContentItem, id)

    @authenticated_field(policy=MANAGE, description="One export job you may see (null otherwise).")
    async def export_job(self, info: strawberry.Info, id: strawberry.ID) -> ExportJob | None:
        return await lookup(info, ExportJob, id)

    @authenticated_field(
        policy=MANAGE, description="One import job you may see (null otherwise): poll it until it ends."
    )
    async def import_job(self, info: strawberry.Info, id: strawberry.ID) -> ImportJob | None:
        return await lookup(info, ImportJob, id)


@strawberry.type
class Mutation:
    @authenticated_mutation(
        policy=MANAGE,
        description="Open a signed upload for one file (a new item, or a new version of one). The "
        "organization's storage quota is checked here and again on completion.",
    )
    async def request_upload(self, info: strawberry.Info, input: RequestUploadInput) -> RequestUploadResult:
        upload = await call_service(
            info,
            service.request_upload,
            service.UploadRequest(
                name=input.name,
                size=_size(input.size),
                sha256=input.checksum,
                course_id=parse_optional_id(input.course_id, "input.courseId"),
                lesson_id=parse_optional_id(input.lesson_id, "input.lessonId"),
                item_id=parse_optional_id(input.item_id, "input.itemId"),
            ),
        )
        return UploadTicket(
            upload_id=to_id(upload.id),
            url=service.upload_url(info.context.runtime, upload),
            method="PUT",
            expires_at=upload.expires_at,
            max_bytes=upload.size,
        )

    @authenticated_mutation(
        policy=MANAGE,
        description="Verify the uploaded bytes (size, SHA-256, type sniffed from the bytes against the "
        "allow-list) and add them as the item's new current version.",
    )
    async def complete_upload(
        self, info: strawberry.Info, input: CompleteUploadInput
    ) -> CompleteUploadResult:
        item = await call_service(info, service.complete_upload, parse_id(input.upload_id, "input.uploadId"))
        return ContentItemSuccess(item=ContentItem.from_model(item))

    @authenticated_mutation(
        policy=MANAGE,
        description="Make an earlier version current again (no bytes are copied, no version is added).",
    )
    async def restore_content_version(
        self, info: strawberry.Info, input: RestoreContentVersionInput
    ) -> ContentItemResult:
        item = await call_service(
            info,
            service.restore_version,
            parse_id(input.item_id, "input.itemId"),
            parse_id(input.version_id, "input.versionId"),
        )
        return ContentItemSuccess(item=ContentItem.from_model(item))

    @authenticated_mutation(
        policy=MANAGE,
        description="Delete an item: it disappears and its download links stop working at once.",
    )
    async def delete_content_item(
        self, info: strawberry.Info, input: DeleteContentItemInput
    ) -> DeleteContentItemResult:
        item = await call_service(info, service.delete_item, parse_id(input.item_id, "input.itemId"))
        return DeleteContentItemSuccess(item_id=to_id(item.id))

    @authenticated_mutation(
        policy=MANAGE,
        description="Export a course (PDF, PPTX, SCORM 1.2, SCORM 2004, Common Cartridge). A worker runs "
        "the job (follow it with exportJobEvents); the file becomes the course's export item of that format, "
        "a new version each time.",
    )
    async def export_course(self, info: strawberry.Info, input: ExportCourseInput) -> ExportCourseResult:
        course_id = parse_id(input.course_id, "input.courseId")
        job = await call_service(info, exporting.submit, course_id=course_id, fmt=ExportFormat(input.format))
        return ExportJobSuccess(job=ExportJob.from_model(job))

    @authenticated_mutation(
        policy=MANAGE,
        description="Import an uploaded IMS Common Cartridge (from this platform, Canvas, Moodle, ...) as a "
        "new DRAFT course of the file's organization with you as its instructor: modules, lessons, their "
        "files, exercises and quizzes. Workers run it: poll importJob. An unsafe or unreadable zip fails the "
        "job with its errorCode.",
    )
    async def import_course(self, info: strawberry.Info, input: ImportCourseInput) -> ImportCourseResult:
        item_id = parse_id(input.content_item_id, "input.contentItemId")
        job = await call_service(info, importing.submit, item_id=item_id)
        return ImportJobSuccess(job=ImportJob.from_model(job))

    @authenticated_mutation(
        policy=MANAGE, description="Stop a queued or running export (the requester or the course's managers)."
    )
    async def cancel_export_job(
        self, info: strawberry.Info, input: ExportJobIdInput
    ) -> CancelExportJobResult:
        job = await call_service(info, exporting.cancel, parse_id(input.job_id, "input.jobId"))
        return ExportJobSuccess(job=ExportJob.from_model(job))


@strawberry.type
class Subscription:
    @authenticated_subscription(
        description="An export's progress: events after `after` (the last `seq` you saw) are replayed, then "
        "followed live until the job ends. Reconnecting with `after` misses nothing and repeats nothing.",
    )
    async def export_job_events(
        self, info: strawberry.Info, job_id: strawberry.ID, after: int | None = None
    ) -> AsyncGenerator[ExportEvent, None]:
        async for message in EXPORT_EVENTS.follow(info.context, parse_id(job_id, "jobId"), after=after):
            yield job_event(ExportEvent, message, exporting.JobStatus)


schema = build_schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Organization, Course, Lesson, ContentItem, ExportJob, ImportJob],
    errors=CONTENT_ERRORS,
)

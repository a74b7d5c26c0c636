"""Query and Mutation of the content subgraph. Resolvers stay thin: parse, call the service.

Bytes never travel through GraphQL: `requestUpload` returns a signed URL the client PUTs the file to,
`completeUpload` verifies it; `downloadUrl` fields are signed GET links (routes in app.py).
"""

from __future__ import annotations

import math

import strawberry

from subgraphs.content import service
from subgraphs.content.errors import CONTENT_ERRORS
from subgraphs.content.types import (
    CompleteUploadInput,
    CompleteUploadResult,
    ContentItem,
    ContentItemResult,
    ContentItemSuccess,
    Course,
    DeleteContentItemInput,
    DeleteContentItemResult,
    DeleteContentItemSuccess,
    Lesson,
    Organization,
    RequestUploadInput,
    RequestUploadResult,
    RestoreContentVersionInput,
    UploadTicket,
    User,
)
from subgraphs.core.errors import InvalidInput
from subgraphs.core.ids import parse_id, parse_optional_id, to_id
from subgraphs.core.rbac import Permission, member_or_scope_policy
from subgraphs.core.schema import build_schema

VIEW = member_or_scope_policy(Permission.VIEW_COURSES)
MANAGE = member_or_scope_policy(Permission.UPDATE_COURSES)


def _size(value: float) -> int:
    if not math.isfinite(value) or value != int(value):
        raise InvalidInput({"input.size": "A whole number of bytes."})
    return int(value)


@strawberry.type
class Query:
    @strawberry.federation.field(
        authenticated=True,
        policy=VIEW,
        description="One content item you may see (null otherwise).",
    )
    async def content_item(self, info: strawberry.Info, id: strawberry.ID) -> ContentItem | None:
        return await ContentItem.resolve_reference(info, strawberry.ID(str(parse_id(id, "id"))))


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        authenticated=True,
        policy=MANAGE,
        description="Open a signed upload for one file (a new item, or a new version of one). The "
        "organization's storage quota is checked here and again on completion.",
    )
    async def request_upload(self, info: strawberry.Info, input: RequestUploadInput) -> RequestUploadResult:  # type: ignore[valid-type]
        runtime = info.context.runtime
        upload = await service.request_upload(
            runtime,
            info.context.meta,
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
            url=service.upload_url(runtime, upload),
            method="PUT",
            expires_at=upload.expires_at,
            max_bytes=upload.size,
        )

    @strawberry.federation.mutation(
        authenticated=True,
        policy=MANAGE,
        description="Verify the uploaded bytes (size, SHA-256, type sniffed from the bytes against the "
        "allow-list) and add them as the item's new current version.",
    )
    async def complete_upload(
        self, info: strawberry.Info, input: CompleteUploadInput
    ) -> CompleteUploadResult:  # type: ignore[valid-type]
        item = await service.complete_upload(
            info.context.runtime, info.context.meta, parse_id(input.upload_id, "input.uploadId")
        )
        return ContentItemSuccess(item=ContentItem.from_model(item))

    @strawberry.federation.mutation(
        authenticated=True,
        policy=MANAGE,
        description="Make an earlier version current again (no bytes are copied, no version is added).",
    )
    async def restore_content_version(
        self, info: strawberry.Info, input: RestoreContentVersionInput
    ) -> ContentItemResult:  # type: ignore[valid-type]
        item = await service.restore_version(
            info.context.runtime,
            info.context.meta,
            parse_id(input.item_id, "input.itemId"),
            parse_id(input.version_id, "input.versionId"),
        )
        return ContentItemSuccess(item=ContentItem.from_model(item))

    @strawberry.federation.mutation(
        authenticated=True,
        policy=MANAGE,
        description="Delete an item: it disappears and its download links stop working at once.",
    )
    async def delete_content_item(
        self, info: strawberry.Info, input: DeleteContentItemInput
    ) -> DeleteContentItemResult:  # type: ignore[valid-type]
        item = await service.delete_item(
            info.context.runtime, info.context.meta, parse_id(input.item_id, "input.itemId")
        )
        return DeleteContentItemSuccess(item_id=to_id(item.id))


schema = build_schema(
    query=Query,
    mutation=Mutation,
    types=[User, Organization, Course, Lesson, ContentItem],
    errors=CONTENT_ERRORS,
)

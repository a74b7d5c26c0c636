"""GraphQL types of the content subgraph."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from subgraphs.content import exporting, importing, models, service
from subgraphs.content.errors import QuotaExceededError
from subgraphs.content.exports.document import ExportFormat
from subgraphs.core.entities import from_row
from subgraphs.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from subgraphs.core.federation import COURSE, Stub, for_caller, owned_reference, stub
from subgraphs.core.federation import OrganizationStub as Organization
from subgraphs.core.federation import UserStub as User
from subgraphs.core.ids import to_id
from subgraphs.core.pages import connection_field, page_connection, stub_connection, stub_connection_field
from subgraphs.core.pagination import Connection
from subgraphs.core.shared_results import shared_projection

# strawberry.enum makes the domain's enum itself the GraphQL enum: fields are annotated with the domain's.
strawberry.enum(service.ItemKind, name="ContentItemKind")


@stub(COURSE)
class Course(Stub):
    @stub_connection_field(
        "Files of this course you may see (its lessons' attachments included), oldest first: "
        "all of them for those who manage its organization's courses, the attachments of a published course "
        "for its organization's members."
    )
    async def content_items(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[ContentItem]:
        return await stub_connection(
            info, info.context.loaders.items_page_by_course_id, self.id, first, after, ContentItem.from_model
        )

    @stub_connection_field(
        "Export jobs of this course you may see (yours; all of them if you manage its "
        "organization's courses), newest first."
    )
    async def exports(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[ExportJob]:
        return await stub_connection(
            info, info.context.loaders.exports_page_by_course_id, self.id, first, after, ExportJob.from_model
        )


@stub("A lesson (the courses subgraph owns it).")
class Lesson(Stub):
    @stub_connection_field("Files attached to this lesson that you may see, oldest first.")
    async def attachments(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[ContentItem]:
        return await stub_connection(
            info, info.context.loaders.items_page_by_lesson_id, self.id, first, after, ContentItem.from_model
        )


async def _sees_item(info: strawberry.Info, item: models.ContentItem) -> bool:
    """Only those who may see the item (as its course's status allows)."""
    course = await info.context.loaders.course_owner_by_id.load(item.course_id)
    return await service.can_view(info.context.caller, item, course.status if course else None)


@strawberry.type(description="One upload of bytes to an item. Bytes are shared between identical versions.")
class ContentVersion:
    id: strawberry.ID
    number: int = strawberry.field(description="1 for the first upload, then 2, 3, ...")
    size: float = strawberry.field(description="Bytes (a Float: files pass 2^31 bytes).")
    checksum: str = strawberry.field(description="SHA-256 of the bytes, hexadecimal.")
    mime_type: str = strawberry.field(description="Sniffed from the bytes, never taken from the name.")
    created_at: datetime
    created_by: User
    _row: strawberry.Private[models.ContentVersion]
    _item: strawberry.Private[models.ContentItem]

    @strawberry.field(description="A short-lived signed link to these bytes, on the router's origin.")
    def download_url(self, info: strawberry.Info) -> str:
        return service.download_url(info.context.runtime, info.context.meta, self._item, self._row)

    @classmethod
    def from_model(cls, row: models.ContentVersion, item: models.ContentItem) -> ContentVersion:
        return from_row(
            cls, row, checksum=row.sha256, created_by=User(id=strawberry.ID(row.created_by)), _item=item
        )


@strawberry.federation.type(keys=["id"], description="A file of a course or lesson, with its versions.")
class ContentItem:
    id: strawberry.ID
    name: str
    kind: service.ItemKind
    owner: User = strawberry.field(description="Who created it (an API client's id when one did).")
    organization: Organization
    course: Course
    lesson: Lesson | None
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.ContentItem]

    async def _current(self, info: strawberry.Info) -> models.ContentVersion | None:
        if self._row.current_version_id is None:
            return None
        return await info.context.loaders.version_by_id.load(self._row.current_version_id)

    @strawberry.field(description="The version downloads serve (the latest upload, or a restored one).")
    async def current_version(self, info: strawberry.Info) -> ContentVersion | None:
        row = await self._current(info)
        return ContentVersion.from_model(row, self._row) if row else None

    @strawberry.field(description="The current version's MIME type, sniffed from its bytes.")
    async def mime_type(self, info: strawberry.Info) -> str | None:
        row = await self._current(info)
        return row.mime_type if row else None

    @strawberry.field(description="The current version's size in bytes.")
    async def size(self, info: strawberry.Info) -> float | None:
        row = await self._current(info)
        return row.size if row else None

    @strawberry.field(description="The current version's SHA-256.")
    async def checksum(self, info: strawberry.Info) -> str | None:
        row = await self._current(info)
        return row.sha256 if row else None

    @strawberry.field(description="A short-lived signed link to the current version, on the router's origin.")
    async def download_url(self, info: strawberry.Info) -> str | None:
        row = await self._current(info)
        return service.download_url(info.context.runtime, info.context.meta, self._row, row) if row else None

    @connection_field("Every version, newest first.")
    async def versions(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[ContentVersion]:
        return await page_connection(
            info.context.loaders.versions_page_by_item_id,
            self._row.id,
            first,
            after,
            lambda row: ContentVersion.from_model(row, self._row),
        )

    @classmethod
    def from_model(cls, row: models.ContentItem) -> ContentItem:
        return from_row(
            cls,
            row,
            kind=service.ItemKind(row.kind),
            owner=User(id=strawberry.ID(row.owner_id)),
            organization=Organization(id=to_id(row.organization_id)),
            course=Course(id=to_id(row.course_id)),
            lesson=Lesson(id=to_id(row.lesson_id)) if row.lesson_id else None,
        )

    resolve_reference = owned_reference("item_by_id", _sees_item)


async def _live_item(info: strawberry.Info, item_id: Any) -> models.ContentItem | None:
    """A job's content item, unless there is none or it was deleted."""
    if item_id is None:
        return None
    row = await info.context.loaders.item_by_id.load(item_id)
    return row if row and row.deleted_at is None else None


def _job_parties(row: models.ExportJob | models.ImportJob) -> dict[str, Any]:
    """The entities an export or import job refers to, as its fields."""
    return {
        "course": Course(id=to_id(row.course_id)),
        "organization": Organization(id=to_id(row.organization_id)),
        "requested_by": User(id=strawberry.ID(row.requested_by)),
    }


strawberry.enum(ExportFormat, name="ExportFormat")
strawberry.enum(exporting.JobStatus, name="ExportStatus")


@strawberry.federation.type(
    keys=["id"], description="An export of a course to a file format, run by a worker."
)
class ExportJob:
    id: strawberry.ID
    format: ExportFormat
    status: exporting.JobStatus
    progress: int = strawberry.field(description="0-100.")
    course: Course
    organization: Organization
    requested_by: User
    error: str | None = strawberry.field(description="Why the export failed.")
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    _row: strawberry.Private[models.ExportJob]

    @strawberry.field(description="The stored export (a content item: each export of a format is a version).")
    async def result(self, info: strawberry.Info) -> ContentItem | None:
        row = await _live_item(info, self._row.item_id)
        return ContentItem.from_model(row) if row else None

    @strawberry.field(description="The version this job stored.")
    async def result_version(self, info: strawberry.Info) -> ContentVersion | None:
        if self._row.version_id is None:
            return None
        item = await _live_item(info, self._row.item_id)
        version = await info.context.loaders.version_by_id.load(self._row.version_id)
        return ContentVersion.from_model(version, item) if item and version else None

    @classmethod
    def from_model(cls, row: models.ExportJob) -> ExportJob:
        return from_row(
            cls,
            row,
            format=ExportFormat(row.format),
            status=exporting.JobStatus(row.status),
            **_job_parties(row),
        )

    resolve_reference = owned_reference("export_by_id", for_caller(exporting.can_view))


@shared_projection  # its followers share each event's result
@strawberry.type(description="One step of an export, in order. Replayed after `after`, then live.")
class ExportEvent:
    seq: int
    at: datetime
    status: exporting.JobStatus
    progress: int
    message: str


@strawberry.input
class ExportCourseInput:
    course_id: strawberry.ID
    format: ExportFormat


@strawberry.input
class ExportJobIdInput:
    job_id: strawberry.ID


@strawberry.type
class ExportJobSuccess:
    job: ExportJob


ExportCourseResult = Annotated[
    ExportJobSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("ExportCourseResult"),
]
CancelExportJobResult = Annotated[
    ExportJobSuccess | ValidationError | ForbiddenError | NotFoundError | ConflictError,
    strawberry.union("CancelExportJobResult"),
]


strawberry.enum(importing.ImportStatus, name="ImportStatus")
strawberry.enum(importing.ImportErrorCode, name="ImportErrorCode")


@strawberry.federation.type(
    keys=["id"],
    description="An import of a Common Cartridge as a new DRAFT course, run by workers: poll it until "
    "SUCCEEDED (then `course` exists with its modules, lessons, attachments and quizzes) or FAILED.",
)
class ImportJob:
    id: strawberry.ID
    status: importing.ImportStatus
    progress: int = strawberry.field(description="0-100.")
    course: Course = strawberry.field(description="The course this import creates (exists once SUCCEEDED).")
    organization: Organization
    requested_by: User
    error: str | None = strawberry.field(description="Why the import failed.")
    error_code: importing.ImportErrorCode | None
    created_at: datetime
    finished_at: datetime | None
    _row: strawberry.Private[models.ImportJob]

    @strawberry.field(description="The uploaded cartridge (null once deleted).")
    async def source(self, info: strawberry.Info) -> ContentItem | None:
        row = await _live_item(info, self._row.item_id)
        return ContentItem.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: models.ImportJob) -> ImportJob:
        return from_row(
            cls,
            row,
            status=importing.ImportStatus(row.status),
            error_code=importing.ImportErrorCode(row.error_code) if row.error_code else None,
            **_job_parties(row),
        )

    resolve_reference = owned_reference("import_by_id", for_caller(importing.can_view))


@strawberry.input
class ImportCourseInput:
    content_item_id: strawberry.ID = strawberry.field(description="An uploaded Common Cartridge (.imscc).")


@strawberry.type
class ImportJobSuccess:
    job: ImportJob


ImportCourseResult = Annotated[
    ImportJobSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("ImportCourseResult"),
]


# --- inputs and results -------------------------------------------------------------------------------


@strawberry.input(
    description="Announce a file: its name, exact size and SHA-256. For a new item give courseId (and "
    "lessonId to attach it to a lesson); for a new version of an item give itemId."
)
class RequestUploadInput:
    name: str
    size: float = strawberry.field(description="Bytes.")
    checksum: str = strawberry.field(description="SHA-256 of the bytes, 64 hexadecimal digits.")
    course_id: strawberry.ID | None = None
    lesson_id: strawberry.ID | None = None
    item_id: strawberry.ID | None = None


@strawberry.type(
    description="PUT exactly the announced bytes to `url` before `expiresAt`, then completeUpload."
)
class UploadTicket:
    upload_id: strawberry.ID
    url: str
    method: str
    expires_at: datetime
    max_bytes: float


@strawberry.input
class CompleteUploadInput:
    upload_id: strawberry.ID


@strawberry.input
class RestoreContentVersionInput:
    item_id: strawberry.ID
    version_id: strawberry.ID


@strawberry.input
class DeleteContentItemInput:
    item_id: strawberry.ID


@strawberry.type
class ContentItemSuccess:
    item: ContentItem


@strawberry.type
class DeleteContentItemSuccess:
    item_id: strawberry.ID


RequestUploadResult = Annotated[
    UploadTicket | ValidationError | ForbiddenError | NotFoundError | ConflictError | QuotaExceededError,
    strawberry.union("RequestUploadResult"),
]
CompleteUploadResult = Annotated[
    ContentItemSuccess
    | ValidationError
    | ForbiddenError
    | NotFoundError
    | ConflictError
    | QuotaExceededError,
    strawberry.union("CompleteUploadResult"),
]
ContentItemResult = Annotated[
    ContentItemSuccess | ValidationError | ForbiddenError | NotFoundError | ConflictError,
    strawberry.union("ContentItemResult"),
]
DeleteContentItemResult = Annotated[
    DeleteContentItemSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("DeleteContentItemResult"),
]

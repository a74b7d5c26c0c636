"""The content domain's operations: signed uploads, versions, restore, delete, signed downloads.

Who may do what (core.rbac): `update_courses` in the item's organization manages its content (upload,
restore, delete, every item); `view_courses` there reads the attachments of the organization's PUBLISHED
courses (what the courses domain shows its members). Course status and lessons come from projections of
`events.courses` (models.CourseOwner, models.LessonOwner); the quota from `events.organizations`.

Every change commits with its outbox event. Bytes go to the storage backend before the row that points
at them commits: a failure leaves at most an unreferenced object, never a row without bytes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.content import signing
from subgraphs.content.errors import QuotaExceeded, UploadCompleted, UploadExpired, UploadNotReceived
from subgraphs.content.models import (
    Blob,
    ContentItem,
    ContentVersion,
    CourseOwner,
    LessonOwner,
    OrganizationQuota,
    Outbox,
    Upload,
)
from subgraphs.content.sniff import SNIFF_BYTES, is_allowed, sniff
from subgraphs.content.storage import StorageBackend, TooLarge, blob_key, read_all, staging_key
from subgraphs.contracts.base import parse_if
from subgraphs.contracts.content import (
    ItemDeleted,
    ItemDownloaded,
    ItemEvent,
    VersionCreated,
    VersionRestored,
)
from subgraphs.contracts.courses import LessonCreated, LessonDeleted
from subgraphs.contracts.organizations import announced_settings
from subgraphs.core.consumers import upsert_if_newer
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.course_owners import DELETED
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.rbac import Caller, Permission, authorize, organizations_permitting, permitted

MANAGE = Permission.UPDATE_COURSES
VIEW = Permission.VIEW_COURSES
DOWNLOADED = ItemDownloaded.TYPE
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NAME = 255


class ItemKind(StrEnum):
    ATTACHMENT = "ATTACHMENT"  # a file an instructor attached to a course or lesson
    EXPORT = "EXPORT"  # an export of the course (managers only)


class UploadStatus(StrEnum):
    PENDING = "PENDING"
    RECEIVED = "RECEIVED"
    COMPLETED = "COMPLETED"


def storage_of(runtime: DatabaseAccess) -> StorageBackend:
    from subgraphs.content.storage import build_storage

    backend = runtime.extras.get("content_storage")
    if backend is None:
        backend = runtime.extras["content_storage"] = build_storage(runtime.settings)
    return backend


def url_key_of(runtime: DatabaseAccess) -> bytes:
    key = runtime.extras.get("content_url_key")
    if key is None:
        key = runtime.extras["content_url_key"] = signing.url_key(runtime.settings)
    return key


def public_base(settings: Any) -> str:
    base = settings.content.public_url or f"http://{settings.router.host}:{settings.router.port}"
    return base.rstrip("/")


# --- visibility -------------------------------------------------------------------------------------


# The worker's consumer groups that keep CourseOwner and LessonOwner from `events.courses` (worker.py).
COURSE_OWNERS_GROUP = "content-course-owners"
LESSON_OWNERS_GROUP = "content-lessons"


async def course_owner(runtime: Runtime, session: AsyncSession, course_id: uuid.UUID) -> CourseOwner | None:
    """The course as this subgraph knows it, one the client created a moment ago included: on a miss it
    waits (bounded) for the projection to reach the end of `events.courses` (read your writes)."""
    course = await session.get(CourseOwner, course_id)
    if course is None and await runtime.caught_up("courses", COURSE_OWNERS_GROUP):
        course = await session.get(CourseOwner, course_id)
    return course


async def can_view(caller: Caller, item: ContentItem, course_status: str | None) -> bool:
    """Managers of the organization see every item; its members with `view_courses` the attachments of
    its published courses. `course_status` is the course_owner projection's (None: unknown course)."""
    principal = caller.principal
    if not principal.is_authenticated or item.deleted_at is not None:
        return False
    if await permitted(caller, MANAGE, item.organization_id):
        return True
    return (
        item.kind == ItemKind.ATTACHMENT
        and course_status == "PUBLISHED"
        and await permitted(caller, VIEW, item.organization_id)
    )


async def visible_clause(caller: Caller) -> Any:
    """What `can_view` accepts, as a predicate on ContentItem (for lists)."""
    principal = caller.principal
    if not principal.is_authenticated:
        return ContentItem.id.is_(None)
    live = ContentItem.deleted_at.is_(None)
    if principal.is_site_admin:
        return live
    manage = await organizations_permitting(caller, MANAGE)
    view = await organizations_permitting(caller, VIEW)
    published = select(CourseOwner.course_id).where(CourseOwner.status == "PUBLISHED")
    return and_(
        live,
        or_(
            ContentItem.organization_id.in_(manage.uuids()),
            and_(
                ContentItem.organization_id.in_(view.uuids()),
                ContentItem.kind == ItemKind.ATTACHMENT.value,
                ContentItem.course_id.in_(published),
            ),
        ),
    )


async def _course_status(session: Any, course_id: uuid.UUID) -> str | None:
    return await session.scalar(select(CourseOwner.status).where(CourseOwner.course_id == course_id))


async def _managed_item(runtime: Runtime, meta: RequestMeta, session: Any, item_id: uuid.UUID) -> ContentItem:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    item = await session.get(ContentItem, item_id, with_for_update=True)
    if item is None or item.deleted_at is not None:
        raise NotFound("No such content item.")
    await authorize(meta.caller, MANAGE, item.organization_id)
    return item


# --- events -----------------------------------------------------------------------------------------


def _event(
    payload: ItemEvent,
    item: ContentItem,
    actor: str | None,
    *,
    request_id: str | None = None,
    client_ip: str | None = None,
    **subjects: str,
) -> Event:
    item_subjects = {"item_id": item.id, "course_id": item.course_id, "lesson_id": item.lesson_id, **subjects}
    event = domain_event(payload, actor=actor, organization_id=item.organization_id, subjects=item_subjects)
    # A download knows its request only by id and address (a signed URL, no RequestMeta).
    return event.model_copy(update={"request_id": request_id, "source_ip": client_ip})


def _meta_event(payload: ItemEvent, item: ContentItem, meta: RequestMeta) -> Event:
    return _event(payload, item, meta.principal.subject, request_id=meta.request_id, client_ip=meta.client_ip)


# --- quota ------------------------------------------------------------------------------------------


async def quota_of(session: Any, settings: Any, organization_id: uuid.UUID) -> int:
    own = await session.scalar(
        select(OrganizationQuota.quota_bytes).where(OrganizationQuota.organization_id == organization_id)
    )
    return settings.content.default_quota_bytes if own is None else own


async def used_bytes(session: Any, organization_id: uuid.UUID) -> int:
    """Every stored version of the organization's live items counts (shared bytes count for each)."""
    used = await session.scalar(
        select(func.coalesce(func.sum(ContentVersion.size), 0))
        .join(ContentItem, ContentItem.id == ContentVersion.item_id)
        .where(ContentItem.organization_id == organization_id, ContentItem.deleted_at.is_(None))
    )
    return int(used or 0)


async def _check_quota(session: Any, settings: Any, organization_id: uuid.UUID, size: int) -> None:
    quota = await quota_of(session, settings, organization_id)
    used = await used_bytes(session, organization_id)
    if used + size > quota:
        raise QuotaExceeded(quota, used, size)


async def lock_quota(session: Any, organization_id: uuid.UUID) -> None:
    """One writer of new bytes at a time per organization, until commit: its quota check and the
    versions it then adds are atomic."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"content-quota:{organization_id}"},
    )


# --- uploads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadRequest:
    name: str
    size: int
    sha256: str
    course_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None  # a new version of this item


def _clean_name(name: str, errors: dict[str, str]) -> str:
    value = " ".join(name.split())
    if not value:
        errors["input.name"] = "Required."
    elif len(value) > MAX_NAME:
        errors["input.name"] = f"At most {MAX_NAME} characters."
    elif any(c in value for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        errors["input.name"] = "A file name, without slashes or control characters."
    return value


def upload_path(upload_id: uuid.UUID) -> str:
    return f"/content/uploads/{upload_id}"


def upload_url(runtime: DatabaseAccess, upload: Upload) -> str:
    ttl = max(1, int((upload.expires_at - utcnow()).total_seconds()))
    return public_base(runtime.settings) + signing.sign(
        url_key_of(runtime), "PUT", upload_path(upload.id), ttl
    )


async def request_upload(runtime: Runtime, meta: RequestMeta, request: UploadRequest) -> Upload:
    """Validate, authorize, check the quota, and open a signed upload of one object of `size` bytes."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    settings = runtime.settings
    errors: dict[str, str] = {}
    name = _clean_name(request.name, errors)
    if not 0 < request.size <= settings.content.max_upload_bytes:
        errors["input.size"] = f"Between 1 and {settings.content.max_upload_bytes} bytes."
    checksum = request.sha256.strip().lower()
    if not SHA256.fullmatch(checksum):
        errors["input.checksum"] = "The file's SHA-256, as 64 hexadecimal digits."
    if request.item_id is None and request.course_id is None:
        errors["input.courseId"] = "Required for a new item (or give itemId for a new version)."
    if errors:
        raise InvalidInput(errors)
    async with runtime.transaction() as session:
        if request.item_id is not None:
            item = await _managed_item(runtime, meta, session, request.item_id)
            if item.kind != ItemKind.ATTACHMENT:
                raise InvalidInput({"input.itemId": "Only attachments take uploads."})
            organization_id, course_id, lesson_id = item.organization_id, item.course_id, item.lesson_id
        else:
            assert request.course_id is not None
            course = await course_owner(runtime, session, request.course_id)
            if course is None or course.status == DELETED:
                raise NotFound("No such course.")
            await authorize(meta.caller, MANAGE, course.organization_id)
            if course.status == "ARCHIVED":
                raise InvalidInput({"input.courseId": "This course is archived (read-only)."})
            organization_id, course_id, lesson_id = (
                course.organization_id,
                course.course_id,
                request.lesson_id,
            )
            if lesson_id is not None:
                lesson = await session.get(LessonOwner, lesson_id)
                if lesson is None and await runtime.caught_up("courses", LESSON_OWNERS_GROUP):
                    lesson = await session.get(LessonOwner, lesson_id)  # read your writes
                if lesson is None or lesson.deleted or lesson.course_id != course_id:
                    raise InvalidInput({"input.lessonId": "No such lesson in this course."})
        await _check_quota(session, settings, organization_id, request.size)
        upload = Upload(
            id=uuid.uuid4(),
            organization_id=organization_id,
            course_id=course_id,
            lesson_id=lesson_id,
            item_id=request.item_id,
            name=name,
            kind=ItemKind.ATTACHMENT.value,
            size=request.size,
            sha256=checksum,
            requested_by=str(meta.principal.subject),
            status=UploadStatus.PENDING.value,
            expires_at=utcnow() + timedelta(seconds=settings.content.upload_url_seconds),
        )
        session.add(upload)
    return upload


async def receive_upload(
    runtime: DatabaseAccess, upload_id: uuid.UUID, chunks: AsyncIterator[bytes]
) -> Upload:
    """The PUT of a signed upload URL: stage the bytes (at most the declared size), hashing them."""
    async with runtime.transaction() as session:
        upload = await session.get(Upload, upload_id)
    if upload is None:
        raise NotFound("No such upload.")
    if upload.status == UploadStatus.COMPLETED:
        raise UploadCompleted()
    if upload.expires_at < utcnow():
        raise UploadExpired()
    storage = storage_of(runtime)
    key = staging_key(upload.id, uuid.uuid4())
    try:
        written = await storage.write(key, chunks, max_bytes=upload.size)
    except TooLarge as exc:
        await storage.delete(key)
        raise InvalidInput(
            {"body": f"More than the {upload.size} bytes this upload was opened for."}
        ) from exc
    async with runtime.transaction() as session:
        row = await session.get(Upload, upload_id, with_for_update=True)
        if row is None or row.status == UploadStatus.COMPLETED:
            await storage.delete(key)
            raise UploadCompleted()
        replaced = row.staged_key
        row.status = UploadStatus.RECEIVED.value
        row.received_size = written.size
        row.received_sha256 = written.sha256
        row.staged_key = key
    if replaced:  # an earlier PUT of the same upload: the last one counts
        await storage.delete(replaced)
    return row


async def complete_upload(runtime: Runtime, meta: RequestMeta, upload_id: uuid.UUID) -> ContentItem:
    """Verify the staged bytes (size, checksum, sniffed type) and add them as the item's new version."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    storage = storage_of(runtime)
    refused: InvalidInput | None = None
    async with runtime.transaction() as session:
        upload = await session.get(Upload, upload_id, with_for_update=True)
        if upload is None:
            raise NotFound("No such upload.")
        await authorize(meta.caller, MANAGE, upload.organization_id)
        if upload.status == UploadStatus.COMPLETED:
            raise UploadCompleted()
        if upload.status != UploadStatus.RECEIVED:
            raise UploadNotReceived()
        errors: dict[str, str] = {}
        if upload.received_size != upload.size:
            errors["input.size"] = f"{upload.received_size} bytes arrived, {upload.size} were announced."
        elif upload.received_sha256 != upload.sha256:
            errors["input.checksum"] = "The bytes received do not have the announced SHA-256."
        assert upload.staged_key is not None
        mime_type = sniff(await read_all(storage, upload.staged_key, 0, SNIFF_BYTES - 1))
        if not errors and not is_allowed(mime_type):
            errors["file"] = f"Files of this type are not accepted (the bytes are {mime_type})."
        if errors:
            # The client starts over with a new upload; the staged bytes are of no use.
            await storage.delete(upload.staged_key)
            await session.delete(upload)
            refused = InvalidInput(errors)
        else:
            item = await _complete(runtime, meta, session, storage, upload, mime_type)
    if refused is not None:
        raise refused
    return item


async def _complete(
    runtime: Runtime, meta: RequestMeta, session: Any, storage: StorageBackend, upload: Upload, mime_type: str
) -> ContentItem:
    await lock_quota(session, upload.organization_id)
    await _check_quota(session, runtime.settings, upload.organization_id, upload.size)
    assert upload.staged_key is not None
    await _store_blob(session, storage, upload.staged_key, upload.sha256, upload.size)
    if upload.item_id is not None:
        item = await _managed_item(runtime, meta, session, upload.item_id)
    else:
        item = await new_item(
            session,
            organization_id=upload.organization_id,
            course_id=upload.course_id,
            lesson_id=upload.lesson_id,
            name=upload.name,
            kind=upload.kind,
            owner_id=upload.requested_by,
        )
    version = await _add_version(session, item, upload.sha256, upload.size, mime_type, meta.principal.subject)
    item.name = upload.name
    upload.status = UploadStatus.COMPLETED.value
    emit(session, Outbox, _meta_event(version_created(item, version), item, meta))
    return item


async def new_item(
    session: Any,
    *,
    organization_id: uuid.UUID,
    course_id: uuid.UUID,
    name: str,
    kind: str,
    owner_id: str,
    lesson_id: uuid.UUID | None = None,
    export_format: str | None = None,
) -> ContentItem:
    """A new item, flushed; its first version comes next (`_add_version`)."""
    item = ContentItem(
        id=uuid.uuid4(),
        organization_id=organization_id,
        course_id=course_id,
        lesson_id=lesson_id,
        name=name,
        kind=kind,
        export_format=export_format,
        owner_id=owner_id,
        created_at=utcnow(),
    )
    session.add(item)
    await session.flush()
    return item


def version_created(item: ContentItem, version: ContentVersion) -> VersionCreated:
    return VersionCreated(
        name=item.name,
        kind=item.kind,
        version_id=version.id,
        number=version.number,
        size=version.size,
        mime_type=version.mime_type,
    )


async def _store_blob(session: Any, storage: StorageBackend, source: str, sha256: str, size: int) -> None:
    """Move staged bytes to their content address, unless identical bytes are stored already."""
    known = await session.get(Blob, sha256)
    if known is not None and await storage.size(blob_key(sha256)) == size:
        await storage.delete(source)
        return
    await storage.rename(source, blob_key(sha256))
    await session.execute(insert(Blob).values(sha256=sha256, size=size).on_conflict_do_nothing())


async def _add_version(
    session: Any, item: ContentItem, sha256: str, size: int, mime_type: str, by: str | None
) -> ContentVersion:
    last = await session.scalar(
        select(func.max(ContentVersion.number)).where(ContentVersion.item_id == item.id)
    )
    version = ContentVersion(
        id=uuid.uuid4(),
        item_id=item.id,
        number=(last or 0) + 1,
        sha256=sha256,
        size=size,
        mime_type=mime_type,
        created_by=str(by),
        created_at=utcnow(),
    )
    session.add(version)
    await session.flush()
    item.current_version_id = version.id
    item.updated_at = version.created_at
    return version


# --- versions and deletion --------------------------------------------------------------------------


async def restore_version(
    runtime: Runtime, meta: RequestMeta, item_id: uuid.UUID, version_id: uuid.UUID
) -> ContentItem:
    """Make an older version current again: no bytes are copied and no version is added."""
    async with runtime.transaction() as session:
        item = await _managed_item(runtime, meta, session, item_id)
        version = await session.get(ContentVersion, version_id)
        if version is None or version.item_id != item.id:
            raise InvalidInput({"input.versionId": "No such version of this item."})
        if item.current_version_id != version.id:
            item.current_version_id = version.id
            item.updated_at = utcnow()
            emit(
                session,
                Outbox,
                _meta_event(
                    VersionRestored(
                        name=item.name, kind=item.kind, version_id=version.id, number=version.number
                    ),
                    item,
                    meta,
                ),
            )
    return item


async def delete_item(runtime: Runtime, meta: RequestMeta, item_id: uuid.UUID) -> ContentItem:
    """Soft delete: the item and its signed URLs stop working at once. Its bytes stay while any other
    version of any item refers to them (identical bytes are shared)."""
    async with runtime.transaction() as session:
        item = await _managed_item(runtime, meta, session, item_id)
        item.deleted_at = utcnow()
        emit(session, Outbox, _meta_event(ItemDeleted(name=item.name, kind=item.kind), item, meta))
    return item


# --- downloads --------------------------------------------------------------------------------------


def download_path(item_id: uuid.UUID, version_id: uuid.UUID) -> str:
    return f"/content/items/{item_id}/versions/{version_id}"


def download_url(runtime: Runtime, meta: RequestMeta, item: ContentItem, version: ContentVersion) -> str:
    """A signed GET for one version of one item, for the caller (who was allowed to see the item)."""
    path = download_path(item.id, version.id)
    ttl = runtime.settings.content.download_url_seconds
    signed = signing.sign(url_key_of(runtime), "GET", path, ttl, subject=str(meta.principal.subject))
    return public_base(runtime.settings) + signed


@dataclass(frozen=True)
class Download:
    item: ContentItem
    version: ContentVersion


async def open_download(
    runtime: DatabaseAccess,
    item_id: uuid.UUID,
    version_id: uuid.UUID,
    *,
    by: str | None,
    request_id: str | None,
    client_ip: str | None,
    record: bool,
) -> Download:
    """The version behind a verified URL, if its item still exists; `record`: emit `content.item.downloaded`
    (a download's first request, not each later range of it)."""
    async with runtime.transaction() as session:
        item = await session.get(ContentItem, item_id)
        version = await session.get(ContentVersion, version_id)
        if item is None or item.deleted_at is not None or version is None or version.item_id != item.id:
            raise NotFound("This file no longer exists.")
        if record:
            emit(
                session,
                Outbox,
                _event(
                    ItemDownloaded(
                        name=item.name,
                        kind=item.kind,
                        version_id=version.id,
                        size=version.size,
                        mime_type=version.mime_type,
                    ),
                    item,
                    by,
                    request_id=request_id,
                    client_ip=client_ip,
                    **({"user_id": by} if by else {}),
                ),
            )
    return Download(item=item, version=version)


# --- abandoned uploads (worker) ---------------------------------------------------------------------


async def sweep_uploads(runtime: DatabaseAccess, *, older_than: timedelta) -> int:
    """Forget uploads that expired `older_than` ago without being completed, and their staged bytes."""
    cutoff = utcnow() - older_than
    async with runtime.transaction() as session:
        stale = (
            await session.scalars(
                delete(Upload)
                .where(Upload.expires_at < cutoff, Upload.status != UploadStatus.COMPLETED.value)
                .returning(Upload.staged_key)
            )
        ).all()
        # Completed ones are only a record of the past: their bytes were moved to their address.
        await session.execute(delete(Upload).where(Upload.expires_at < cutoff))
    storage = storage_of(runtime)
    for key in stale:
        if key:
            await storage.delete(key)
    return len(stale)


# --- projections (worker) ---------------------------------------------------------------------------


async def record_lesson_event(session: Any, event: Event) -> bool:
    """`courses.lesson.created|deleted`: which course a lesson belongs to (the ids are the envelope's)."""
    change = parse_if(event, LessonCreated) or parse_if(event, LessonDeleted)
    if change is None:
        return False
    lesson, course = event.subject_ids.get("lesson_id"), event.subject_ids.get("course_id")
    if not lesson or not course:
        return False
    await session.execute(
        upsert_if_newer(
            LessonOwner,
            [LessonOwner.lesson_id],
            {
                "lesson_id": uuid.UUID(lesson),
                "course_id": uuid.UUID(course),
                "deleted": isinstance(change, LessonDeleted),
                "as_of": event.occurred_at,
            },
        )
    )
    return True


async def record_organization_event(session: Any, event: Event) -> bool:
    """The organization's `storage_quota_bytes` setting (null: the platform default), from the settings
    its created/updated events announce."""
    announced = announced_settings(event)
    organization = event.organization_id or event.subject_ids.get("organization_id")
    if announced is None or organization is None:
        return False
    await session.execute(
        upsert_if_newer(
            OrganizationQuota,
            [OrganizationQuota.organization_id],
            {
                "organization_id": uuid.UUID(organization),
                "quota_bytes": announced.storage_quota_bytes,
                "as_of": event.occurred_at,
            },
        )
    )
    return True

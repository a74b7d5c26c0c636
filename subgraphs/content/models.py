"""Tables of the content domain, in the `content` pg schema.

An item (`content_item`) is a named file of an organization, attached to a course and optionally one of
its lessons; each upload of bytes to it is a `content_version`. Bytes live in the storage backend under
their SHA-256 (`blob`): identical bytes are stored once, whichever items and organizations hold them, and
restoring an old version only points the item at it again. An `upload` is a pending signed upload: the
client PUTs bytes to its URL (staged in the backend), then `completeUpload` verifies them and adds the
version. Export jobs (`export_job`, progress in `export_event`) store their result as an EXPORT item.
Organization, course, lesson and user ids come from other domains (no foreign keys across schemas).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.course_owners import CourseOwnerMixin
from subgraphs.core.db import UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin
from subgraphs.core.leased_jobs import LeasedJobMixin
from subgraphs.core.live import StreamEventMixin

Base = domain_base("content")


class ContentItem(UUIDPrimaryKey, Base):
    __tablename__ = "content_item"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # service.ItemKind
    owner_id: Mapped[str] = mapped_column(String(64))  # the principal's subject (user or API client)
    # EXPORT items: the format (one item per course and format; each export adds a version).
    export_format: Mapped[str | None] = mapped_column(String(32))
    # The current version; null only between the item's creation and its first completed upload.
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContentVersion(UUIDPrimaryKey, Base):
    __tablename__ = "content_version"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content.content_item.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per item
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(127))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Blob(Base):
    """One stored object per distinct content (the backend's key is derived from the hash)."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Upload(UUIDPrimaryKey, Base):
    """A signed upload: one object, at most `max_bytes`, until `expires_at`; completed at most once."""

    __tablename__ = "upload"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    item_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # a new version of this item
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)  # declared by the client
    sha256: Mapped[str] = mapped_column(String(64))  # declared by the client
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # PENDING | RECEIVED | COMPLETED
    received_size: Mapped[int | None] = mapped_column(BigInteger)
    received_sha256: Mapped[str | None] = mapped_column(String(64))
    staged_key: Mapped[str | None] = mapped_column(String(200))  # the storage key of the received bytes
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExportJob(UUIDPrimaryKey, LeasedJobMixin, Base):
    """An export of a course, run by the worker: claimed by a lease (QUEUED → RUNNING with a token and an
    expiry) and finished only while the lease holds, so a cancelled or taken-over job never stores twice."""

    __tablename__ = "export_job"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    format: Mapped[str] = mapped_column(String(32))  # exports.document.ExportFormat
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # exporting.JobStatus
    progress: Mapped[int] = mapped_column(Integer, default=0)
    item_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))  # the stored result
    version_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    error: Mapped[str | None] = mapped_column(Text)


class ImportJob(UUIDPrimaryKey, LeasedJobMixin, Base):
    """A Common Cartridge import (importing.py): the content worker reads the cartridge (claimed by a lease
    like exports), stores its files and announces the course under `course_id` (chosen here); the courses
    and quizzes workers create it and say so; the job succeeds when both did (quizzes only if it has any)."""

    __tablename__ = "import_job"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the uploaded cartridge
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # its version when the import began
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))  # the course the import creates
    requested_by: Mapped[str] = mapped_column(String(64))  # the importer: the new course's instructor
    status: Mapped[str] = mapped_column(String(16))  # importing.ImportStatus
    progress: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))  # importing.ImportErrorCode
    quizzes_expected: Mapped[int] = mapped_column(Integer, default=0)
    announced: Mapped[bool] = mapped_column(default=False)  # content.import.ready was emitted
    course_applied: Mapped[bool] = mapped_column(default=False)  # courses.import.applied arrived
    quizzes_applied: Mapped[bool] = mapped_column(default=False)  # quizzes.import.applied arrived


class ExportEvent(StreamEventMixin, Base):
    """Live progress of an export job (stream_id = job id)."""

    __tablename__ = "export_event"


class CourseOwner(CourseOwnerMixin, Base):
    """Course -> owning organization and status, from `events.courses` (core.course_owners)."""


class LessonOwner(Base):
    """Lesson -> its course, from `courses.lesson.created|deleted` (attachments name a lesson of it)."""

    __tablename__ = "lesson_owner"

    lesson_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    deleted: Mapped[bool] = mapped_column(default=False)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganizationQuota(Base):
    """Each organization's `storage_quota_bytes` setting (null: the platform default), from
    `organizations.organization.created|updated`; an event older than the row changes nothing."""

    __tablename__ = "organization_quota"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    pass


Index(
    "ix_content_item_course",
    ContentItem.course_id,
    ContentItem.created_at,
    ContentItem.id,
    postgresql_where=text("deleted_at IS NULL"),
)
Index(
    "ix_content_item_lesson",
    ContentItem.lesson_id,
    ContentItem.created_at,
    ContentItem.id,
    postgresql_where=text("deleted_at IS NULL AND lesson_id IS NOT NULL"),
)
Index("ix_content_item_org", ContentItem.organization_id)
Index("uq_content_version_item_number", ContentVersion.item_id, ContentVersion.number, unique=True)
Index("ix_content_version_sha256", ContentVersion.sha256)
Index("ix_content_export_job_course_created", ExportJob.course_id, ExportJob.created_at, ExportJob.id)
Index("ix_content_import_job_course", ImportJob.course_id)
Index(
    "ix_content_import_job_running_lease",
    ImportJob.lease_expires_at,
    postgresql_where=text("status = 'RUNNING'"),
)
Index(
    "ix_content_export_job_running_lease",
    ExportJob.lease_expires_at,
    postgresql_where=text("status = 'RUNNING'"),
)

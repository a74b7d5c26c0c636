"""The events of the content domain (`events.content`): files and their versions, downloads, export jobs.

Item events name the item, course and lesson in the envelope's subject ids (`item_id`, `course_id`,
`lesson_id`); export events name the job and course (`job_id`, `course_id`). Read by analytics
(`content.item.downloaded`) and the audit log; `content.export.requested` is also the export worker's queue.
"""

from __future__ import annotations

import uuid

from subgraphs.contracts.base import EventPayload


class ItemEvent(EventPayload):
    """What every item event carries: the item's name and kind (ATTACHMENT | EXPORT)."""

    name: str
    kind: str


class VersionCreated(ItemEvent):
    """A completed upload (or an export's result) became the item's new current version."""

    TYPE = "content.version.created"
    version_id: uuid.UUID
    number: int
    size: int
    mime_type: str


class VersionRestored(ItemEvent):
    TYPE = "content.version.restored"
    version_id: uuid.UUID
    number: int


class ItemDeleted(ItemEvent):
    TYPE = "content.item.deleted"


class ItemDownloaded(ItemEvent):
    """A download's first request; the actor is the subject the signed link was made for."""

    TYPE = "content.item.downloaded"
    version_id: uuid.UUID
    size: int
    mime_type: str


class ExportJobEvent(EventPayload):
    format: str  # PDF | PPTX | SCORM_12 | SCORM_2004 | COMMON_CARTRIDGE
    status: str  # the job's status after the change (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)


class ExportRequested(ExportJobEvent):
    TYPE = "content.export.requested"
    requeued: bool = False  # put back in the queue because its worker stopped


class ExportSucceeded(ExportJobEvent):
    TYPE = "content.export.succeeded"
    item_id: uuid.UUID  # the course's EXPORT item of this format (the new version is its current one)
    size: int


class ExportFailed(ExportJobEvent):
    TYPE = "content.export.failed"
    error: str | None = None


class ExportCancelled(ExportJobEvent):
    TYPE = "content.export.cancelled"

"""The events of the content domain (`events.content`): files and their versions, downloads, export jobs.

Item events name the item, course and lesson in the envelope's subject ids (`item_id`, `course_id`,
`lesson_id`); export events name the job and course (`job_id`, `course_id`). Read by analytics
(`content.item.downloaded`) and the audit log; `content.export.requested` is also the export worker's queue.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

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


# --- Common Cartridge import ----------------------------------------------------------------------------
# `importCourse` queues `content.import.requested` (the content worker's queue); the worker reads the
# cartridge, stores its files as the lessons' attachments and announces the course in `content.import.ready`
# with every id chosen up front: courses creates the course, its modules, lessons and exercises under those
# ids (`courses.import.applied`), quizzes its quizzes once the course is known (`quizzes.import.applied`).
# Creating what already exists under its id is skipped, so redelivery creates nothing twice.


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImportedLesson(_Part):
    id: uuid.UUID
    title: str
    body: str = ""  # Markdown


class ImportedModule(_Part):
    id: uuid.UUID
    title: str
    lessons: list[ImportedLesson] = []


class ImportedExercise(_Part):
    id: uuid.UUID
    title: str
    instructions: str = ""  # Markdown
    language: str = "python"


class ImportedQuestion(_Part):
    """A question as the quizzes domain stores it: `type` SINGLE_CHOICE | MULTIPLE_CHOICE | TRUE_FALSE |
    SHORT_ANSWER | NUMERIC, and the answer fields of that type."""

    type: str
    prompt: str
    options: list[str] = []
    correct_choices: list[int] = []
    correct_boolean: bool | None = None
    accepted_answers: list[str] = []
    correct_number: float | None = None
    tolerance: float | None = None
    points: int = 1
    explanation: str = ""


class ImportedQuiz(_Part):
    id: uuid.UUID
    title: str
    description: str = ""
    passing_score: int = 60
    questions: list[ImportedQuestion] = []


class ImportRequested(EventPayload):
    TYPE = "content.import.requested"
    item_id: uuid.UUID  # the uploaded cartridge (a content item)
    requeued: bool = False


class ImportReady(EventPayload):
    """A read cartridge, to create as a DRAFT course of `organization_id` taught by `instructor_id` (the
    importer, whose right to create courses there the content domain checked)."""

    TYPE = "content.import.ready"
    import_id: uuid.UUID
    course_id: uuid.UUID
    organization_id: uuid.UUID
    instructor_id: uuid.UUID
    title: str
    description: str = ""
    category: str = ""
    difficulty: str = "BEGINNER"
    modules: list[ImportedModule] = []
    exercises: list[ImportedExercise] = []
    quizzes: list[ImportedQuiz] = []
    # The audit log keeps nothing of it (a whole course with its quiz answers; the envelope's action, actor
    # and ids are kept, and the course records its own creation).
    sensitive: bool = True


class ImportSucceeded(EventPayload):
    TYPE = "content.import.succeeded"
    import_id: uuid.UUID
    course_id: uuid.UUID


class ImportFailed(EventPayload):
    TYPE = "content.import.failed"
    import_id: uuid.UUID
    error: str

"""Common Cartridge import: `importCourse` (API side), the content worker's run, and the end of the job when
the courses and quizzes domains report what they created. docs/content.md ("Import") says why through
events.

1. `submit`: the importer manages the organization's courses and may create courses there (a user: the new
   course's instructor); the item is a ZIP attachment. A QUEUED `ImportJob` with the course id it will
   create, and `content.import.requested` (the worker's queue), commit together.
2. `run_job` (worker): claims the job with a lease, reads the cartridge (`exports.read_common_cartridge`,
   which refuses unsafe zips before using anything), stores the lessons' files as attachments of the lessons
   to be (types sniffed and checked against the allow-list, the quota checked), and emits
   `content.import.ready` with the whole structure and every id chosen, in one transaction with the items.
3. `record_applied` (consumer of events.courses and events.quizzes): `courses.import.applied` and
   `quizzes.import.applied` mark their part; the job SUCCEEDS when the course and (if any) its quizzes exist.
   A job whose parts do not arrive before its lease ends FAILS; a worker that died before announcing is
   replaced (requeued), like exports.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from subgraphs.content import exports, service
from subgraphs.content.errors import QuotaExceeded
from subgraphs.content.exports.document import CourseDocument, Question
from subgraphs.content.models import ContentItem, ContentVersion, ImportJob, Outbox
from subgraphs.content.sniff import SNIFF_BYTES, is_allowed, sniff
from subgraphs.content.storage import blob_key, read_all, staging_key
from subgraphs.contracts.base import parse_if
from subgraphs.contracts.content import (
    ImportedExercise,
    ImportedLesson,
    ImportedModule,
    ImportedQuestion,
    ImportedQuiz,
    ImportFailed,
    ImportReady,
    ImportRequested,
    ImportSucceeded,
)
from subgraphs.contracts.courses import ImportApplied as CourseImportApplied
from subgraphs.contracts.quizzes import ImportApplied as QuizzesImportApplied
from subgraphs.core import leased_jobs
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.rbac import Caller, Permission, authorize

log = logging.getLogger("coursegraph.content")

REQUESTED = ImportRequested.TYPE
MAX_CARTRIDGE_BYTES = 512 * 1024 * 1024  # read whole: the reader needs random access to the zip
# The structure travels in one event (outbox row, stream entry): its text is bounded (files are not in it).
MAX_ANNOUNCEMENT_BYTES = 32 * 1024 * 1024
# Waiting for the courses and quizzes workers: past this the job fails (their events did not come).
APPLY_WAIT = timedelta(minutes=10)


class ImportStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"  # reading the cartridge, then creating the course in the other domains
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ImportErrorCode(StrEnum):
    UNSAFE_ARCHIVE = "UNSAFE_ARCHIVE"  # refused before anything in it was used (traversal, bomb, links...)
    INVALID_CARTRIDGE = "INVALID_CARTRIDGE"  # a safe zip that is not a Common Cartridge we can read
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"  # its files do not fit the organization's storage
    SOURCE_GONE = "SOURCE_GONE"  # the uploaded file was deleted before the import ran
    TIMED_OUT = "TIMED_OUT"  # the course was not created in time
    INTERNAL = "INTERNAL"


def _event(job: ImportJob, payload: Any, actor: str | None, meta: RequestMeta | None = None) -> Event:
    subjects = {"import_id": job.id, "course_id": job.course_id, "item_id": job.item_id}
    return domain_event(
        payload, actor=actor, meta=meta, organization_id=job.organization_id, subjects=subjects
    )


# --- API side ---------------------------------------------------------------------------------------


async def submit(runtime: Runtime, meta: RequestMeta, *, item_id: uuid.UUID) -> ImportJob:
    principal = meta.principal
    if not principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        item = await session.get(ContentItem, item_id)
        if item is None or item.deleted_at is not None:
            raise NotFound("No such content item.")
        await authorize(meta.caller, service.MANAGE, item.organization_id)
        await authorize(meta.caller, Permission.CREATE_COURSES, item.organization_id)
        if principal.user_id is None:
            raise Forbidden("Only a person can import a course: the importer becomes its instructor.")
        version = (
            await session.get(ContentVersion, item.current_version_id) if item.current_version_id else None
        )
        if version is None or version.mime_type != "application/zip":
            raise InvalidInput(
                {"input.contentItemId": "Not a Common Cartridge (.imscc): the file is no ZIP."}
            )
        if version.size > MAX_CARTRIDGE_BYTES:
            raise InvalidInput(
                {"input.contentItemId": f"At most {MAX_CARTRIDGE_BYTES} bytes can be imported."}
            )
        job = ImportJob(
            id=uuid.uuid4(),
            organization_id=item.organization_id,
            item_id=item.id,
            version_id=version.id,
            course_id=uuid.uuid4(),
            requested_by=str(principal.subject),
            status=ImportStatus.QUEUED.value,
            progress=0,
            quizzes_expected=0,
            announced=False,
            course_applied=False,
            quizzes_applied=False,
            attempts=0,
            created_at=utcnow(),
        )
        session.add(job)
        await session.flush()
        emit(session, Outbox, _event(job, ImportRequested(item_id=item.id), principal.subject, meta))
    return job


async def can_view(caller: Caller, job: ImportJob) -> bool:
    return await leased_jobs.can_view(caller, job, service.MANAGE)


# --- worker side ------------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another worker took the job over (its lease expired)."""


class ImportRefused(Exception):
    def __init__(self, code: ImportErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def claim(runtime: DatabaseAccess, job_id: uuid.UUID) -> ImportJob | None:
    lease = runtime.settings.content.export_lease_seconds
    async with runtime.transaction() as session:
        return await session.scalar(
            leased_jobs.claim(ImportJob, job_id, lease_seconds=lease, progress=10).where(
                ImportJob.announced.is_(False)  # announced: it waits for the other domains, not a worker
            )
        )


async def _fail(session: Any, job: ImportJob, code: ImportErrorCode, message: str) -> None:
    leased_jobs.end(job, ImportStatus.FAILED.value)
    job.error, job.error_code = message, code.value
    emit(session, Outbox, _event(job, ImportFailed(import_id=job.id, error=message), None))
    # Files stored for a course that will not exist are hidden with it.
    if job.announced:
        return
    for item in await session.scalars(
        select(ContentItem).where(ContentItem.course_id == job.course_id, ContentItem.deleted_at.is_(None))
    ):
        item.deleted_at = utcnow()


def _question(question: Question) -> ImportedQuestion:
    correct = list(question.correct)
    fields: dict[str, Any] = {}
    if question.type in ("SINGLE_CHOICE", "MULTIPLE_CHOICE"):
        fields["correct_choices"] = [int(c) for c in correct]
    elif question.type == "TRUE_FALSE":
        fields["correct_boolean"] = bool(correct[0]) if correct else None
    elif question.type == "SHORT_ANSWER":
        fields["accepted_answers"] = [str(c) for c in correct]
    elif question.type == "NUMERIC" and correct:
        fields["correct_number"] = float(correct[0])
        fields["tolerance"] = float(correct[1]) if len(correct) > 1 else 0.0
    return ImportedQuestion(
        type=question.type,
        prompt=question.prompt,
        options=list(question.options),
        points=question.points,
        explanation=question.explanation,
        **fields,
    )


def announcement(job: ImportJob, doc: CourseDocument, lesson_ids: list[list[uuid.UUID]]) -> ImportReady:
    """The cartridge as the event the courses and quizzes domains apply (`lesson_ids[m][n]` chosen here)."""
    return ImportReady(
        import_id=job.id,
        course_id=job.course_id,
        organization_id=job.organization_id,
        instructor_id=uuid.UUID(job.requested_by),
        title=doc.title,
        description=doc.description,
        category=doc.category,
        difficulty=doc.difficulty,
        modules=[
            ImportedModule(
                id=uuid.uuid4(),
                title=module.title,
                lessons=[
                    ImportedLesson(id=lesson_ids[m][n], title=lesson.title, body=lesson.body_markdown)
                    for n, lesson in enumerate(module.lessons)
                ],
            )
            for m, module in enumerate(doc.modules)
        ],
        exercises=[
            ImportedExercise(
                id=uuid.uuid4(), title=e.title, instructions=e.instructions_markdown, language=e.language
            )
            for e in doc.exercises
        ],
        quizzes=[
            ImportedQuiz(
                id=uuid.uuid4(),
                title=q.title,
                description=q.description,
                passing_score=q.passing_score,
                questions=[_question(question) for question in q.questions],
            )
            for q in doc.quizzes
        ],
        sensitive=True,
    )


async def _read(runtime: DatabaseAccess, job: ImportJob) -> CourseDocument:
    async with runtime.transaction() as session:
        item = await session.get(ContentItem, job.item_id)
        version = await session.get(ContentVersion, job.version_id)
    if item is None or item.deleted_at is not None or version is None:
        raise ImportRefused(ImportErrorCode.SOURCE_GONE, "The uploaded cartridge was deleted.")
    data = await read_all(service.storage_of(runtime), blob_key(version.sha256))
    try:
        return await asyncio.to_thread(exports.read_common_cartridge, data)
    except exports.UnsafeArchiveError as exc:
        raise ImportRefused(ImportErrorCode.UNSAFE_ARCHIVE, f"This zip is refused: {exc}") from exc
    except exports.ExportError as exc:
        raise ImportRefused(ImportErrorCode.INVALID_CARTRIDGE, f"Not a Common Cartridge: {exc}") from exc


async def _one(data: bytes):  # noqa: ANN202 - an async iterator of one chunk
    yield data


async def _announce(runtime: DatabaseAccess, job: ImportJob, doc: CourseDocument) -> None:
    """Store the lessons' files and emit `content.import.ready`, in one transaction held by the lease."""
    storage = service.storage_of(runtime)
    lesson_ids = [[uuid.uuid4() for _ in module.lessons] for module in doc.modules]
    ready = announcement(job, doc, lesson_ids)
    if len(ready.model_dump_json()) > MAX_ANNOUNCEMENT_BYTES:
        raise ImportRefused(
            ImportErrorCode.INVALID_CARTRIDGE,
            f"Too large to import: more than {MAX_ANNOUNCEMENT_BYTES // 2**20} MiB of text and questions.",
        )
    files = []  # (lesson id, name, size, sha256, mime type)
    for m, module in enumerate(doc.modules):
        for n, lesson in enumerate(module.lessons):
            for attachment in lesson.attachments:
                mime_type = sniff(attachment.data[:SNIFF_BYTES])
                if not is_allowed(mime_type):
                    log.info("import %s: %s left out (%s)", job.id, attachment.name, mime_type)
                    continue
                key = staging_key(job.id, uuid.uuid4())
                written = await storage.write(key, _one(attachment.data), max_bytes=len(attachment.data))
                files.append((lesson_ids[m][n], attachment.name[:255] or "file", written, key, mime_type))
    try:
        await _store_and_announce(runtime, job, ready, files)
    except Exception:
        for *_, key, _ in files:  # staged bytes not moved to their address are of no use now
            await storage.delete(key)
        raise


async def _store_and_announce(
    runtime: DatabaseAccess, job: ImportJob, ready: ImportReady, files: list
) -> None:
    storage = service.storage_of(runtime)
    async with runtime.transaction() as session:
        await service.lock_quota(session, job.organization_id)
        row = await session.scalar(
            select(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.lease_token == job.lease_token)
            .with_for_update()
        )
        if row is None or row.status != ImportStatus.RUNNING:
            raise LeaseLost()
        total = sum(written.size for _, _, written, _, _ in files)
        await service._check_quota(session, runtime.settings, job.organization_id, total)
        for lesson_id, name, written, key, mime_type in files:
            await service._store_blob(session, storage, key, written.sha256, written.size)
            item = await service.new_item(
                session,
                organization_id=job.organization_id,
                course_id=job.course_id,
                lesson_id=lesson_id,
                name=name,
                kind=service.ItemKind.ATTACHMENT.value,
                owner_id=job.requested_by,
            )
            version = await service._add_version(
                session, item, written.sha256, written.size, mime_type, job.requested_by
            )
            created = service.version_created(item, version)
            emit(session, Outbox, service._event(created, item, job.requested_by, import_id=str(job.id)))
        row.announced = True
        row.quizzes_expected = len(ready.quizzes)
        row.progress = 60
        row.lease_expires_at = utcnow() + APPLY_WAIT
        emit(session, Outbox, _event(row, ready, job.requested_by))


async def run_job(runtime: DatabaseAccess, job_id: uuid.UUID) -> ImportStatus | None:
    """Read and announce one import if it is ours to run; its status after, or None if not run here."""
    job = await claim(runtime, job_id)
    if job is None:
        return None
    try:
        if job.attempts > runtime.settings.content.export_max_attempts:
            raise ImportRefused(ImportErrorCode.INTERNAL, f"Interrupted {job.attempts - 1} times; giving up.")
        doc = await _read(runtime, job)
        await _announce(runtime, job, doc)
        return ImportStatus.RUNNING
    except LeaseLost:
        return None
    except (ImportRefused, QuotaExceeded) as exc:
        code = exc.code if isinstance(exc, ImportRefused) else ImportErrorCode.QUOTA_EXCEEDED
        message = exc.message
    except Exception:
        log.exception("import %s failed", job.id)
        code, message = ImportErrorCode.INTERNAL, "The import failed unexpectedly."
    async with runtime.transaction() as session:
        row = await session.scalar(
            select(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.lease_token == job.lease_token)
            .with_for_update()
        )
        if row is None:
            return None
        await _fail(session, row, code, message)
    return ImportStatus.FAILED


async def sweep(runtime: DatabaseAccess) -> None:
    """RUNNING imports whose lease ended: requeued if their worker died before announcing the course,
    FAILED if the courses or quizzes worker did not report in time."""
    now = utcnow()
    async with runtime.transaction() as session:
        jobs = (
            await session.scalars(
                select(ImportJob)
                .where(ImportJob.status == ImportStatus.RUNNING.value, ImportJob.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for job in jobs:
            if job.announced:
                await _fail(session, job, ImportErrorCode.TIMED_OUT, "The course was not created in time.")
            else:
                job.status = ImportStatus.QUEUED.value
                job.lease_token = job.lease_expires_at = None
                emit(session, Outbox, _event(job, ImportRequested(item_id=job.item_id, requeued=True), None))


async def record_applied(session: Any, event: Event) -> bool:
    """`courses.import.applied` / `quizzes.import.applied`: mark the part; finish the job when complete."""
    applied = parse_if(event, CourseImportApplied) or parse_if(event, QuizzesImportApplied)
    if applied is None:
        return False
    job = await session.get(ImportJob, applied.import_id, with_for_update=True)
    if job is None or job.status != ImportStatus.RUNNING:
        return False
    if isinstance(applied, CourseImportApplied):
        job.course_applied = True
    else:
        job.quizzes_applied = True
    if job.course_applied and (job.quizzes_applied or job.quizzes_expected == 0):
        leased_jobs.end(job, ImportStatus.SUCCEEDED.value)
        job.progress = 100
        emit(
            session,
            Outbox,
            _event(job, ImportSucceeded(import_id=job.id, course_id=job.course_id), job.requested_by),
        )
    else:
        job.progress = 80
    return True

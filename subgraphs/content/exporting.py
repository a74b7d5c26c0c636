"""Course exports as jobs: submit, read, cancel (API side) and run (worker side).

Like the generator's jobs: `exportCourse` commits a QUEUED job with a `content.export.requested` outbox
event (the queue: outbox → `events.content` → the worker's consumer group, at least once) and a first
progress event; a worker claims it (QUEUED → RUNNING with a lease token and expiry), reads the course
through the router (course_reader), renders it with the format writers (`exports.render`, pure, in a
thread), stores the bytes as the course's EXPORT item of that format (a new version each time) and
finishes only while it still holds the lease — a cancelled or taken-over job stores nothing. A job whose
worker died is requeued by the sweep, or FAILED after `export_max_attempts`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from subgraphs.content import exports, service
from subgraphs.content.course_reader import CourseUnreadable, read_course
from subgraphs.content.errors import QuotaExceeded
from subgraphs.content.exports.document import Attachment, CourseDocument, ExportFormat
from subgraphs.content.models import ContentItem, ContentVersion, ExportEvent, ExportJob, Outbox
from subgraphs.content.storage import blob_key, read_all, staging_key
from subgraphs.contracts.content import (
    ExportCancelled,
    ExportFailed,
    ExportJobEvent,
    ExportRequested,
    ExportSucceeded,
)
from subgraphs.core import leased_jobs
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.course_owners import DELETED
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Conflict, NotAuthenticated, NotFound
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.live import append_stream_event
from subgraphs.core.rbac import Caller, authorize

log = logging.getLogger("coursegraph.content")

REQUESTED = ExportRequested.TYPE
# Attachments bigger than this are left out of exports (named in the job's events): packages stay portable.
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024

FILE_NAMES = {
    ExportFormat.PDF: ("pdf", "application/pdf"),
    ExportFormat.PPTX: (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ExportFormat.SCORM_12: ("scorm12.zip", "application/zip"),
    ExportFormat.SCORM_2004: ("scorm2004.zip", "application/zip"),
    ExportFormat.COMMON_CARTRIDGE: ("imscc", "application/zip"),
}


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobFinished(Conflict):
    default_code = "JOB_FINISHED"
    default_message = "This export job has already finished."


def channel(job_id: uuid.UUID) -> str:
    return f"export:{job_id}"


async def _progress(session: Any, job: ExportJob, message: str) -> dict[str, Any]:
    row = await append_stream_event(
        session, ExportEvent, job.id, {"status": job.status, "progress": job.progress, "message": message}
    )
    return row.as_message()


async def _publish(runtime: DatabaseAccess, job_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    await runtime.live.publish_or_log(channel(job_id), *messages, of=f"export {job_id}")


def _event(
    job: ExportJob,
    contract: type[ExportJobEvent],
    actor: str | None,
    meta: RequestMeta | None,
    **payload: Any,
) -> Event:
    """The job's event: `contract` (its format and status from the job, the rest from `payload`)."""
    body = contract(format=job.format, status=job.status, **payload)
    subjects = {"job_id": job.id, "course_id": job.course_id}
    return domain_event(body, actor=actor, meta=meta, organization_id=job.organization_id, subjects=subjects)


# --- API side ---------------------------------------------------------------------------------------


async def can_view(caller: Caller, job: ExportJob) -> bool:
    """Exports are for those who manage the organization's courses (and the requester)."""
    return await leased_jobs.can_view(caller, job, service.MANAGE)


async def visible_clause(caller: Caller) -> Any:
    return await leased_jobs.visible_clause(caller, ExportJob, service.MANAGE)


async def visible_job(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> ExportJob:
    return await leased_jobs.visible_job(
        runtime, meta, ExportJob, job_id, permission=service.MANAGE, what="export job"
    )


async def submit(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, fmt: ExportFormat
) -> ExportJob:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        course = await service.course_owner(runtime, session, course_id)
        if course is None or course.status == DELETED:
            raise NotFound("No such course.")
        await authorize(meta.caller, service.MANAGE, course.organization_id)
        job = ExportJob(
            id=uuid.uuid4(),
            organization_id=course.organization_id,
            course_id=course_id,
            format=fmt.value,
            requested_by=str(meta.principal.subject),
            status=JobStatus.QUEUED.value,
            progress=0,
            created_at=utcnow(),
        )
        session.add(job)
        await session.flush()
        message = await _progress(session, job, "Queued.")
        emit(session, Outbox, _event(job, ExportRequested, meta.principal.subject, meta))
    await _publish(runtime, job.id, message)
    return job


async def cancel(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> ExportJob:
    await visible_job(runtime, meta, job_id)
    async with runtime.transaction() as session:
        job = await leased_jobs.cancel(session, ExportJob, job_id)
        if job is None:
            raise JobFinished()
        message = await _progress(session, job, "Cancelled.")
        emit(session, Outbox, _event(job, ExportCancelled, meta.principal.subject, meta))
    await _publish(runtime, job.id, message)
    return job


# --- worker side ------------------------------------------------------------------------------------


class LeaseLost(Exception):
    """The job was cancelled, or its lease expired and another worker took it."""


async def claim(runtime: DatabaseAccess, job_id: uuid.UUID) -> ExportJob | None:
    lease = runtime.settings.content.export_lease_seconds
    async with runtime.transaction() as session:
        job = await session.scalar(leased_jobs.claim(ExportJob, job_id, lease_seconds=lease, progress=1))
        if job is None:
            return None
        message = await _progress(session, job, f"Started (attempt {job.attempts}).")
    await _publish(runtime, job.id, message)
    return job


async def _step(runtime: DatabaseAccess, job: ExportJob, progress: int, message: str) -> None:
    """Record progress and renew the lease, or raise LeaseLost."""
    lease = runtime.settings.content.export_lease_seconds
    async with runtime.transaction() as session:
        row = await session.scalar(leased_jobs.renew(ExportJob, job, lease_seconds=lease, progress=progress))
        if row is None:
            raise LeaseLost()
        live = await _progress(session, row, message)
    await _publish(runtime, job.id, live)


async def _fail(runtime: DatabaseAccess, job: ExportJob, error: str) -> bool:
    async with runtime.transaction() as session:
        row = await session.scalar(leased_jobs.finish(ExportJob, job, JobStatus.FAILED.value, error=error))
        if row is None:
            return False
        live = await _progress(session, row, "Failed.")
        emit(
            session,
            Outbox,
            _event(row, ExportFailed, None, None, error=row.error),
        )
    await _publish(runtime, job.id, live)
    return True


async def lesson_attachments(
    runtime: DatabaseAccess, lesson_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Attachment]]:
    """The current version of every live attachment of these lessons (at most MAX_ATTACHMENT_BYTES each)."""
    if not lesson_ids:
        return {}
    async with runtime.transaction() as session:
        rows = (
            await session.execute(
                select(ContentItem, ContentVersion)
                .join(ContentVersion, ContentVersion.id == ContentItem.current_version_id)
                .where(
                    ContentItem.lesson_id.in_(lesson_ids),
                    ContentItem.deleted_at.is_(None),
                    ContentItem.kind == service.ItemKind.ATTACHMENT.value,
                    ContentVersion.size <= MAX_ATTACHMENT_BYTES,
                )
                .order_by(ContentItem.created_at, ContentItem.id)
            )
        ).all()
    storage = service.storage_of(runtime)
    found: dict[uuid.UUID, list[Attachment]] = {}
    for item, version in rows:
        assert item.lesson_id is not None  # the query selects lessons' attachments only
        data = await read_all(storage, blob_key(version.sha256))
        found.setdefault(item.lesson_id, []).append(
            Attachment(name=item.name, mime_type=version.mime_type, data=data)
        )
    return found


async def default_reader(runtime: DatabaseAccess, job: ExportJob) -> CourseDocument:
    async def attachments(lesson_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Attachment]]:
        return await lesson_attachments(runtime, lesson_ids)

    return await read_course(
        runtime.settings,
        course_id=job.course_id,
        organization_id=job.organization_id,
        attachments=attachments,
    )


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _store_result(runtime: DatabaseAccess, job: ExportJob, title: str, data: bytes) -> None:
    """Store the export as the course's EXPORT item of this format (a new version), and finish the job in
    the same transaction; LeaseLost (nothing recorded) when the job was cancelled or taken over."""
    fmt = ExportFormat(job.format)
    extension, mime_type = FILE_NAMES[fmt]
    storage = service.storage_of(runtime)
    written = await storage.write(staging_key(job.id), _one(data), max_bytes=len(data))
    async with runtime.transaction() as session:
        await service.lock_quota(session, job.organization_id)
        await service._check_quota(session, runtime.settings, job.organization_id, written.size)
        await service._store_blob(session, storage, staging_key(job.id), written.sha256, written.size)
        item = await session.scalar(
            select(ContentItem)
            .where(
                ContentItem.course_id == job.course_id,
                ContentItem.kind == service.ItemKind.EXPORT.value,
                ContentItem.export_format == fmt.value,
                ContentItem.deleted_at.is_(None),
            )
            .with_for_update()
        )
        if item is None:
            item = await service.new_item(
                session,
                organization_id=job.organization_id,
                course_id=job.course_id,
                name=f"{_slug(title)}.{extension}",
                kind=service.ItemKind.EXPORT.value,
                export_format=fmt.value,
                owner_id=job.requested_by,
            )
        version = await service._add_version(
            session, item, written.sha256, written.size, mime_type, job.requested_by
        )
        row = await session.scalar(
            leased_jobs.finish(
                ExportJob,
                job,
                JobStatus.SUCCEEDED.value,
                progress=100,
                item_id=item.id,
                version_id=version.id,
            )
        )
        if row is None:
            raise LeaseLost()  # rolls the new version back; the stored bytes are harmless
        live = await _progress(session, row, "Succeeded.")
        emit(
            session,
            Outbox,
            _event(row, ExportSucceeded, None, None, item_id=item.id, size=written.size),
        )
    await _publish(runtime, job.id, live)


def _slug(title: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    return "-".join(filter(None, cleaned.split("-")))[:80] or "course"


async def run_job(runtime: DatabaseAccess, job_id: uuid.UUID, *, reader: Any = None) -> JobStatus | None:
    """Run one export to its end if it is ours to run; its final status, or None if not run here.
    `reader(runtime, job) -> CourseDocument` (default: through the router)."""
    job = await claim(runtime, job_id)
    if job is None:
        return None
    settings = runtime.settings.content
    if job.attempts > settings.export_max_attempts:
        await _fail(runtime, job, f"Interrupted {job.attempts - 1} times; giving up.")
        return JobStatus.FAILED
    try:
        await _step(runtime, job, 10, "Reading the course.")
        document = await (reader or default_reader)(runtime, job)
        await _step(runtime, job, 40, f"Writing {job.format}.")
        data = await asyncio.to_thread(exports.render, ExportFormat(job.format), document)
        await _step(runtime, job, 80, "Storing.")
        await _store_result(runtime, job, document.title, data)
    except LeaseLost:
        log.info("export %s was cancelled or taken over; stopping", job.id)
        return None
    except CourseUnreadable as exc:
        await _fail(runtime, job, str(exc))
        return JobStatus.FAILED
    except QuotaExceeded as exc:
        await _fail(runtime, job, exc.message)
        return JobStatus.FAILED
    except Exception:
        log.exception("export %s failed", job.id)
        await _fail(runtime, job, "The export failed unexpectedly.")
        return JobStatus.FAILED
    return JobStatus.SUCCEEDED


async def requeue_expired(runtime: DatabaseAccess) -> list[uuid.UUID]:
    """RUNNING jobs whose lease expired (their worker died) go back to QUEUED with a new queue event."""
    messages: list[tuple[uuid.UUID, dict[str, Any]]] = []
    async with runtime.transaction() as session:
        jobs = (await session.scalars(leased_jobs.requeue_expired(ExportJob))).all()
        for job in jobs:
            messages.append((job.id, await _progress(session, job, "Requeued: its worker stopped.")))
            emit(session, Outbox, _event(job, ExportRequested, None, None, requeued=True))
    for job_id, message in messages:
        await _publish(runtime, job_id, message)
    return [job_id for job_id, _ in messages]

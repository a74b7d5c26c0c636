"""The content domain's consumers (run by `coursegraph worker`): its projections of other domains.

- course_owner (core.course_owners): which organization owns a course, and its status;
- lesson_owner: which course a lesson belongs to (`courses.lesson.created|deleted`);
- organization_quota: each organization's `storage_quota_bytes` setting.
Each is an upsert that only a newer event overwrites, so redelivery and reordering are harmless.

And the export worker: `content.export.requested` events (group `content-exports`) run their job; only a
claim in PostgreSQL runs one, so redelivery is harmless, and each read first requeues jobs whose worker died.
The import worker does the same for `content.import.requested` (group `content-imports`), and import jobs
end when the courses and quizzes workers report (`*.import.applied`, group `content-imported`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.content import exporting, importing, service
from subgraphs.content.models import CourseOwner
from subgraphs.contracts.base import EventPayload, parse_if
from subgraphs.contracts.content import ExportRequested, ImportRequested
from subgraphs.core.consumers import TransactionConsumer
from subgraphs.core.context import WorkerRuntime
from subgraphs.core.course_owners import CourseOwnersConsumer
from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, keep_running, stream_name
from subgraphs.core.live import LiveHub
from subgraphs.core.settings import Settings

log = logging.getLogger("coursegraph.content")


@dataclass(frozen=True)
class JobKind:
    """One kind of content job: the event that requests one, the subject id naming the job, how a job runs
    and how the jobs whose worker died are swept."""

    requested: type[EventPayload]
    job_key: str
    run: Callable[[WorkerRuntime, uuid.UUID], Awaitable[object]]
    sweep: Callable[[WorkerRuntime], Awaitable[object]]


class JobWorker(Consumer):
    """Runs the jobs of its `kind` that `events.content` requests. Only a claim in PostgreSQL runs a job,
    so redelivery is harmless; each read first sweeps the jobs whose worker died."""

    streams: ClassVar[tuple[str, ...]] = (stream_name("content"),)
    kind: ClassVar[JobKind]

    def __init__(
        self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, **options: Any
    ) -> None:
        super().__init__(redis, **options)
        self.runtime = WorkerRuntime(settings, sessionmaker, redis, LiveHub(redis))

    async def handle(self, event: Event) -> None:
        if parse_if(event, self.kind.requested) is not None:
            await self.kind.run(self.runtime, uuid.UUID(event.subject_ids[self.kind.job_key]))

    async def consume_once(self, *, block_ms: int | None = None) -> int:
        await self.kind.sweep(self.runtime)
        return await super().consume_once(block_ms=block_ms)


class ExportWorker(JobWorker):
    """`content.export.requested` (group content-exports): run the export; expired leases are requeued."""

    group: ClassVar[str] = "content-exports"
    kind = JobKind(ExportRequested, "job_id", run=exporting.run_job, sweep=exporting.requeue_expired)


class ImportWorker(JobWorker):
    """`content.import.requested` (group content-imports): read the cartridge and announce the course;
    imports whose lease ended are requeued or failed."""

    group: ClassVar[str] = "content-imports"
    kind = JobKind(ImportRequested, "import_id", run=importing.run_job, sweep=importing.sweep)


class ImportProgressConsumer(TransactionConsumer):
    """`courses.import.applied` and `quizzes.import.applied` finish import jobs (group content-imported)."""

    group: ClassVar[str] = "content-imported"
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"), stream_name("quizzes"))

    async def apply(self, session: AsyncSession, event: Event) -> None:
        await importing.record_applied(session, event)


class LessonOwnersConsumer(TransactionConsumer):
    group: ClassVar[str] = service.LESSON_OWNERS_GROUP
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    async def apply(self, session: AsyncSession, event: Event) -> None:
        await service.record_lesson_event(session, event)


class OrganizationQuotasConsumer(TransactionConsumer):
    group: ClassVar[str] = "content-organizations"
    streams: ClassVar[tuple[str, ...]] = (stream_name("organizations"),)

    async def apply(self, session: AsyncSession, event: Event) -> None:
        await service.record_organization_event(session, event)


class UploadSweep:
    """Worker task: forget uploads abandoned for a day, and their staged bytes, every hour."""

    def __init__(self, runtime: WorkerRuntime, interval: float = 3600.0) -> None:
        self.runtime, self.interval = runtime, interval

    async def run(self, stop: asyncio.Event) -> None:
        while keep_running(stop):
            try:
                await service.sweep_uploads(self.runtime, older_than=timedelta(days=1))
            except Exception:
                log.exception("content: upload sweep failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        ExportWorker(deps.redis, deps.sessionmaker, deps.settings, **deps.consumer_options),
        ImportWorker(deps.redis, deps.sessionmaker, deps.settings, **deps.consumer_options),
        ImportProgressConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        UploadSweep(WorkerRuntime(deps.settings, deps.sessionmaker, deps.redis, LiveHub(deps.redis))),
        CourseOwnersConsumer(
            deps.redis,
            deps.sessionmaker,
            model=CourseOwner,
            group=service.COURSE_OWNERS_GROUP,
            **deps.consumer_options,
        ),
        LessonOwnersConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        OrganizationQuotasConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
    ]

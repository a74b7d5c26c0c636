"""The generation worker: a consumer of `events.generator` (group `generator-jobs`) that runs queued jobs.

At least once: a `generator.job.requested` event stays pending until its job has run; redelivery is
harmless because only a claim (QUEUED → RUNNING in PostgreSQL) runs a job. Before each read the consumer
sweeps RUNNING jobs whose lease expired (a worker died mid-job) back to the queue.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.context import WorkerRuntime
from subgraphs.core.course_owners import CourseOwnersConsumer
from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.live import LiveHub
from subgraphs.core.settings import Settings
from subgraphs.generator import courses, jobs, running
from subgraphs.generator.budgets import OrganizationBudgetsConsumer
from subgraphs.generator.models import CourseOwner
from subgraphs.generator.providers.base import TextGenerator
from subgraphs.generator.providers.chain import build_chain


class GenerationWorker(Consumer):
    group: ClassVar[str] = "generator-jobs"
    streams: ClassVar[tuple[str, ...]] = (stream_name("generator"),)

    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        generator: TextGenerator | None = None,
        **options: Any,
    ) -> None:
        super().__init__(redis, **options)
        self.runtime = WorkerRuntime(settings, sessionmaker, redis, LiveHub(redis))
        self.generator = generator or build_chain(settings.generator)

    async def handle(self, event: Event) -> None:
        if event.type != jobs.REQUESTED:
            return
        await running.run_job(self.runtime, self.generator, uuid.UUID(event.subject_ids["job_id"]))

    async def consume_once(self, *, block_ms: int | None = None) -> int:
        await running.requeue_expired(self.runtime)
        return await super().consume_once(block_ms=block_ms)


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        GenerationWorker(deps.redis, deps.sessionmaker, deps.settings, **deps.consumer_options),
        OrganizationBudgetsConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        CourseOwnersConsumer(
            deps.redis,
            deps.sessionmaker,
            model=CourseOwner,
            group=courses.COURSE_OWNERS_GROUP,
            **deps.consumer_options,
        ),
    ]

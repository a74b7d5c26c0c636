"""The content domain's consumers (run by `coursegraph worker`): its projections of other domains.

- course_owner (core.course_owners): which organization owns a course, and its status;
- lesson_owner: which course a lesson belongs to (`courses.lesson.created|deleted`);
- organization_quota: each organization's `storage_quota_bytes` setting.
Each is an upsert that only a newer event overwrites, so redelivery and reordering are harmless.
"""

from __future__ import annotations

from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.content import service
from subgraphs.content.models import CourseOwner
from subgraphs.core.course_owners import CourseOwnersConsumer
from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, stream_name


class LessonOwnersConsumer(Consumer):
    group: ClassVar[str] = "content-lessons"
    streams: ClassVar[tuple[str, ...]] = (stream_name("courses"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **options: Any) -> None:
        super().__init__(redis, **options)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        async with self._sessionmaker() as session, session.begin():
            await service.record_lesson_event(session, event)


class OrganizationQuotasConsumer(Consumer):
    group: ClassVar[str] = "content-organizations"
    streams: ClassVar[tuple[str, ...]] = (stream_name("organizations"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **options: Any) -> None:
        super().__init__(redis, **options)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        async with self._sessionmaker() as session, session.begin():
            await service.record_organization_event(session, event)


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        CourseOwnersConsumer(
            deps.redis,
            deps.sessionmaker,
            model=CourseOwner,
            group="content-course-owners",
            **deps.consumer_options,
        ),
        LessonOwnersConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        OrganizationQuotasConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
    ]

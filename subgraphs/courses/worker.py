"""The courses domain's background tasks: applying generated syllabi, slide decks and exercises, and
creating imported courses."""

from __future__ import annotations

from subgraphs.core.domains import WorkerDeps
from subgraphs.courses.generated import GeneratedContentConsumer
from subgraphs.courses.imported import ImportedCourseConsumer


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        GeneratedContentConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        ImportedCourseConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
    ]

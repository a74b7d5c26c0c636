"""The courses domain's background tasks: applying generated syllabi, slide decks and exercises."""

from __future__ import annotations

from subgraphs.core.domains import WorkerDeps
from subgraphs.courses.generated import GeneratedContentConsumer


def worker_tasks(deps: WorkerDeps) -> list:
    return [GeneratedContentConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options)]

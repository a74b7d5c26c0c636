"""The analytics domain's background task: the consumer of every domain's events (and events.labs)."""

from __future__ import annotations

from subgraphs.analytics.ingest import AnalyticsConsumer
from subgraphs.core.domains import WorkerDeps


def worker_tasks(deps: WorkerDeps) -> list:
    return [AnalyticsConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options)]

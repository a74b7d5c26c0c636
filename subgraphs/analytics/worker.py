"""The analytics domain's background tasks: the consumer of every domain's events (and events.labs) and
the risk sweep (levels that rise with inactivity alone)."""

from __future__ import annotations

from subgraphs.analytics.ingest import AnalyticsConsumer, RiskSweep
from subgraphs.core.domains import WorkerDeps


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        AnalyticsConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        RiskSweep(deps.sessionmaker, deps.redis, deps.settings.analytics.risk_sweep_interval_seconds),
    ]

"""The labs domain's background tasks (run by `coursegraph worker`).

- `LabsProjectionConsumer` (group `labs-projection`): exercises, courses, enrollments and organization lab
  settings from `events.courses` / `events.organizations`, for authorization and limits.
- `LabsLifecycle`: a consumer of `events.labs` (group `labs-lifecycle`) that starts requested labs and
  carries out pause/resume/stop intents, plus the monitor loop (lifecycle.monitor_once) that pauses idle
  labs, stops long-paused ones, fails dead ones and reconciles the runtime with the database — at start
  and every `monitor_interval_seconds`. At least once: only a won transition acts, so a redelivered event
  or a second worker does nothing twice.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis

from subgraphs.core.domains import WorkerDeps
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.live import LiveHub
from subgraphs.labs import lifecycle, transitions
from subgraphs.labs.lifecycle import LabsLifecycle, LabWorkerRuntime
from subgraphs.labs.projection import LabsProjectionConsumer
from subgraphs.labs.runtimes.base import LabRuntime

INTENTS = frozenset(
    {
        transitions.REQUESTED,
        transitions.PAUSE_REQUESTED,
        transitions.RESUME_REQUESTED,
        transitions.STOP_REQUESTED,
    }
)


class LabIntentConsumer(Consumer):
    group: ClassVar[str] = "labs-lifecycle"
    streams: ClassVar[tuple[str, ...]] = (stream_name("labs"),)

    def __init__(self, redis: Redis, owner: LabsLifecycle | None = None, **options: Any) -> None:
        super().__init__(redis, **options)
        self.owner = owner

    async def handle(self, event: Event) -> None:
        assert self.owner is not None
        if event.type not in INTENTS:
            return  # transitions and `labs.authz.denied` share the stream: only intents are acted on
        rt = self.owner.rt
        session_id = uuid.UUID(event.subject_ids["session_id"])
        if event.type == transitions.REQUESTED:
            self.owner.spawn_start(session_id)  # runs beside the consumer; the monitor covers a crash
        elif event.type == transitions.PAUSE_REQUESTED:
            await lifecycle.carry_out_pause(rt, session_id)
        elif event.type == transitions.RESUME_REQUESTED:
            await lifecycle.carry_out_resume(rt, session_id)
        elif event.type == transitions.STOP_REQUESTED:
            await lifecycle.carry_out_stop(rt, session_id)


def build_lifecycle(
    deps: WorkerDeps, labs: LabRuntime | None = None, *, name: str | None = None
) -> LabsLifecycle:
    rt = LabWorkerRuntime(deps.settings, deps.sessionmaker, deps.redis, LiveHub(deps.redis), labs=labs)
    options = dict(deps.consumer_options)
    if name:
        options["name"] = name
    consumer = LabIntentConsumer(deps.redis, **options)
    owner = LabsLifecycle(rt, consumer)
    consumer.owner = owner
    return owner


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        LabsProjectionConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        build_lifecycle(deps),
    ]

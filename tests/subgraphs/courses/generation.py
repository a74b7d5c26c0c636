"""Generation results applied for real: a job submitted to the generator service, run with the OFFLINE
provider, applied with `generator.api.apply` — so the `generator.result.applied` event under test is
exactly what the generator emits — then delivered through the relay and Redis streams to a consumer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from subgraphs.contracts.generation import Kind
from subgraphs.core.domains import outboxes
from subgraphs.core.events import Consumer, Event, OutboxRelay, emit
from subgraphs.generator import api, jobs, running
from subgraphs.generator.models import CourseOwner
from subgraphs.generator.models import Outbox as GeneratorOutbox
from subgraphs.generator.providers.offline import OfflineGenerator
from tests.course_owners import announce_course
from tests.subgraphs.generator.helpers import outbox_events


class Generation:
    def __init__(self, gen_runtime: Any, worker_runtime: Callable[..., Any]) -> None:
        self.runtime = gen_runtime
        self.worker_runtime = worker_runtime

    async def applied(
        self,
        caller: Any,
        kind: Kind,
        organization_id: Any,
        *,
        course_id: Any = None,
        module_id: Any = None,
        **values: Any,
    ) -> tuple[uuid.UUID, dict]:
        """(job id, the emitted event) of a job of `kind` run to SUCCEEDED and applied by `caller`."""
        if kind is Kind.SYLLABUS:
            values = {
                "title": f"Graphs {uuid.uuid4().hex[:6]}",
                "audience": "developers",
                "duration_weeks": 3,
                **values,
            }
        else:
            values = {
                "course_title": "Graphs",
                "module_title": f"Nodes {uuid.uuid4().hex[:6]}",
                "topics": ["nodes", "edges"],
                "count": 2,
                "language": "python",
                "question_count": 3,
                "question_types": ["MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER"],
                **values,
            }
        if course_id:
            # What the worker's CourseOwnersConsumer learns from the course's `courses.course.created`.
            await announce_course(self.runtime, CourseOwner, organization_id, course_id)
        submission = api.Submission(
            kind=kind,
            organization_id=uuid.UUID(str(organization_id)),
            values=values,
            course_id=uuid.UUID(str(course_id)) if course_id else None,
            module_id=uuid.UUID(str(module_id)) if module_id else None,
        )
        job = await api.submit(self.runtime, caller.meta, submission, model="offline")
        if job.status != jobs.JobStatus.SUCCEEDED:
            await running.run_job(self.worker_runtime(), OfflineGenerator(), job.id)
        await api.apply(self.runtime, caller.meta, job.id)
        [event] = await outbox_events(self.runtime, job.id, "generator.result.applied")
        return job.id, event

    async def emit_again(self, event: dict, **changes: Any) -> Event:
        """The same announcement again under a new event id (or a forged one, with `changes`)."""
        again = Event.model_validate({**event, "id": str(uuid.uuid4()), **changes})
        async with self.runtime.transaction() as session:
            emit(session, GeneratorOutbox, again)
        return again


async def deliver(
    runtime: Any, consumer: Consumer, until: Callable[[], Awaitable[Any]], *, timeout: float = 15
) -> Any:
    """Relay committed events and run `consumer` until `until()` is truthy (another consumer of the same
    group, e.g. an e2e worker, may take some messages: wait for the state, not for a count)."""
    relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
    await consumer.ensure_groups()
    deadline = time.monotonic() + timeout
    while True:
        while await relay.relay_once():
            pass
        await consumer.consume_once(block_ms=10)
        value = await until()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached: {until}"


async def drain(runtime: Any, consumer: Consumer) -> None:
    """Relay everything and let `consumer` handle all it has (until a read finds nothing new)."""
    relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
    await consumer.ensure_groups()
    while await relay.relay_once():
        pass
    while await consumer.consume_once(block_ms=10):
        pass

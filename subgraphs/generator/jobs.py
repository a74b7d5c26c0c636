"""What the API and the worker share of a generation job: its statuses, who sees it, its events (the outbox
event, the persisted live progress event and its publication after the commit)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from subgraphs.contracts.base import contract_as
from subgraphs.contracts.generation import Kind
from subgraphs.contracts.generator import JobEvent, JobRequested
from subgraphs.core import leased_jobs
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.events import Event, domain_event
from subgraphs.core.live import append_stream_event
from subgraphs.core.rbac import Caller, Permission
from subgraphs.generator.models import GenerationEvent, GenerationJob

REQUESTED = JobRequested.TYPE
# Who sees, follows, cancels every job of an organization (instructors, organization admins); the
# requester always sees their own.
MANAGE = Permission.UPDATE_COURSES


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def channel(job_id: uuid.UUID) -> str:
    return f"generation:{job_id}"


async def can_view(caller: Caller, job: GenerationJob) -> bool:
    return await leased_jobs.can_view(caller, job, MANAGE)


async def visible_clause(caller: Caller) -> Any:
    return await leased_jobs.visible_clause(caller, GenerationJob, MANAGE)


async def visible_job(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    return await leased_jobs.visible_job(
        runtime, meta, GenerationJob, job_id, permission=MANAGE, what="generation job"
    )


async def progress_event(session: Any, job: GenerationJob, message: str, partial: str = "") -> dict[str, Any]:
    row = await append_stream_event(
        session,
        GenerationEvent,
        job.id,
        {"status": job.status, "progress": job.progress, "message": message, "partial": partial},
    )
    return row.as_message()


async def publish(runtime: DatabaseAccess, job_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    await runtime.live.publish_or_log(channel(job_id), *messages, of=f"job {job_id}")


def job_event(
    job: GenerationJob, type_: str, actor: str | None, meta: RequestMeta | None, **fields: Any
) -> Event:
    payload = contract_as(type_, JobEvent)(kind=Kind(job.kind), status=job.status, **fields)
    subjects = {"job_id": job.id, "course_id": job.course_id}
    return domain_event(
        payload, actor=actor, meta=meta, organization_id=job.organization_id, subjects=subjects
    )

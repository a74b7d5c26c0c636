"""What the API and the worker share of a generation job: its statuses, who sees it, its events (the outbox
event, the persisted live progress event and its publication after the commit)."""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import or_

from subgraphs.contracts.base import contract_as
from subgraphs.contracts.generation import Kind
from subgraphs.contracts.generator import JobEvent, JobRequested
from subgraphs.core.context import DatabaseAccess, RequestMeta
from subgraphs.core.events import Event, domain_event
from subgraphs.core.live import append_stream_event
from subgraphs.core.rbac import Caller, Permission, organizations_permitting, permitted
from subgraphs.generator.models import GenerationEvent, GenerationJob

log = logging.getLogger("coursegraph.generator")

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
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.subject == job.requested_by:
        return True
    return await permitted(caller, MANAGE, job.organization_id)


async def visible_clause(caller: Caller) -> Any:
    principal = caller.principal
    if not principal.is_authenticated:
        return GenerationJob.id.is_(None)
    orgs = await organizations_permitting(caller, MANAGE)
    if orgs.every:
        return GenerationJob.id.is_not(None)
    return or_(
        GenerationJob.requested_by == principal.subject, GenerationJob.organization_id.in_(orgs.uuids())
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
    for message in messages:
        try:
            await runtime.live.publish(channel(job_id), message)
        except Exception:  # subscribers re-read the stored events; the commit stands
            log.exception("could not publish a live event of job %s", job_id)


def job_event(
    job: GenerationJob, type_: str, actor: str | None, meta: RequestMeta | None, **fields: Any
) -> Event:
    payload = contract_as(type_, JobEvent)(kind=Kind(job.kind), status=job.status, **fields)
    subjects = {"job_id": job.id, "course_id": job.course_id}
    return domain_event(
        payload, actor=actor, meta=meta, organization_id=job.organization_id, subjects=subjects
    )

"""The API side of generation jobs: submit, read, list, cancel, apply. No GraphQL here.

Every change commits with its outbox events and its live progress event in one transaction; live events
are published after the commit. A job is submitted QUEUED with a `generator.job.requested` event (the
queue: outbox → Redis stream `events.generator` → the worker's consumer group, at least once), or answered
at once from the result cache."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from subgraphs.contracts.generation import Kind
from subgraphs.core import leased_jobs
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.course_owners import foreign_courses_read_your_writes
from subgraphs.core.db import utcnow
from subgraphs.core.errors import NotAuthenticated, NotFound
from subgraphs.core.events import emit
from subgraphs.core.pagination import Connection, PageRequest, paginate_by_time
from subgraphs.core.rbac import Permission, authorize
from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator import prompts
from subgraphs.generator.courses import COURSE_OWNERS_GROUP, refuse_archived
from subgraphs.generator.errors import BudgetExceeded, JobFinished, NotSucceeded
from subgraphs.generator.inputs import cache_key, prompt_values, result_cache
from subgraphs.generator.jobs import (
    MANAGE,
    REQUESTED,
    JobStatus,
    job_event,
    progress_event,
    publish,
    visible_clause,
    visible_job,
)
from subgraphs.generator.models import CourseOwner, GenerationJob, Outbox
from subgraphs.generator.usage import daily_budget, tokens_used_today

SUBMIT_PERMISSION = {
    Kind.SYLLABUS: Permission.CREATE_COURSES,
    Kind.SLIDES: Permission.UPDATE_COURSES,
    Kind.EXERCISES: Permission.UPDATE_COURSES,
    Kind.QUIZ: Permission.UPDATE_COURSES,
}


@dataclass(frozen=True)
class Submission:
    kind: Kind
    organization_id: uuid.UUID
    values: dict[str, Any]
    course_id: uuid.UUID | None = None
    module_id: uuid.UUID | None = None


async def submit(runtime: Runtime, meta: RequestMeta, submission: Submission, *, model: str) -> GenerationJob:
    """Validate, authorize, check the budget, then answer from the cache or queue the job.

    `model`: the model that would answer now (the chain's first available provider), part of the cache key.
    """
    principal = meta.principal
    await authorize(meta.caller, SUBMIT_PERMISSION[submission.kind], submission.organization_id)
    values = prompt_values(submission.kind, submission.values)
    settings: GeneratorSettings = runtime.settings.generator
    template = prompts.TEMPLATES[submission.kind]
    cached = await result_cache(runtime.redis).get(cache_key(submission.kind, model, values))
    async with runtime.transaction() as session:
        if submission.course_id is not None and await foreign_courses_read_your_writes(
            runtime,
            session,
            CourseOwner,
            COURSE_OWNERS_GROUP,
            submission.organization_id,
            [submission.course_id],
        ):
            raise NotFound("No such course in this organization.")
        await refuse_archived(session, submission.course_id)
        if cached is None:
            budget = await daily_budget(session, settings, submission.organization_id)
            used = await tokens_used_today(session, submission.organization_id)
            if used >= budget:
                raise BudgetExceeded(budget, used)
        job = GenerationJob(
            id=uuid.uuid4(),
            organization_id=submission.organization_id,
            course_id=submission.course_id,
            module_id=submission.module_id,
            requested_by=str(principal.subject),
            requested_by_kind=principal.kind,
            kind=submission.kind.value,
            status=JobStatus.QUEUED.value,
            input=values,
            prompt_version=template.version,
            progress=0,
            created_at=utcnow(),
        )
        session.add(job)
        await session.flush()
        messages = [await progress_event(session, job, "Queued.")]
        if cached is None:
            emit(session, Outbox, job_event(job, REQUESTED, principal.subject, meta))
        else:
            job.status = JobStatus.SUCCEEDED.value
            job.progress = 100
            job.result = cached["result"]
            job.provider = cached["provider"]
            job.model = cached["model"]
            job.cached = True
            job.finished_at = utcnow()
            messages.append(await progress_event(session, job, "Answered from the cache."))
            emit(
                session,
                Outbox,
                job_event(job, "generator.job.succeeded", principal.subject, meta, cached=True),
            )
    await publish(runtime, job.id, *messages)
    return job


async def get_job(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob | None:
    try:
        return await visible_job(runtime, meta, job_id)
    except NotFound:
        return None


@dataclass(frozen=True)
class JobFilter:
    organization_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    status: JobStatus | None = None
    kind: Kind | None = None


async def list_jobs(
    runtime: Runtime,
    meta: RequestMeta,
    flt: JobFilter,
    *,
    page: PageRequest,
) -> Connection:
    """The jobs the caller may see, filtered, newest first."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    stmt = select(GenerationJob).where(await visible_clause(meta.caller))
    if flt.organization_id:
        stmt = stmt.where(GenerationJob.organization_id == flt.organization_id)
    if flt.course_id:
        stmt = stmt.where(GenerationJob.course_id == flt.course_id)
    if flt.status:
        stmt = stmt.where(GenerationJob.status == flt.status.value)
    if flt.kind:
        stmt = stmt.where(GenerationJob.kind == flt.kind.value)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            stmt,
            (GenerationJob.created_at, GenerationJob.id),
            page=page,
            descending=True,
        )


async def cancel(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    await visible_job(runtime, meta, job_id)
    async with runtime.transaction() as session:
        job = await leased_jobs.cancel(session, GenerationJob, job_id)
        if job is None:
            raise JobFinished()
        message = await progress_event(session, job, "Cancelled.")
        emit(session, Outbox, job_event(job, "generator.job.cancelled", meta.principal.subject, meta))
    await publish(runtime, job.id, message)
    return job


async def apply(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    """Emit `generator.result.applied` with the validated result, once: applying again changes nothing."""
    job = await visible_job(runtime, meta, job_id)
    await authorize(meta.caller, MANAGE, job.organization_id)
    async with runtime.transaction() as session:
        job = await session.get(GenerationJob, job_id, with_for_update=True)
        assert job is not None
        if job.status != JobStatus.SUCCEEDED:
            raise NotSucceeded()
        await refuse_archived(session, job.course_id)
        if job.applied_at is None:
            job.applied_at = utcnow()
            job.applied_by = meta.principal.subject
            emit(
                session,
                Outbox,
                job_event(
                    job,
                    "generator.result.applied",
                    meta.principal.subject,
                    meta,
                    organization_id=str(job.organization_id),
                    course_id=str(job.course_id) if job.course_id else None,
                    module_id=str(job.module_id) if job.module_id else None,
                    requested_by=job.requested_by,
                    requested_by_kind=job.requested_by_kind,
                    result=job.result,
                ),
            )
    return job

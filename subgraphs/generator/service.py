"""The generator domain's operations: submit, read, cancel, apply, usage — and running a job (worker side).

Every change commits with its outbox events and its live progress event in one transaction; live events
are published after the commit. A job is submitted QUEUED with a `generator.job.requested` event (the
queue: outbox → Redis stream `events.generator` → the worker's consumer group, at least once). A worker
claims it with QUEUED → RUNNING (lease token + expiry, renewed by a heartbeat) and completes it only while
it holds that lease: a job never completes twice. A job whose lease expired (its worker died) is requeued
by the worker's sweep, or FAILED with a reason after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, or_, select, update

from subgraphs.contracts.base import contract_as
from subgraphs.contracts.generation import Kind
from subgraphs.contracts.generator import JobEvent, JobRequested
from subgraphs.contracts.vocabulary import Difficulty
from subgraphs.core.cache import Cache
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.course_owners import foreign_courses_read_your_writes
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.live import append_stream_event
from subgraphs.core.rbac import Caller, Permission, authorize, organizations_permitting, permitted
from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator import prompts
from subgraphs.generator.courses import refuse_archived
from subgraphs.generator.errors import BudgetExceeded, JobFinished, NotSucceeded
from subgraphs.generator.models import (
    CourseOwner,
    GenerationEvent,
    GenerationJob,
    OrganizationBudget,
    Outbox,
)
from subgraphs.generator.pipeline import GenerationFailed, Outcome, generate
from subgraphs.generator.providers.base import ProviderError, ProviderName, TextGenerator

log = logging.getLogger("coursegraph.generator")
# The worker's consumer group that keeps this domain's CourseOwner table (worker.py).
COURSE_OWNERS_GROUP = "generator-course-owners"

REQUESTED = JobRequested.TYPE
SUBMIT_PERMISSION = {
    Kind.SYLLABUS: Permission.CREATE_COURSES,
    Kind.SLIDES: Permission.UPDATE_COURSES,
    Kind.EXERCISES: Permission.UPDATE_COURSES,
    Kind.QUIZ: Permission.UPDATE_COURSES,
}
# Who sees, follows, cancels every job of an organization (instructors, organization admins); the
# requester always sees their own.
MANAGE = Permission.UPDATE_COURSES
USAGE = Permission.VIEW_ALL_ANALYTICS
PROGRESS_INTERVAL_SECONDS = 0.25
# Rough size of a finished answer, for the progress estimate while text streams in.
EXPECTED_CHARS = {Kind.SYLLABUS: 3000, Kind.SLIDES: 4000, Kind.EXERCISES: 5000, Kind.QUIZ: 4000}


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def channel(job_id: uuid.UUID) -> str:
    return f"generation:{job_id}"


# --- inputs -----------------------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str, errors: dict[str, str], *, max_length: int = 200) -> str:
    value = " ".join(str(values.get(name) or "").split())
    if not value:
        errors[f"input.{name}"] = "Required."
    elif len(value) > max_length:
        errors[f"input.{name}"] = f"At most {max_length} characters."
    return value


def _count(values: dict[str, Any], name: str, errors: dict[str, str], low: int, high: int) -> int:
    value = values.get(name)
    if not isinstance(value, int) or not low <= value <= high:
        errors[f"input.{name}"] = f"Must be between {low} and {high}."
        return low
    return value


def _topics(values: dict[str, Any], errors: dict[str, str]) -> list[str]:
    topics = [" ".join(str(t).split()) for t in values.get("topics") or []]
    topics = [t for t in topics if t]
    if len(topics) > 30 or any(len(t) > 200 for t in topics):
        errors["input.topics"] = "At most 30 topics of at most 200 characters."
    return topics


def prompt_values(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """The validated, normalized values the prompt is rendered from (raises InvalidInput)."""
    errors: dict[str, str] = {}
    if kind is Kind.SYLLABUS:
        clean: dict[str, Any] = {
            "title": _text(values, "title", errors),
            "audience": _text(values, "audience", errors, max_length=500),
            "duration_weeks": _count(values, "duration_weeks", errors, 1, 52),
            "difficulty": str(values.get("difficulty") or Difficulty.BEGINNER),
        }
        if clean["difficulty"] not in Difficulty.__members__:
            errors["input.difficulty"] = "BEGINNER, INTERMEDIATE or ADVANCED."
    else:
        clean = {
            "course_title": _text(values, "course_title", errors),
            "module_title": _text(values, "module_title", errors),
            "topics": _topics(values, errors),
        }
        if kind is Kind.EXERCISES:
            clean["count"] = _count(values, "count", errors, 1, 20)
            clean["language"] = _text(values, "language", errors, max_length=32).lower()
        if kind is Kind.QUIZ:
            clean["question_count"] = _count(values, "question_count", errors, 1, 50)
            types = [str(t) for t in values.get("question_types") or ["MULTIPLE_CHOICE"]]
            if not types or any(t not in ("MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER") for t in types):
                errors["input.questionTypes"] = "MULTIPLE_CHOICE, TRUE_FALSE or SHORT_ANSWER."
            clean["question_types"] = sorted(set(types))
    if errors:
        raise InvalidInput(errors)
    return clean


def cache_key(kind: Kind, model: str, values: dict[str, Any]) -> str:
    """(kind, prompt template version, model, normalized input) → a stable key."""
    normalized = {
        k: (re.sub(r"\s+", " ", v).strip().lower() if isinstance(v, str) else v) for k, v in values.items()
    }
    digest = hashlib.sha256(
        orjson.dumps(
            [kind.value, prompts.TEMPLATES[kind].version, model, normalized], option=orjson.OPT_SORT_KEYS
        )
    ).hexdigest()
    return f"{kind.value.lower()}:{prompts.TEMPLATES[kind].version}:{model}:{digest}"


def result_cache(redis: Any) -> Cache:
    return Cache(redis, "generator")


def cost_of(settings: GeneratorSettings, provider: str, input_tokens: int, output_tokens: int) -> Decimal:
    if provider == ProviderName.OFFLINE:
        return Decimal(0)
    usd = (
        input_tokens * settings.input_usd_per_mtok / 1e6 + output_tokens * settings.output_usd_per_mtok / 1e6
    )
    return Decimal(str(round(usd, 6)))


# --- visibility -------------------------------------------------------------------------------------


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


async def _visible_job(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        job = await session.get(GenerationJob, job_id)
    if job is None:
        raise NotFound("No such generation job.")
    if not await can_view(meta.caller, job):
        # Another tenant's job is refused like a missing one would be to a stranger, but recorded.
        raise Forbidden()
    return job


# --- events -----------------------------------------------------------------------------------------


async def _progress_event(
    session: Any, job: GenerationJob, message: str, partial: str = ""
) -> dict[str, Any]:
    row = await append_stream_event(
        session,
        GenerationEvent,
        job.id,
        {"status": job.status, "progress": job.progress, "message": message, "partial": partial},
    )
    return row.as_message()


async def _publish(runtime: DatabaseAccess, job_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    for message in messages:
        try:
            await runtime.live.publish(channel(job_id), message)
        except Exception:  # subscribers re-read the stored events; the commit stands
            log.exception("could not publish a live event of job %s", job_id)


def _event(
    job: GenerationJob, type_: str, actor: str | None, meta: RequestMeta | None, **fields: Any
) -> Event:
    payload = contract_as(type_, JobEvent)(kind=Kind(job.kind), status=job.status, **fields)
    subjects = {"job_id": job.id, "course_id": job.course_id}
    return domain_event(
        payload, actor=actor, meta=meta, organization_id=job.organization_id, subjects=subjects
    )


# --- submit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    kind: Kind
    organization_id: uuid.UUID
    values: dict[str, Any]
    course_id: uuid.UUID | None = None
    module_id: uuid.UUID | None = None


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def tokens_used_today(session: Any, organization_id: uuid.UUID) -> int:
    used = await session.scalar(
        select(func.coalesce(func.sum(GenerationJob.input_tokens + GenerationJob.output_tokens), 0)).where(
            GenerationJob.organization_id == organization_id,
            GenerationJob.finished_at >= _day_start(utcnow()),
            # Every provider's reported tokens count (OFFLINE's too), so the budget behaves the same
            # whichever provider answered; cached results spent nothing.
            GenerationJob.cached.is_(False),
        )
    )
    return int(used or 0)


async def daily_budget(session: Any, settings: GeneratorSettings, organization_id: uuid.UUID) -> int:
    """The organization's `generation_daily_token_budget` (from the budgets projection, see budgets.py),
    or the platform default when it has none."""
    own = await session.scalar(
        select(OrganizationBudget.daily_token_budget).where(
            OrganizationBudget.organization_id == organization_id
        )
    )
    return settings.daily_token_budget if own is None else own


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
        messages = [await _progress_event(session, job, "Queued.")]
        if cached is None:
            emit(session, Outbox, _event(job, REQUESTED, principal.subject, meta))
        else:
            job.status = JobStatus.SUCCEEDED.value
            job.progress = 100
            job.result = cached["result"]
            job.provider = cached["provider"]
            job.model = cached["model"]
            job.cached = True
            job.finished_at = utcnow()
            messages.append(await _progress_event(session, job, "Answered from the cache."))
            emit(
                session, Outbox, _event(job, "generator.job.succeeded", principal.subject, meta, cached=True)
            )
    await _publish(runtime, job.id, *messages)
    return job


# --- read -------------------------------------------------------------------------------------------


async def get_job(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob | None:
    try:
        return await _visible_job(runtime, meta, job_id)
    except NotFound:
        return None


@dataclass(frozen=True)
class JobFilter:
    organization_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    status: JobStatus | None = None
    kind: Kind | None = None


async def jobs_query(runtime: Runtime, meta: RequestMeta, flt: JobFilter) -> Select:
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
    return stmt


@dataclass(frozen=True)
class UsageRow:
    organization_id: uuid.UUID
    provider: ProviderName
    model: str
    jobs: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class Budget:
    organization_id: uuid.UUID
    daily_token_budget: int
    tokens_used_today: int


async def budget(runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID) -> Budget:
    """Today's token budget and what is used of it (for those who may generate: instructors, admins),
    counted as `submit` counts it."""
    await authorize(meta.caller, MANAGE, organization_id)
    async with runtime.transaction() as session:
        limit = await daily_budget(session, runtime.settings.generator, organization_id)
        used = await tokens_used_today(session, organization_id)
    return Budget(organization_id, limit, used)


async def usage(
    runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID, since: datetime | None
) -> list[UsageRow]:
    await authorize(meta.caller, USAGE, organization_id)
    since = since or _day_start(utcnow())
    async with runtime.transaction() as session:
        rows = (
            await session.execute(
                select(
                    GenerationJob.provider,
                    GenerationJob.model,
                    func.count(),
                    func.sum(GenerationJob.input_tokens),
                    func.sum(GenerationJob.output_tokens),
                    func.sum(GenerationJob.cost_usd),
                )
                .where(
                    GenerationJob.organization_id == organization_id,
                    GenerationJob.finished_at >= since,
                    GenerationJob.provider.is_not(None),
                )
                .group_by(GenerationJob.provider, GenerationJob.model)
                .order_by(GenerationJob.provider, GenerationJob.model)
            )
        ).all()
    # A provider and its model are stored together: the query's jobs have both (the check narrows).
    return [
        UsageRow(organization_id, ProviderName(p), m, int(n), int(i or 0), int(o or 0), Decimal(c or 0))
        for p, m, n, i, o, c in rows
        if p is not None and m is not None
    ]


# --- cancel and apply -------------------------------------------------------------------------------


async def cancel(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    job = await _visible_job(runtime, meta, job_id)
    async with runtime.transaction() as session:
        job = await session.get(GenerationJob, job_id, with_for_update=True)
        assert job is not None
        if job.status in TERMINAL:
            raise JobFinished()
        job.status = JobStatus.CANCELLED.value
        job.finished_at = utcnow()
        job.lease_token = None
        job.lease_expires_at = None
        message = await _progress_event(session, job, "Cancelled.")
        emit(session, Outbox, _event(job, "generator.job.cancelled", meta.principal.subject, meta))
    await _publish(runtime, job.id, message)
    return job


async def apply(runtime: Runtime, meta: RequestMeta, job_id: uuid.UUID) -> GenerationJob:
    """Emit `generator.result.applied` with the validated result, once: applying again changes nothing."""
    job = await _visible_job(runtime, meta, job_id)
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
                _event(
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


# --- the worker side --------------------------------------------------------------------------------


class LeaseLost(Exception):
    """The job was cancelled, or its lease expired and another worker took it."""


async def claim(runtime: DatabaseAccess, job_id: uuid.UUID, lease_seconds: float) -> GenerationJob | None:
    """QUEUED → RUNNING (or take over an expired lease). None when the job is not ours to run."""
    now = utcnow()
    async with runtime.transaction() as session:
        job = await session.scalar(
            update(GenerationJob)
            .where(
                GenerationJob.id == job_id,
                or_(
                    GenerationJob.status == JobStatus.QUEUED.value,
                    and_(
                        GenerationJob.status == JobStatus.RUNNING.value, GenerationJob.lease_expires_at < now
                    ),
                ),
            )
            .values(
                status=JobStatus.RUNNING.value,
                lease_token=uuid.uuid4(),
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=GenerationJob.attempts + 1,
                started_at=func.coalesce(GenerationJob.started_at, now),
                progress=1,
            )
            .returning(GenerationJob)
        )
        if job is None:
            return None
        message = await _progress_event(session, job, f"Started (attempt {job.attempts}).")
    await _publish(runtime, job.id, message)
    return job


async def _renew(
    runtime: DatabaseAccess, job: GenerationJob, lease_seconds: float, **values: Any
) -> GenerationJob:
    """Extend the lease (and set `values`), or raise LeaseLost."""
    async with runtime.transaction() as session:
        row = await session.scalar(
            update(GenerationJob)
            .where(
                GenerationJob.id == job.id,
                GenerationJob.status == JobStatus.RUNNING.value,
                GenerationJob.lease_token == job.lease_token,
            )
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds), **values)
            .returning(GenerationJob)
        )
        if row is None:
            raise LeaseLost()
        return row


async def _finish(
    runtime: DatabaseAccess,
    job: GenerationJob,
    status: JobStatus,
    message: str,
    event_type: str,
    *,
    partial: str = "",
    **values: Any,
) -> bool:
    """RUNNING (with our lease) → a final status, with its event. False when the lease was lost."""
    async with runtime.transaction() as session:
        row = await session.scalar(
            update(GenerationJob)
            .where(
                GenerationJob.id == job.id,
                GenerationJob.status == JobStatus.RUNNING.value,
                GenerationJob.lease_token == job.lease_token,
            )
            .values(
                status=status.value, finished_at=utcnow(), lease_token=None, lease_expires_at=None, **values
            )
            .returning(GenerationJob)
        )
        if row is None:
            return False
        live = await _progress_event(session, row, message, partial)
        emit(
            session,
            Outbox,
            _event(
                row,
                event_type,
                None,
                None,
                provider=row.provider,
                model=row.model,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                cost_usd=str(row.cost_usd),
                error=row.error,
            ),
        )
    await _publish(runtime, job.id, live)
    return True


def configured_model(generator: TextGenerator, provider: ProviderName) -> str:
    """The configured model name of the provider that answered: the cache key uses it (the API may answer
    with a dated model id for an alias; submissions only know the configured name)."""
    for candidate in getattr(generator, "providers", None) or [generator]:
        if candidate.name == provider:
            return candidate.model
    return generator.model


async def run_job(runtime: DatabaseAccess, generator: TextGenerator, job_id: uuid.UUID) -> JobStatus | None:
    """Run one job to its end if it is ours to run. Returns its final status, or None if not run here."""
    settings: GeneratorSettings = runtime.settings.generator
    job = await claim(runtime, job_id, settings.lease_seconds)
    if job is None:
        return None
    if job.attempts > settings.max_attempts:
        await _finish(
            runtime,
            job,
            JobStatus.FAILED,
            "Failed.",
            "generator.job.failed",
            error=f"The job was interrupted {job.attempts - 1} times (its worker stopped); giving up.",
        )
        return JobStatus.FAILED
    kind = Kind(job.kind)
    cache = result_cache(runtime.redis)
    cached = await cache.get(cache_key(kind, generator.model, job.input))
    if cached is not None:
        await _finish(
            runtime,
            job,
            JobStatus.SUCCEEDED,
            "Answered from the cache.",
            "generator.job.succeeded",
            result=cached["result"],
            provider=cached["provider"],
            model=cached["model"],
            cached=True,
            progress=100,
        )
        return JobStatus.SUCCEEDED

    # What the progress events carried so far; the final event carries the rest of the streamed text.
    sent: dict[str, Any] = {"chars": 0, "at": 0.0, "attempt": 1, "text": ""}
    loop = asyncio.get_running_loop()

    async def on_text(text: str, attempt: int) -> None:
        now = loop.time()
        sent["text"] = text
        interrupted = attempt == sent["attempt"] and len(text) < sent["chars"]
        if attempt != sent["attempt"] or interrupted:  # a re-ask or a retried stream: the text starts over
            sent.update(chars=0, attempt=attempt, at=0.0)
        if now - sent["at"] < PROGRESS_INTERVAL_SECONDS and sent["chars"]:
            return
        partial = text[sent["chars"] :]
        # An estimate from the text so far; it never goes back, even when the text starts over.
        sent["progress"] = max(
            sent.get("progress", 1), min(95, 5 + int(90 * len(text) / EXPECTED_CHARS[kind]))
        )
        if interrupted:
            message = "Writing (the connection dropped; starting over)."
        elif attempt == 1:
            message = "Writing."
        else:
            message = f"Writing (re-asked after invalid output, attempt {attempt})."
        async with runtime.transaction() as session:
            row = await session.scalar(
                update(GenerationJob)
                .where(
                    GenerationJob.id == job.id,
                    GenerationJob.status == JobStatus.RUNNING.value,
                    GenerationJob.lease_token == job.lease_token,
                )
                .values(
                    progress=sent["progress"],
                    lease_expires_at=utcnow() + timedelta(seconds=settings.lease_seconds),
                )
                .returning(GenerationJob)
            )
            if row is None:
                raise LeaseLost()
            live = await _progress_event(session, row, message, partial)
        await _publish(runtime, job.id, live)
        sent.update(chars=len(text), at=now)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(settings.lease_seconds / 3)
            await _renew(runtime, job, settings.lease_seconds)

    work = asyncio.ensure_future(
        generate(generator, kind, job.input, reask_attempts=settings.reask_attempts, on_text=on_text)
    )
    beat = asyncio.ensure_future(heartbeat())
    try:
        done, _ = await asyncio.wait({work, beat}, return_when=asyncio.FIRST_COMPLETED)
        if beat in done:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await work
            beat.result()  # raises LeaseLost (or the database error) from the heartbeat
        outcome: Outcome = work.result()
    except LeaseLost:
        log.info("job %s was cancelled or taken over; stopping", job.id)
        return None
    except GenerationFailed as failed:
        tokens_in = sum(u.input_tokens for u in failed.usage)
        tokens_out = sum(u.output_tokens for u in failed.usage)
        provider = failed.usage[-1].provider.value if failed.usage else None
        await _finish(
            runtime,
            job,
            JobStatus.FAILED,
            "Failed.",
            "generator.job.failed",
            error=failed.reason,
            provider=provider,
            model=failed.usage[-1].model if failed.usage else None,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost_of(settings, provider or "", tokens_in, tokens_out),
        )
        return JobStatus.FAILED
    except ProviderError as exc:
        await _finish(
            runtime,
            job,
            JobStatus.FAILED,
            "Failed.",
            "generator.job.failed",
            error=f"No provider could answer: {exc}",
        )
        return JobStatus.FAILED
    finally:
        for task in (work, beat):
            task.cancel()
        for task in (work, beat):
            with contextlib.suppress(BaseException):
                await task
    finished = await _finish(
        runtime,
        job,
        JobStatus.SUCCEEDED,
        "Succeeded.",
        "generator.job.succeeded",
        partial=sent["text"][sent["chars"] :],
        result=outcome.result,
        provider=outcome.provider.value,
        model=outcome.model,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        cost_usd=cost_of(settings, outcome.provider.value, outcome.input_tokens, outcome.output_tokens),
        progress=100,
    )
    if not finished:
        return None
    await cache.set(
        cache_key(kind, configured_model(generator, outcome.provider), job.input),
        {"result": outcome.result, "provider": outcome.provider.value, "model": outcome.model},
        ttl_seconds=settings.cache_ttl_seconds,
    )
    return JobStatus.SUCCEEDED


async def requeue_expired(runtime: DatabaseAccess) -> list[uuid.UUID]:
    """RUNNING jobs whose lease expired (their worker died) go back to QUEUED with a new queue event."""
    now = utcnow()
    messages: list[tuple[uuid.UUID, dict[str, Any]]] = []
    async with runtime.transaction() as session:
        jobs: Sequence[GenerationJob] = (
            await session.scalars(
                update(GenerationJob)
                .where(GenerationJob.status == JobStatus.RUNNING.value, GenerationJob.lease_expires_at < now)
                .values(status=JobStatus.QUEUED.value, lease_token=None, lease_expires_at=None)
                .returning(GenerationJob)
            )
        ).all()
        for job in jobs:
            messages.append((job.id, await _progress_event(session, job, "Requeued: its worker stopped.")))
            emit(session, Outbox, _event(job, REQUESTED, None, None, requeued=True))
    for job_id, message in messages:
        await _publish(runtime, job_id, message)
    return [job_id for job_id, _ in messages]

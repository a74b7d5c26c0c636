"""Running a generation job (the worker side).

A worker claims a job with QUEUED → RUNNING (lease token + expiry, renewed by a heartbeat) and completes it
only while it holds that lease: a job never completes twice. A job whose lease expired (its worker died) is
requeued by the worker's sweep, or FAILED with a reason after `max_attempts`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts.generation import Kind
from subgraphs.core import leased_jobs
from subgraphs.core.context import DatabaseAccess
from subgraphs.core.db import utcnow
from subgraphs.core.events import emit
from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.inputs import cache_key, result_cache
from subgraphs.generator.jobs import REQUESTED, JobStatus, job_event, progress_event, publish
from subgraphs.generator.models import GenerationJob, Outbox
from subgraphs.generator.pipeline import GenerationFailed, Outcome, generate
from subgraphs.generator.providers.base import ProviderError, ProviderName, TextGenerator

log = logging.getLogger("coursegraph.generator")

PROGRESS_INTERVAL_SECONDS = 0.25
# Rough size of a finished answer, for the progress estimate while text streams in.
EXPECTED_CHARS = {Kind.SYLLABUS: 3000, Kind.SLIDES: 4000, Kind.EXERCISES: 5000, Kind.QUIZ: 4000}


def cost_of(settings: GeneratorSettings, provider: str, input_tokens: int, output_tokens: int) -> Decimal:
    if provider == ProviderName.OFFLINE:
        return Decimal(0)
    usd = (
        input_tokens * settings.input_usd_per_mtok / 1e6 + output_tokens * settings.output_usd_per_mtok / 1e6
    )
    return Decimal(str(round(usd, 6)))


class LeaseLost(Exception):
    """The job was cancelled, or its lease expired and another worker took it."""


async def claim(runtime: DatabaseAccess, job_id: uuid.UUID, lease_seconds: float) -> GenerationJob | None:
    """QUEUED → RUNNING (or take over an expired lease). None when the job is not ours to run."""
    started = func.coalesce(GenerationJob.started_at, utcnow())
    async with runtime.transaction() as session:
        job = await session.scalar(
            leased_jobs.claim(
                GenerationJob, job_id, lease_seconds=lease_seconds, started_at=started, progress=1
            )
        )
        if job is None:
            return None
        message = await progress_event(session, job, f"Started (attempt {job.attempts}).")
    await publish(runtime, job.id, message)
    return job


async def _renew(
    session: AsyncSession, job: GenerationJob, lease_seconds: float, **values: Any
) -> GenerationJob:
    """Extend the lease (and set `values`) in the caller's transaction, or raise LeaseLost."""
    row = await session.scalar(leased_jobs.renew(GenerationJob, job, lease_seconds=lease_seconds, **values))
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
        row = await session.scalar(leased_jobs.finish(GenerationJob, job, status.value, **values))
        if row is None:
            return False
        live = await progress_event(session, row, message, partial)
        emit(
            session,
            Outbox,
            job_event(
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
    await publish(runtime, job.id, live)
    return True


async def _fail(runtime: DatabaseAccess, job: GenerationJob, error: str, **values: Any) -> JobStatus:
    await _finish(runtime, job, JobStatus.FAILED, "Failed.", "generator.job.failed", error=error, **values)
    return JobStatus.FAILED


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
        interrupted = job.attempts - 1
        return await _fail(
            runtime, job, f"The job was interrupted {interrupted} times (its worker stopped); giving up."
        )
    cached = await result_cache(runtime.redis).get(cache_key(Kind(job.kind), generator.model, job.input))
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
    return await JobRun(runtime, generator, job).run()


@dataclass
class StreamedText:
    """What the progress events of a running job carried so far; the final event carries the rest."""

    text: str = ""  # the answer streamed so far
    sent_chars: int = 0  # how much of `text` the progress events carried
    sent_at: float = 0.0  # when the last one went out (event loop time)
    attempt: int = 1  # the pipeline's attempt the text belongs to (a re-ask starts over)
    progress: int = 1  # the estimate shown; it never goes back

    def unsent(self) -> str:
        return self.text[self.sent_chars :]


class JobRun:
    """A claimed job being generated: progress events while its text streams in, a heartbeat that keeps
    the lease, then the job finished with the outcome (or the failure) and the result cached."""

    def __init__(self, runtime: DatabaseAccess, generator: TextGenerator, job: GenerationJob) -> None:
        self.runtime = runtime
        self.generator = generator
        self.job = job
        self.kind = Kind(job.kind)
        self.settings: GeneratorSettings = runtime.settings.generator
        self.streamed = StreamedText()

    async def run(self) -> JobStatus | None:
        settings = self.settings
        try:
            outcome = await self._generate()
        except LeaseLost:
            log.info("job %s was cancelled or taken over; stopping", self.job.id)
            return None
        except GenerationFailed as failed:
            tokens_in = sum(u.input_tokens for u in failed.usage)
            tokens_out = sum(u.output_tokens for u in failed.usage)
            provider = failed.usage[-1].provider.value if failed.usage else None
            return await _fail(
                self.runtime,
                self.job,
                failed.reason,
                provider=provider,
                model=failed.usage[-1].model if failed.usage else None,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cost_usd=cost_of(settings, provider or "", tokens_in, tokens_out),
            )
        except ProviderError as exc:
            return await _fail(self.runtime, self.job, f"No provider could answer: {exc}")
        finished = await _finish(
            self.runtime,
            self.job,
            JobStatus.SUCCEEDED,
            "Succeeded.",
            "generator.job.succeeded",
            partial=self.streamed.unsent(),
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
        await result_cache(self.runtime.redis).set(
            cache_key(self.kind, configured_model(self.generator, outcome.provider), self.job.input),
            {"result": outcome.result, "provider": outcome.provider.value, "model": outcome.model},
            ttl_seconds=settings.cache_ttl_seconds,
        )
        return JobStatus.SUCCEEDED

    async def _generate(self) -> Outcome:
        """The pipeline's outcome, with the heartbeat running beside it; LeaseLost once the lease is gone."""
        work = asyncio.ensure_future(
            generate(
                self.generator,
                self.kind,
                self.job.input,
                reask_attempts=self.settings.reask_attempts,
                on_text=self._on_text,
            )
        )
        beat = asyncio.ensure_future(self._heartbeat())
        try:
            done, _ = await asyncio.wait({work, beat}, return_when=asyncio.FIRST_COMPLETED)
            if beat in done:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                    await work
                beat.result()  # raises LeaseLost (or the database error) from the heartbeat
            return work.result()
        finally:
            for task in (work, beat):
                task.cancel()
            for task in (work, beat):
                with contextlib.suppress(BaseException):
                    await task

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            async with self.runtime.transaction() as session:
                await _renew(session, self.job, self.settings.lease_seconds)

    async def _on_text(self, text: str, attempt: int) -> None:
        """The pipeline's text so far: a progress event with what is new, at most every
        PROGRESS_INTERVAL_SECONDS."""
        streamed = self.streamed
        now = asyncio.get_running_loop().time()
        streamed.text = text
        interrupted = attempt == streamed.attempt and len(text) < streamed.sent_chars
        if attempt != streamed.attempt or interrupted:  # a re-ask or a retried stream: the text starts over
            streamed.sent_chars, streamed.attempt, streamed.sent_at = 0, attempt, 0.0
        if now - streamed.sent_at < PROGRESS_INTERVAL_SECONDS and streamed.sent_chars:
            return
        partial = streamed.unsent()
        # An estimate from the text so far; it never goes back, even when the text starts over.
        streamed.progress = max(
            streamed.progress, min(95, 5 + int(90 * len(text) / EXPECTED_CHARS[self.kind]))
        )
        if interrupted:
            message = "Writing (the connection dropped; starting over)."
        elif attempt == 1:
            message = "Writing."
        else:
            message = f"Writing (re-asked after invalid output, attempt {attempt})."
        async with self.runtime.transaction() as session:
            row = await _renew(session, self.job, self.settings.lease_seconds, progress=streamed.progress)
            live = await progress_event(session, row, message, partial)
        await publish(self.runtime, self.job.id, live)
        streamed.sent_chars, streamed.sent_at = len(text), now


async def requeue_expired(runtime: DatabaseAccess) -> list[uuid.UUID]:
    """RUNNING jobs whose lease expired (their worker died) go back to QUEUED with a new queue event."""
    messages: list[tuple[uuid.UUID, dict[str, Any]]] = []
    async with runtime.transaction() as session:
        jobs: Sequence[GenerationJob] = (
            await session.scalars(leased_jobs.requeue_expired(GenerationJob))
        ).all()
        for job in jobs:
            messages.append((job.id, await progress_event(session, job, "Requeued: its worker stopped.")))
            emit(session, Outbox, job_event(job, REQUESTED, None, None, requeued=True))
    for job_id, message in messages:
        await publish(runtime, job_id, message)
    return [job_id for job_id, _ in messages]

"""A worker killed mid-job: the job is never stuck RUNNING — its lease expires, the sweep requeues it, another
worker finishes it, and it completes exactly once (the dead worker's lease can no longer complete it).
After `max_attempts` interruptions it FAILS with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid

from subgraphs.contracts.generation import Kind
from subgraphs.generator import jobs, running
from subgraphs.generator.providers.offline import OfflineGenerator, draft
from tests.fakes.anthropic_server import Reply
from tests.subgraphs.generator.helpers import events_of, job_row, outbox_events, syllabus_input, wait_for
from tests.subgraphs.generator.test_generation import GENERATE_SYLLABUS, anthropic


async def test_a_job_whose_worker_died_mid_stream_is_requeued_and_completes_once(
    gen_gql, gen_runtime, school, title, worker_runtime, anthropic_server
):
    values = {
        "title": title,
        "audience": "working developers",
        "duration_weeks": 4,
        "difficulty": "INTERMEDIATE",
    }
    gate = threading.Event()
    anthropic_server.gate = gate
    anthropic_server.script(Reply.of_text(draft(Kind.SYLLABUS, values), chunk_chars=20, hold_after_chunks=3))
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    job_id = uuid.UUID(body["data"]["generateSyllabus"]["job"]["id"])
    dying = worker_runtime(lease_seconds=0.6)
    run = asyncio.create_task(running.run_job(dying, anthropic(anthropic_server), job_id))
    try:

        async def streaming():
            return any(e["partial"] for e in await events_of(gen_runtime, job_id))

        await wait_for(streaming, what="partial text of the first worker")
        first_lease = (await job_row(gen_runtime, job_id)).lease_token
        run.cancel()  # the worker dies: no completion, no failure, no further heartbeat
        with contextlib.suppress(asyncio.CancelledError):
            await run
        assert (await job_row(gen_runtime, job_id)).status == "RUNNING"

        async def requeued():
            return job_id in await running.requeue_expired(dying)

        await wait_for(requeued, what="the expired lease to be requeued")
    finally:
        gate.set()
    row = await job_row(gen_runtime, job_id)
    assert row.status == "QUEUED" and row.lease_token is None and row.attempts == 1
    assert len(await outbox_events(gen_runtime, job_id, jobs.REQUESTED)) == 2, "queued again"

    assert await running.run_job(worker_runtime(), OfflineGenerator(), job_id) == "SUCCEEDED"
    assert await running.run_job(worker_runtime(), OfflineGenerator(), job_id) is None, (
        "redelivery runs nothing"
    )
    row = await job_row(gen_runtime, job_id)
    assert row.status == "SUCCEEDED" and row.attempts == 2 and row.result["title"] == title

    # the dead worker, were it a zombie, cannot complete the job any more
    zombie = row
    zombie.lease_token = first_lease
    assert not await running._finish(dying, zombie, jobs.JobStatus.FAILED, "late", "generator.job.failed")
    events = await events_of(gen_runtime, job_id)
    assert [e["status"] for e in events].count("SUCCEEDED") == 1
    assert any(e["message"].startswith("Requeued") for e in events)
    assert [
        e["message"] for e in events if e["status"] == "RUNNING" and e["message"].startswith("Started")
    ] == [
        "Started (attempt 1).",
        "Started (attempt 2).",
    ]
    assert len(await outbox_events(gen_runtime, job_id, "generator.job.succeeded")) == 1


async def test_a_job_interrupted_too_often_fails_with_the_reason(
    gen_gql, gen_runtime, school, title, worker_runtime
):
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    job_id = uuid.UUID(body["data"]["generateSyllabus"]["job"]["id"])
    runtime = worker_runtime(max_attempts=2)
    for _ in range(2):  # two workers claim it and die
        assert await running.claim(runtime, job_id, lease_seconds=0.05)

        async def requeued():
            return job_id in await running.requeue_expired(runtime)

        await wait_for(requeued, what="requeue")
    assert await running.run_job(runtime, OfflineGenerator(), job_id) == "FAILED"
    row = await job_row(gen_runtime, job_id)
    assert row.status == "FAILED" and row.result is None and row.lease_token is None
    assert row.error == "The job was interrupted 2 times (its worker stopped); giving up."

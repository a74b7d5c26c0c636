"""Generation jobs end to end inside the subgraph: submit through GraphQL, run by the worker's code (OFFLINE
or the real `anthropic` SDK against the fake server), progress events, results, tokens and cost, re-ask
and failure, cancel, cache hits, budgets, apply, the subscription's replay."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import strawberry  # noqa: F401 - the schema module needs it importable
from sqlalchemy import update

from subgraphs.contracts.generation import Kind
from subgraphs.core.context import Context
from subgraphs.core.db import utcnow
from subgraphs.core.events import OutboxRelay
from subgraphs.generator import jobs, running
from subgraphs.generator.models import CourseOwner, GenerationJob
from subgraphs.generator.providers.anthropic import AnthropicGenerator
from subgraphs.generator.providers.offline import OfflineGenerator, draft
from subgraphs.generator.schema import schema
from subgraphs.generator.worker import GenerationWorker
from tests.contracts.test_text_generators import RecordingSleep
from tests.course_owners import announce_course
from tests.fakes.anthropic_server import MODEL, Reply
from tests.subgraphs.generator.helpers import (
    APPLY,
    CANCEL,
    GENERATE_QUIZ,
    GENERATE_SYLLABUS,
    JOB,
    USAGE,
    count_jobs,
    events_of,
    job_row,
    outbox_events,
    syllabus_input,
    wait_for,
)


def anthropic(server, **overrides):
    from tests.contracts.test_text_generators import anthropic_settings

    return AnthropicGenerator(anthropic_settings(server, **overrides), sleep=RecordingSleep())


async def submit(gen_gql, caller, org, title, **overrides) -> dict:
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(org, title, **overrides)}, token=caller.token
    )
    result = body["data"]["generateSyllabus"]
    assert result["__typename"] == "GenerationJobSuccess", body
    return result["job"]


async def test_a_syllabus_job_is_queued_then_run_to_a_validated_result(
    gen_gql, gen_runtime, school, title, worker_runtime
):
    job = await submit(gen_gql, school.instructor, school.org, title)
    assert job["status"] == "QUEUED" and job["kind"] == "SYLLABUS" and job["progress"] == 0
    assert job["requestedBy"] == {"id": school.instructor.id} and job["organization"] == {"id": school.org}
    assert job["promptVersion"] == "syllabus-v1" and job["result"] is None
    assert job["input"] == {
        "title": title,
        "audience": "working developers",
        "duration_weeks": 4,
        "difficulty": "INTERMEDIATE",
    }
    requested = await outbox_events(gen_runtime, job["id"], jobs.REQUESTED)
    assert len(requested) == 1 and requested[0]["organization_id"] == school.org

    status = await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"]))
    assert status is jobs.JobStatus.SUCCEEDED

    done = (await gen_gql(JOB, {"id": job["id"]}, token=school.instructor.token))["data"]["generationJob"]
    assert done["status"] == "SUCCEEDED" and done["progress"] == 100 and done["attempts"] == 1
    assert done["provider"] == "OFFLINE" and done["model"] == "offline-v1" and done["costUsd"] == 0
    assert done["cached"] is False and done["finishedAt"] and done["error"] is None
    syllabus = done["result"]
    assert syllabus["__typename"] == "Syllabus" and syllabus["title"] == title
    assert [m["week"] for m in syllabus["modules"]] == [1, 2, 3, 4]
    assert "OFFLINE" in syllabus["overview"]

    events = await events_of(gen_runtime, job["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["status"] == "QUEUED" and events[1]["status"] == "RUNNING"
    assert events[-1]["status"] == "SUCCEEDED" and events[-1]["progress"] == 100
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    partial = "".join(e["partial"] for e in events)
    assert json.loads(partial)["title"] == title, "the partials concatenate to the streamed answer"
    assert len(await outbox_events(gen_runtime, job["id"], "generator.job.succeeded")) == 1


async def test_jobs_travel_through_the_queue_to_the_worker(gen_gql, gen_runtime, school, title, settings):
    job = await submit(gen_gql, school.instructor, school.org, title)
    from subgraphs.core.domains import outboxes

    relay = OutboxRelay(gen_runtime.sessionmaker, gen_runtime.redis, outboxes())
    worker = GenerationWorker(
        gen_runtime.redis,
        gen_runtime.sessionmaker,
        settings,
        generator=OfflineGenerator(),
        name="test",
        block_ms=10,
    )
    worker.group = f"generator-jobs-{uuid.uuid4().hex[:8]}"  # this test's own group: only it reads here
    await worker.ensure_groups()

    async def finished():
        await relay.relay_once()
        await worker.consume_once(block_ms=10)
        return (await job_row(gen_runtime, job["id"])).status == "SUCCEEDED"

    await wait_for(finished, what="the queued job to succeed")
    # at least once: the event delivered again (e.g. after a crash before ack) runs nothing twice
    assert await running.run_job(worker.runtime, OfflineGenerator(), uuid.UUID(job["id"])) is None
    assert (await job_row(gen_runtime, job["id"])).attempts == 1


async def test_anthropic_job_streams_progress_and_accounts_tokens_and_cost(
    gen_gql, gen_runtime, school, title, worker_runtime, anthropic_server
):
    values = {
        "title": title,
        "audience": "working developers",
        "duration_weeks": 4,
        "difficulty": "INTERMEDIATE",
    }
    text = draft(Kind.SYLLABUS, values)
    anthropic_server.script(Reply.of_text(text, chunk_chars=40, input_tokens=1200, output_tokens=900))
    job = await submit(gen_gql, school.instructor, school.org, title)
    runtime = worker_runtime(input_usd_per_mtok=3.0, output_usd_per_mtok=15.0)
    assert await running.run_job(runtime, anthropic(anthropic_server), uuid.UUID(job["id"])) == "SUCCEEDED"

    done = (await gen_gql(JOB, {"id": job["id"]}, token=school.instructor.token))["data"]["generationJob"]
    assert (done["provider"], done["model"]) == ("ANTHROPIC", MODEL)
    assert (done["inputTokens"], done["outputTokens"]) == (1200, 900)
    assert done["costUsd"] == 0.0171  # 1200 * 3 / 1e6 + 900 * 15 / 1e6
    events = await events_of(gen_runtime, job["id"])
    writing = [e for e in events if e["message"].startswith("Writing")]
    assert writing and all(0 < e["progress"] <= 95 for e in writing)
    assert "".join(e["partial"] for e in events) == text

    usage = (await gen_gql(USAGE, {"org": school.org}, token=school.admin.token))["data"]["generationUsage"]
    assert {
        "provider": "ANTHROPIC",
        "model": MODEL,
        "jobs": 1,
        "inputTokens": 1200,
        "outputTokens": 900,
        "costUsd": 0.0171,
        "organizationId": school.org,
    } in usage
    refused = await gen_gql(USAGE, {"org": school.org}, token=school.student.token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_invalid_output_is_reasked_then_the_job_fails_with_the_reason(
    gen_gql, gen_runtime, school, title, worker_runtime, anthropic_server
):
    anthropic_server.default = lambda body: Reply.of_json({"title": title, "modules": []})
    job = await submit(gen_gql, school.instructor, school.org, title)
    runtime = worker_runtime(reask_attempts=2)
    assert await running.run_job(runtime, anthropic(anthropic_server), uuid.UUID(job["id"])) == "FAILED"
    assert len(anthropic_server.requests) == 3, "one call and two re-asks"
    assert "validation errors" in anthropic_server.requests[1]["messages"][-1]["content"]
    done = (await gen_gql(JOB, {"id": job["id"]}, token=school.instructor.token))["data"]["generationJob"]
    assert done["status"] == "FAILED" and done["result"] is None
    assert done["error"].startswith("The model's output was still invalid after 3 attempts")
    assert "overview" in done["error"] and "modules" in done["error"]
    assert done["inputTokens"] > 0 and done["outputTokens"] > 0 and done["costUsd"] > 0
    events = await events_of(gen_runtime, job["id"])
    assert events[-1]["status"] == "FAILED"
    assert any("attempt 2" in e["message"] for e in events) and any(
        "attempt 3" in e["message"] for e in events
    )


async def test_a_queued_job_cancelled_never_runs(gen_gql, gen_runtime, school, title, worker_runtime):
    job = await submit(gen_gql, school.instructor, school.org, title)
    body = await gen_gql(CANCEL, {"input": {"jobId": job["id"]}}, token=school.instructor2.token)
    assert body["data"]["cancelGenerationJob"] == {
        "__typename": "GenerationJobSuccess",
        "job": {"id": job["id"], "status": "CANCELLED"},
    }
    assert await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"])) is None
    again = await gen_gql(CANCEL, {"input": {"jobId": job["id"]}}, token=school.instructor.token)
    assert again["data"]["cancelGenerationJob"]["code"] == "JOB_FINISHED"
    student = await gen_gql(CANCEL, {"input": {"jobId": job["id"]}}, token=school.student.token)
    assert student["data"]["cancelGenerationJob"]["__typename"] == "ForbiddenError"
    assert (await events_of(gen_runtime, job["id"]))[-1]["status"] == "CANCELLED"


async def test_cancelling_a_running_job_stops_its_worker(
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
    anthropic_server.script(Reply.of_text(draft(Kind.SYLLABUS, values)))
    job = await submit(gen_gql, school.instructor, school.org, title)
    run = asyncio.create_task(
        running.run_job(worker_runtime(), anthropic(anthropic_server), uuid.UUID(job["id"]))
    )
    try:
        await wait_for(lambda: _status_is(gen_runtime, job["id"], "RUNNING"), what="the job to start")
        body = await gen_gql(CANCEL, {"input": {"jobId": job["id"]}}, token=school.instructor.token)
        assert body["data"]["cancelGenerationJob"]["job"]["status"] == "CANCELLED"
    finally:
        gate.set()
    assert await asyncio.wait_for(run, 15) is None, "the worker noticed and stopped"
    row = await job_row(gen_runtime, job["id"])
    assert row.status == "CANCELLED" and row.result is None
    assert await outbox_events(gen_runtime, job["id"], "generator.job.succeeded") == []


async def _status_is(runtime, job_id, status):
    return (await job_row(runtime, job_id)).status == status


async def test_an_identical_request_is_a_cache_hit(gen_gql, gen_runtime, school, title, worker_runtime):
    first = await submit(gen_gql, school.instructor, school.org, title)
    await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(first["id"]))
    # same normalized input (case and spacing differ), another instructor
    second = await submit(gen_gql, school.instructor2, school.org, f"  {title.upper()} ")
    assert second["status"] == "SUCCEEDED" and second["cached"] is True and second["progress"] == 100
    assert (second["inputTokens"], second["outputTokens"], second["costUsd"]) == (0, 0, 0)
    assert second["result"]["modules"] and second["provider"] == "OFFLINE"
    assert await outbox_events(gen_runtime, second["id"], jobs.REQUESTED) == [], "nothing was queued"
    assert [e["status"] for e in await events_of(gen_runtime, second["id"])] == ["QUEUED", "SUCCEEDED"]
    other = await submit(gen_gql, school.instructor, school.org, title, durationWeeks=5)
    assert other["status"] == "QUEUED" and other["cached"] is False


async def test_an_exhausted_daily_budget_refuses_before_any_call(
    gen_gql, gen_runtime, school, title, settings
):
    budget = settings.generator.daily_token_budget
    async with gen_runtime.transaction() as session:
        session.add(
            GenerationJob(
                organization_id=uuid.UUID(school.org),
                requested_by=school.instructor.id,
                requested_by_kind="user",
                kind="SYLLABUS",
                status="SUCCEEDED",
                input={},
                prompt_version="syllabus-v1",
                provider="ANTHROPIC",
                model=MODEL,
                input_tokens=budget - 10,
                output_tokens=10,
                cost_usd=Decimal("1"),
                finished_at=utcnow(),
                created_at=utcnow(),
            )
        )
    before = await count_jobs(gen_runtime, school.org)
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    result = body["data"]["generateSyllabus"]
    assert result["__typename"] == "BudgetExceededError" and result["code"] == "BUDGET_EXCEEDED"
    assert result["dailyTokenBudget"] == budget and result["tokensUsedToday"] == budget
    assert await count_jobs(gen_runtime, school.org) == before
    # yesterday's tokens do not count
    async with gen_runtime.transaction() as session:
        await session.execute(
            update(GenerationJob)
            .where(GenerationJob.organization_id == uuid.UUID(school.org))
            .values(finished_at=utcnow() - timedelta(days=1, hours=1))
        )
    assert (await submit(gen_gql, school.instructor, school.org, title))["status"] == "QUEUED"


async def test_invalid_input_names_the_field(gen_gql, school, title):
    body = await gen_gql(
        GENERATE_SYLLABUS,
        {"input": syllabus_input(school.org, title, durationWeeks=0, audience="  ")},
        token=school.instructor.token,
    )
    result = body["data"]["generateSyllabus"]
    assert result["__typename"] == "ValidationError"
    assert {e["field"] for e in result["fieldErrors"]} == {"input.durationWeeks", "input.audience"}


async def test_applying_emits_the_result_once(gen_gql, gen_runtime, school, title, worker_runtime):
    job = await submit(gen_gql, school.instructor, school.org, title)
    early = await gen_gql(APPLY, {"input": {"jobId": job["id"]}}, token=school.instructor.token)
    assert early["data"]["applyGenerationResult"]["code"] == "NOT_SUCCEEDED"
    await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"]))
    first = await gen_gql(APPLY, {"input": {"jobId": job["id"]}}, token=school.instructor2.token)
    second = await gen_gql(APPLY, {"input": {"jobId": job["id"]}}, token=school.instructor.token)
    applied_at = first["data"]["applyGenerationResult"]["job"]["appliedAt"]
    assert applied_at and second["data"]["applyGenerationResult"]["job"]["appliedAt"] == applied_at
    [event] = await outbox_events(gen_runtime, job["id"], "generator.result.applied")
    assert event["actor_id"] == school.instructor2.id and event["organization_id"] == school.org
    assert event["payload"]["kind"] == "SYLLABUS" and event["payload"]["result"]["title"] == title
    student = await gen_gql(APPLY, {"input": {"jobId": job["id"]}}, token=school.student.token)
    assert student["data"]["applyGenerationResult"]["__typename"] == "ForbiddenError"


async def test_a_quiz_for_a_module(gen_gql, gen_runtime, school, worker_runtime):
    course, module = await announce_course(gen_runtime, CourseOwner, school.org), str(uuid.uuid4())
    body = await gen_gql(
        GENERATE_QUIZ,
        {
            "input": {
                "organizationId": school.org,
                "courseId": course,
                "moduleId": module,
                "courseTitle": f"Rust {uuid.uuid4().hex[:6]}",
                "moduleTitle": "Ownership",
                "topics": ["moves", "borrows"],
                "questionCount": 4,
                "questionTypes": ["TRUE_FALSE", "MULTIPLE_CHOICE"],
            }
        },
        token=school.instructor.token,
    )
    job = body["data"]["generateQuiz"]["job"]
    assert job["course"] == {"id": course} and job["kind"] == "QUIZ"
    await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"]))
    done = (await gen_gql(JOB, {"id": job["id"]}, token=school.instructor.token))["data"]["generationJob"]
    quiz = done["result"]
    assert quiz["__typename"] == "QuizDraft" and len(quiz["questions"]) == 4
    assert {q["type"] for q in quiz["questions"]} == {"TRUE_FALSE", "MULTIPLE_CHOICE"}


async def test_the_subscription_replays_after_a_seq_then_ends_with_the_job(
    gen_gql, gen_runtime, school, title, worker_runtime
):
    job = await submit(gen_gql, school.instructor, school.org, title)
    query = (
        "subscription($id: ID!, $after: Int) { generationJobEvents(jobId: $id, after: $after) "
        "{ seq status progress message partial } }"
    )

    async def collect(caller, after):
        context = Context(runtime=gen_runtime, principal=caller.principal)
        stream = await schema.subscribe(
            query, variable_values={"id": job["id"], "after": after}, context_value=context
        )
        seen = []
        async for result in stream:
            assert not result.errors, result.errors
            seen.append(result.data["generationJobEvents"])
        return seen

    follower = asyncio.create_task(collect(school.instructor2, None))
    await running.run_job(worker_runtime(), OfflineGenerator(), uuid.UUID(job["id"]))
    live = await asyncio.wait_for(follower, 15)
    stored = await events_of(gen_runtime, job["id"])
    assert [e["seq"] for e in live] == [e["seq"] for e in stored] and live[-1]["status"] == "SUCCEEDED"
    later = await asyncio.wait_for(collect(school.instructor, 2), 15)
    assert [e["seq"] for e in later] == [e["seq"] for e in stored if e["seq"] > 2]

    context = Context(runtime=gen_runtime, principal=school.student.principal)
    refused = await schema.subscribe(query, variable_values={"id": job["id"]}, context_value=context)
    first = await refused.__anext__() if hasattr(refused, "__anext__") else refused
    assert first.errors and first.errors[0].extensions["code"] == "FORBIDDEN"


async def test_the_cache_key_uses_the_configured_model_not_the_dated_id_the_api_answers(
    gen_gql, gen_runtime, school, title, worker_runtime, anthropic_server
):
    from subgraphs.generator.providers.chain import ProviderChain
    from tests.contracts.test_text_generators import anthropic_settings

    settings = anthropic_settings(anthropic_server, model="claude-alias")
    chain = ProviderChain(
        [AnthropicGenerator(settings, sleep=RecordingSleep()), OfflineGenerator()], settings
    )
    anthropic_server.default = lambda body: Reply.of_text(
        draft(Kind.SYLLABUS, {"title": title, "duration_weeks": 4})
    )
    gen_runtime.extras["generator"] = chain  # what the subgraph uses for the cache key at submission
    try:
        job = await submit(gen_gql, school.instructor, school.org, title)
        assert await running.run_job(worker_runtime(), chain, uuid.UUID(job["id"])) == "SUCCEEDED"
        done = (await gen_gql(JOB, {"id": job["id"]}, token=school.instructor.token))["data"]["generationJob"]
        assert done["model"] == MODEL, "the model the API reported is recorded"
        again = await submit(gen_gql, school.instructor, school.org, title)
        assert again["cached"] is True and again["model"] == MODEL
        assert len(anthropic_server.requests) == 1
    finally:
        del gen_runtime.extras["generator"]

"""The worker process killed (kill -9) mid-generation (issue 16): restarted, it needs no manual step; the
job's lease expires, the job is requeued and completes exactly once (counted in the outbox)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from subgraphs.contracts.generation import Kind
from subgraphs.generator.models import Outbox
from subgraphs.generator.providers.offline import draft
from tests.conftest import GraphQLClient
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.fakes.anthropic_server import Reply
from tests.subgraphs.generator.helpers import GENERATE_SYLLABUS, syllabus_input

pytestmark = pytest.mark.e2e

JOB = "query($id: ID!) { generationJob(id: $id) { status } }"


async def test_a_worker_killed_mid_generation_finishes_the_job_once(
    fault_platform, fake_anthropic, fault_runtime, unique_email
):
    async with fault_platform.client() as http:
        gql = GraphQLClient(http)
        admin = await verified_user(gql, unique_email("fault-gen"), "Gene Admin")
        token = admin["accessToken"]
        created = await gql(
            CREATE, {"input": {"name": "Gen Academy", "slug": f"gen-{int(time.time() * 1000)}"}}, token=token
        )
        org = created["data"]["createOrganization"]["organization"]["id"]
        title = f"Fault syllabus {uuid.uuid4().hex[:6]}"
        values = {"title": title, "audience": "working developers", "duration_weeks": 4}
        values["difficulty"] = "INTERMEDIATE"
        text = draft(Kind.SYLLABUS, values)
        gate = threading.Event()
        fake_anthropic.gate = gate
        fake_anthropic.script(
            Reply.of_text(text, chunk_chars=20, hold_after_chunks=3), Reply.of_text(text, chunk_chars=200)
        )
        try:
            body = await gql(GENERATE_SYLLABUS, {"input": syllabus_input(org, title)}, token=token)
            job_id = body["data"]["generateSyllabus"]["job"]["id"]

            async def status() -> str:
                return (await gql(JOB, {"id": job_id}, token=token))["data"]["generationJob"]["status"]

            deadline = time.monotonic() + 30
            while await status() != "RUNNING":
                assert time.monotonic() < deadline, "the job never started"
                await asyncio.sleep(0.1)
            os.kill(fault_platform.supervisor.pid("worker"), signal.SIGKILL)
            killed = time.monotonic()
            gate.set()
            await fault_platform.supervisor.restart("worker")
            while (now := await status()) != "SUCCEEDED":
                assert now in ("RUNNING", "QUEUED"), now
                assert time.monotonic() - killed < 30, "the job did not finish within 30 s of the kill"
                await asyncio.sleep(0.2)
            print(
                f"\nworker killed mid-generation: the job succeeded {time.monotonic() - killed:.2f} s later"
            )
        finally:
            fake_anthropic.reset()
    async with fault_runtime.sessionmaker() as session:
        succeeded = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.type == "generator.job.succeeded",
                Outbox.event["subject_ids"]["job_id"].astext == job_id,
            )
        )
    assert succeeded == 1

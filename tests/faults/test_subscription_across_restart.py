"""A `generationJobEvents` subscriber through the router while the generator subgraph restarts gracefully
(issue 16): the subgraph, stopping, ends the subscription with a typed, retryable error (`UNAVAILABLE`,
core.live.drain_all) before it closes the WebSocket — never silently, and never leaving the router to
resubscribe by itself with the client's stale `after` (events repeated). The client resubscribes with
`after: <last seq>` and gets every event once, those the worker stored while the subgraph was down included.

The job is held mid-stream by the fake Anthropic server's gate and released while the subgraph is down.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter

import pytest
import websockets
from sqlalchemy import select

from subgraphs.contracts.generation import Kind
from subgraphs.generator.models import GenerationEvent
from subgraphs.generator.providers.offline import draft
from tests.conftest import GraphQLClient
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.fakes.anthropic_server import Reply
from tests.subgraphs.generator.helpers import GENERATE_SYLLABUS, syllabus_input
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

EVENTS = """subscription($id: ID!, $after: Int) {
  generationJobEvents(jobId: $id, after: $after) { seq status } }"""
RETRYABLE = {"SUBGRAPH_UNAVAILABLE", "UNAVAILABLE", "SUBGRAPH_CONNECTION_LOST"}


async def follow(url: str, token: str, job_id: str, after: int | None, seen: list[dict], log: list) -> str:
    """Subscribe once and collect events into `seen`; returns how the subscription ended: "complete" (the
    job ended), "error:<code>" (its payload's code and retryable flag are logged), or "closed:<code>"."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": EVENTS, "variables": {"id": job_id, "after": after}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 60))
                errors = (message.get("payload") or {}).get("errors") if message["type"] == "next" else None
                if message["type"] == "error":
                    errors = message["payload"]
                if errors:
                    log.append(errors)
                    extensions = errors[0].get("extensions") or {}
                    return f"error:{extensions.get('code')}:{extensions.get('retryable')}"
                if message["type"] == "complete":
                    return "complete"
                if message["type"] == "next":
                    seen.append(message["payload"]["data"]["generationJobEvents"])
        except websockets.ConnectionClosed as closed:
            return f"closed:{closed.rcvd.code if closed.rcvd else None}"


async def test_a_subscriber_resumes_across_a_graceful_subgraph_restart_and_misses_nothing(
    fault_platform, fake_anthropic, fault_runtime, unique_email
):
    url = fault_platform.router_url.replace("http", "ws") + "/graphql"
    async with fault_platform.client() as http:
        gql = GraphQLClient(http)
        admin = await verified_user(gql, unique_email("sub-gen"), "Sue Admin")
        token = admin["accessToken"]
        created = await gql(
            CREATE, {"input": {"name": "Sub Academy", "slug": f"sub-{int(time.time() * 1000)}"}}, token=token
        )
        org = created["data"]["createOrganization"]["organization"]["id"]
        title = f"Resumed syllabus {uuid.uuid4().hex[:6]}"
        values = {"title": title, "audience": "working developers", "duration_weeks": 4}
        values["difficulty"] = "INTERMEDIATE"
        text = draft(Kind.SYLLABUS, values)
        gate = threading.Event()
        fake_anthropic.gate = gate
        # One delta before the hold: the worker's first "Writing." event is then the last one stored until
        # the gate opens (more deltas could cross the progress interval at any moment on a loaded machine).
        fake_anthropic.script(Reply.of_text(text, chunk_chars=20, hold_after_chunks=1))
        try:
            body = await gql(GENERATE_SYLLABUS, {"input": syllabus_input(org, title)}, token=token)
            job_id = body["data"]["generateSyllabus"]["job"]["id"]
            seen: list[dict] = []
            log: list = []
            first = asyncio.create_task(follow(url, token, job_id, None, seen, log))
            assert await asyncio.to_thread(fake_anthropic.holding.wait, 30), "the job never reached the hold"

            async def has_every_stored_event() -> bool:  # nothing is stored after "Writing." while held
                assert not first.done(), (seen, first)
                async with fault_runtime.sessionmaker() as session:
                    stored = (
                        await session.scalars(
                            select(GenerationEvent.data).where(GenerationEvent.stream_id == uuid.UUID(job_id))
                        )
                    ).all()
                writing = any(data.get("message") == "Writing." for data in stored)
                return writing and len(seen) == len(stored)

            await eventually(has_every_stored_event, timeout=30, what="the subscriber caught up to the hold")
            before = len(seen)

            restarted = time.monotonic()
            restart = asyncio.create_task(fault_platform.supervisor.restart("generator"))
            ended = await asyncio.wait_for(first, 60)
            gate.set()  # the worker streams the rest while the subscriber is away
            print(f"\nthe subscription, when generator restarted: {ended} {log[-1:] if log else ''}")
            assert len(seen) == before, "events arrived after the subgraph was asked to stop"
            assert ended == "error:UNAVAILABLE:True", ended

            # Resubscribe with the last seq seen, again on a retryable refusal, until the job ends.
            endings = [ended]
            while ended != "complete":
                assert time.monotonic() - restarted < 30, f"not resumed within 30 s: {endings}"
                ended = await follow(url, token, job_id, seen[-1]["seq"], seen, log)
                endings.append(ended)
                if ended != "complete":
                    assert ended in {f"error:{c}:True" for c in RETRYABLE}, (ended, log[-1:])
                    await asyncio.sleep(0.2)
            await restart
            print(
                f"resumed and complete {time.monotonic() - restarted:.2f} s after the restart began; "
                f"{len(endings) - 1} resubscription(s), endings {dict(Counter(endings))}"
            )
        finally:
            gate.set()
            fake_anthropic.reset()
    async with fault_runtime.sessionmaker() as session:
        stored = (
            await session.scalars(
                select(GenerationEvent.seq)
                .where(GenerationEvent.stream_id == uuid.UUID(job_id))
                .order_by(GenerationEvent.seq)
            )
        ).all()
    assert [e["seq"] for e in seen] == list(stored) == list(range(1, len(stored) + 1))
    assert seen[-1]["status"] == "SUCCEEDED"

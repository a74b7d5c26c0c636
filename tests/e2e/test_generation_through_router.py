"""AI generation end to end through the real router: an organization admin invites an instructor, the
instructor asks for a syllabus, the worker process runs the job against the local fake Anthropic server
(the real `anthropic` SDK, streaming), the instructor follows generationJobEvents over WebSocket,
reconnects with `after` and gets only the later events, reads the result (requestedBy joined from the
users subgraph), applies it, and an identical second request is answered from the cache."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from tests.conftest import token_from_mail
from tests.e2e.test_account_through_router import wait_for_mail
from tests.e2e.test_organizations_through_router import ACCEPT, CREATE, INVITE, verified_user
from tests.fakes.anthropic_server import MODEL, FakeAnthropic, syllabus_for

pytestmark = pytest.mark.e2e

GENERATE = """mutation($input: GenerateSyllabusInput!) { generateSyllabus(input: $input) {
  __typename ... on GenerationJobSuccess { job { id status cached costUsd inputTokens outputTokens } }
  ... on Error { code message } } }"""
JOB = """query($id: ID!) { generationJob(id: $id) {
  status progress provider model cached inputTokens outputTokens costUsd error
  requestedBy { id fullName }
  result { __typename ... on Syllabus { title modules { week title topics } } } } }"""
APPLY = """mutation($id: ID!) { applyGenerationResult(input: {jobId: $id}) {
  __typename ... on GenerationJobSuccess { job { id appliedAt } } ... on Error { code } } }"""
EVENTS = """subscription($id: ID!, $after: Int) {
  generationJobEvents(jobId: $id, after: $after) { seq status progress message partial } }"""


class JobEvents:
    """A minimal graphql-transport-ws client of generationJobEvents."""

    def __init__(self, url: str, token: str, job_id: str, after: int | None) -> None:
        self.url, self.token, self.job_id, self.after = url, token, job_id, after

    async def __aenter__(self) -> JobEvents:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
        )
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": EVENTS, "variables": {"id": self.job_id, "after": self.after}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return self

    async def next_event(self, timeout: float = 30) -> dict | None:
        """The next event, or None when the server completed the subscription (the job ended)."""
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message["type"] == "next":
            assert not message["payload"].get("errors"), message
            return message["payload"]["data"]["generationJobEvents"]
        if message["type"] == "complete":
            return None
        raise AssertionError(message)

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


async def instructor_of_new_organization(router_gql, unique_email) -> tuple[str, dict]:
    admin = await verified_user(router_gql, unique_email("gen-admin"), "Ada Admin")
    created = await router_gql(
        CREATE,
        {"input": {"name": "Generation Academy", "slug": f"gen-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    email = unique_email("gen-instructor")
    invited = await router_gql(
        INVITE,
        {"input": {"organizationId": org, "email": email, "role": "INSTRUCTOR"}},
        token=admin["accessToken"],
    )
    assert invited["data"]["inviteMember"]["__typename"] == "InviteMemberSuccess", invited
    invitation = token_from_mail(await wait_for_mail(email, "organization_invitation"))
    instructor = await verified_user(router_gql, email, "Ian Instructor")
    accepted = await router_gql(ACCEPT, {"token": invitation}, token=instructor["accessToken"])
    assert accepted["data"]["acceptInvitation"]["membership"]["role"] == "INSTRUCTOR", accepted
    return org, instructor


async def test_an_instructor_generates_a_syllabus_and_follows_it_live(
    platform, router_gql, unique_email, fake_anthropic: FakeAnthropic
):
    org, instructor = await instructor_of_new_organization(router_gql, unique_email)
    token = instructor["accessToken"]
    # 30 deltas of 20 characters, 20 ms apart: progress arrives while the model "writes"
    fake_anthropic.default = lambda body: syllabus_for(body, chunk_chars=20, seconds_per_chunk=0.02)
    requests_before = len(fake_anthropic.requests)
    title = f"Distributed Systems {int(time.time() * 1000)}"
    variables = {
        "input": {
            "organizationId": org,
            "title": title,
            "audience": "backend engineers",
            "durationWeeks": 3,
            "difficulty": "ADVANCED",
        }
    }
    submitted = await router_gql(GENERATE, variables, token=token)
    job = submitted["data"]["generateSyllabus"]["job"]
    assert job["status"] == "QUEUED" and job["cached"] is False, submitted

    ws_url = platform.router_url.replace("http", "ws") + "/graphql"
    async with JobEvents(ws_url, token, job["id"], after=None) as events:
        first, second = await events.next_event(), await events.next_event()
    assert first is not None and second is not None
    assert (first["seq"], first["status"]) == (1, "QUEUED") and second["seq"] == 2

    # Reconnect after seq 2: the rest arrives, nothing repeats, the stream ends with the job.
    later = []
    async with JobEvents(ws_url, token, job["id"], after=2) as events:
        while (event := await events.next_event()) is not None:
            later.append(event)
    assert [e["seq"] for e in later] == list(range(3, 3 + len(later)))
    assert later[-1]["status"] == "SUCCEEDED" and later[-1]["progress"] == 100
    assert any(e["status"] == "RUNNING" and e["partial"] for e in later), "partial text streamed"
    streamed = "".join(e["partial"] for e in [first, second, *later])
    assert json.loads(streamed)["title"] == title

    done = (await router_gql(JOB, {"id": job["id"]}, token=token))["data"]["generationJob"]
    assert done["status"] == "SUCCEEDED" and done["provider"] == "ANTHROPIC" and done["model"] == MODEL
    assert done["inputTokens"] > 0 and done["outputTokens"] > 0 and done["costUsd"] > 0
    assert done["requestedBy"] == {"id": instructor["user"]["id"], "fullName": "Ian Instructor"}
    assert done["result"]["__typename"] == "Syllabus" and done["result"]["title"] == title
    assert [m["week"] for m in done["result"]["modules"]] == [1, 2, 3]
    assert len(fake_anthropic.requests) == requests_before + 1
    assert fake_anthropic.requests[-1]["stream"] is True

    applied = await router_gql(APPLY, {"id": job["id"]}, token=token)
    assert applied["data"]["applyGenerationResult"]["job"]["appliedAt"], applied

    # An identical request (spacing and case aside) is answered from the cache, with no call and no cost.
    variables["input"]["title"] = f"  {title.lower()}  "
    again = (await router_gql(GENERATE, variables, token=token))["data"]["generateSyllabus"]["job"]
    assert again["status"] == "SUCCEEDED" and again["cached"] is True
    assert (again["inputTokens"], again["outputTokens"], again["costUsd"]) == (0, 0, 0)
    assert len(fake_anthropic.requests) == requests_before + 1

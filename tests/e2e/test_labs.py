"""Labs end to end through the real router and processes (every subgraph, the worker, Hive Gateway), on
Docker with the registry-free test image when an engine answers (CI), else on local processes: a student
starts a lab for an exercise and follows labSessionEvents over WebSocket to RUNNING, reaches the IDE
through the authenticated proxy, goes idle and sees PAUSED, resumes, stops; reconnecting the subscription
with `after` replays exactly the events missed meanwhile."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import websockets
from sqlalchemy import select

from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from subgraphs.labs.models import LabEvent
from subgraphs.organizations import tenants as org_tenants
from tests.labs_support import (
    docker_available,
    remove_run_resources,
    vscode_template_serving_the_test_ide,
)
from tests.services import RUN_ID
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

START = """mutation($input: StartLabInput!) { startLab(input: $input) {
  __typename ... on LabSessionSuccess { session { id status accessUrl } } ... on Error { code message } } }"""
LAB = "query($id: ID!) { labSession(id: $id) { id status accessUrl idleDeadline stopDeadline user { id } } }"
RESUME = "mutation($id: ID!) { resumeLab(input: {sessionId: $id}) { __typename ... on Error { code } } }"
STOP = "mutation($id: ID!) { stopLab(input: {sessionId: $id}) { __typename ... on Error { code } } }"
EVENTS = """subscription($id: ID!, $after: Int) {
  labSessionEvents(sessionId: $id, after: $after) { seq status progress message } }"""


class LabEvents:
    """A minimal graphql-transport-ws client of labSessionEvents."""

    def __init__(self, url: str, token: str, session_id: str, after: int | None) -> None:
        self.url, self.token, self.session_id, self.after = url, token, session_id, after

    async def __aenter__(self) -> LabEvents:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
        )
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": EVENTS, "variables": {"id": self.session_id, "after": self.after}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return self

    async def next_event(self, timeout: float = 60) -> dict | None:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message["type"] == "next":
            assert not message["payload"].get("errors"), message
            return message["payload"]["data"]["labSessionEvents"]
        if message["type"] == "complete":
            return None
        raise AssertionError(message)

    async def until(self, status: str) -> list[dict]:
        seen = []
        while True:
            event = await self.next_event()
            assert event is not None, f"the stream ended before {status}: {seen}"
            seen.append(event)
            if event["status"] == status:
                return seen

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


async def sse_events(router_http, token: str, lab_id: str) -> list[dict]:
    """labSessionEvents over SSE from seq 0 until the stream ends (or its first error)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    body = {"query": EVENTS, "variables": {"id": lab_id, "after": 0}}
    events: list[dict] = []
    async with router_http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200

        async def read() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    payload = json.loads(line[5:])
                    if payload.get("errors"):
                        events.append({"error": payload["errors"][0]["extensions"]["code"]})
                        return
                    events.append(payload["data"]["labSessionEvents"])
                    if events[-1]["status"] == "STOPPED":
                        return

        await asyncio.wait_for(read(), 30)
    return events


ENGAGEMENT = """query($id: ID!) { course(id: $id) { viewerEnrollment {
  engagement { proficiencyScore lastActivityAt } } } }"""


async def test_a_student_runs_a_lab_through_the_router(
    platform,
    router_http,
    router_gql,
    courses,  # noqa: F811
    minter,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    use_docker = docker_available()
    school = await courses.school()
    await org_tenants.update_organization(
        minter.runtime,
        school.admin.meta,
        id=uuid.UUID(school.org),
        settings={"lab_idle_timeout_seconds": 6, "lab_stop_timeout_seconds": 3600},
    )
    course = await courses.course(school)
    exercise = await create_exercise(
        courses_runtime, school.instructor.meta, course_id=course.id, title="Lab", ide="VSCODE"
    )
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    token = school.student.token
    async with vscode_template_serving_the_test_ide(courses_runtime, use_docker=use_docker):
        lab_id = None
        try:

            async def started():  # the worker projects the course events first
                body = await router_gql(START, {"input": {"exerciseId": str(exercise.id)}}, token=token)
                result = body["data"]["startLab"]
                return result if result["__typename"] == "LabSessionSuccess" else None

            lab = (await eventually(started, timeout=30, what="startLab accepted"))["session"]
            lab_id = lab["id"]
            assert lab["accessUrl"] == f"{platform.subgraph_urls['labs']}/labs/{lab_id}/"

            ws_url = platform.router_url.replace("http", "ws") + "/graphql"
            async with LabEvents(ws_url, token, lab_id, after=None) as events:
                first = await events.until("RUNNING")
            assert [e["seq"] for e in first] == list(range(1, len(first) + 1))
            assert first[0]["status"] == "REQUESTED" and "PROVISIONING" in {e["status"] for e in first}
            last_seen = first[-1]["seq"]

            # The IDE, through the authenticated proxy (never a raw port): the token opens it, a cookie
            # follows.
            async with httpx.AsyncClient(follow_redirects=True) as browser:
                page = await browser.get(lab["accessUrl"] + "health", params={"token": token})
                assert page.status_code == 200 and page.text.strip() == "ok"
                assert str(page.url) == lab["accessUrl"] + "health", "the token left the address"
                assert (await browser.get(lab["accessUrl"] + "health")).status_code == 200  # by cookie
            async with httpx.AsyncClient() as stranger:
                assert (await stranger.get(lab["accessUrl"] + "health")).status_code == 401

            seen = (await router_gql(LAB, {"id": lab_id}, token=token))["data"]["labSession"]
            assert (
                seen["status"] == "RUNNING"
                and seen["idleDeadline"]
                and seen["user"]["id"] == school.student.id
            )

            # Idle: no heartbeat, no traffic → PAUSED by the worker. Reconnect after the last seq seen.
            async with LabEvents(ws_url, token, lab_id, after=last_seen) as events:
                missed = await events.until("PAUSED")
            async with courses_runtime.transaction() as session:
                stored = (
                    await session.scalars(
                        select(LabEvent.seq).where(
                            LabEvent.stream_id == uuid.UUID(lab_id), LabEvent.seq > last_seen
                        )
                    )
                ).all()
            assert (
                [e["seq"] for e in missed]
                == sorted(stored)[: len(missed)]
                == list(range(last_seen + 1, last_seen + 1 + len(missed)))
            )
            paused = (await router_gql(LAB, {"id": lab_id}, token=token))["data"]["labSession"]
            assert paused["status"] == "PAUSED" and paused["stopDeadline"] and paused["idleDeadline"] is None

            async with LabEvents(ws_url, token, lab_id, after=missed[-1]["seq"]) as events:
                resumed = await router_gql(RESUME, {"id": lab_id}, token=token)
                assert resumed["data"]["resumeLab"]["__typename"] == "LabSessionSuccess", resumed
                again = await events.until("RUNNING")
                assert again[0]["seq"] == missed[-1]["seq"] + 1
                stopped = await router_gql(STOP, {"id": lab_id}, token=token)
                assert stopped["data"]["stopLab"]["__typename"] == "LabSessionSuccess"
                end = await events.until("STOPPED")
                assert await events.next_event() is None, "the stream completes with the lab"
            assert end[-1]["status"] == "STOPPED"
            lab_id_done, lab_id = lab_id, None

            # Over SSE too: the whole history replays, then the stream ends with the lab; a stranger gets
            # nothing.
            everything = await sse_events(router_http, token, lab_id_done)
            assert [e["seq"] for e in everything] == list(range(1, end[-1]["seq"] + 1))
            assert everything[-1]["status"] == "STOPPED"
            stranger = await minter.user()
            refused = await sse_events(router_http, stranger.token, lab_id_done)
            assert refused == [{"error": "NOT_FOUND"}]
            followed = await sse_events(router_http, school.instructor.token, lab_id_done)
            assert followed == everything, "the organization's instructors follow their students' labs"

            # Analytics consumed the real lab events: a lab that ended without failure is the student's only
            # evidence of proficiency so far (lab_success = 100 %, README "Analytics").
            async def proficiency():
                body = await router_gql(ENGAGEMENT, {"id": str(course.id)}, token=token)
                engagement = body["data"]["course"]["viewerEnrollment"]["engagement"]
                return engagement if engagement["proficiencyScore"] is not None else None

            engagement = await eventually(proficiency, timeout=30, what="analytics saw the lab")
            assert engagement["proficiencyScore"] == 100.0 and engagement["lastActivityAt"]
        finally:
            if lab_id:
                await router_gql(STOP, {"id": lab_id}, token=token)
            if use_docker:
                import docker

                client = docker.from_env()
                remove_run_resources(client, {"coursegraph.instance": f"e2e-{RUN_ID}"})
                client.close()

"""Resumable subscriptions through the real router: a finished stream completes at once when resumed after
its final event (issue 14.1), and an open stream ends with a typed error when the subscriber's access
ends — logout ends accountEvents, removeMember ends labSessionEvents (issue 13.2)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets

from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from tests.e2e.helpers import signed_in_student
from tests.e2e.test_generation_through_router import GENERATE, instructor_of_new_organization
from tests.e2e.test_labs import START, STOP
from tests.labs_support import docker_available, remove_run_resources, vscode_template_serving_the_test_ide
from tests.services import RUN_ID
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.organizations.queries import REMOVE
from tests.subgraphs.users.test_auth_flow import LOGOUT
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

ACCOUNT = "subscription($after: Int) { accountEvents(after: $after) { seq kind } }"
JOB = """subscription($id: ID!, $after: Int) {
  generationJobEvents(jobId: $id, after: $after) { seq status } }"""
LAB = """subscription($id: ID!, $after: Int) {
  labSessionEvents(sessionId: $id, after: $after) { seq status } }"""


class Stream:
    """One subscription over graphql-transport-ws; `receive()` gives ("next", data), ("error", errors)
    for a `next` carrying errors or an `error` message, or ("complete", None)."""

    def __init__(self, platform, token: str, query: str, variables: dict) -> None:
        self.url = platform.router_url.replace("http", "ws") + "/graphql"
        self.token, self.query, self.variables = token, query, variables

    async def __aenter__(self) -> Stream:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
        )
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": self.query, "variables": self.variables}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return self

    async def receive(self, timeout: float = 30) -> tuple[str, object]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message["type"] == "next":
            if message["payload"].get("errors"):
                return "error", message["payload"]["errors"]
            return "next", next(iter(message["payload"]["data"].values()))
        if message["type"] == "error":
            return "error", message["payload"]
        assert message["type"] == "complete", message
        return "complete", None

    async def events_until_complete(self) -> list[dict]:
        events = []
        while True:
            kind, data = await self.receive()
            if kind == "complete":
                return events
            assert kind == "next", data
            events.append(data)

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


async def test_a_finished_generation_job_completes_at_once_when_resumed_after_its_last_event(
    platform, router_gql, unique_email
):
    org, instructor = await instructor_of_new_organization(router_gql, unique_email)
    token = instructor["accessToken"]
    variables = {
        "input": {
            "organizationId": org,
            "title": f"Finished streams {uuid.uuid4().hex[:8]}",
            "audience": "testers",
            "durationWeeks": 2,
            "difficulty": "BEGINNER",
        }
    }
    job = (await router_gql(GENERATE, variables, token=token))["data"]["generateSyllabus"]["job"]
    async with Stream(platform, token, JOB, {"id": job["id"], "after": 0}) as stream:
        everything = await stream.events_until_complete()
    last = everything[-1]
    assert last["status"] == "SUCCEEDED"

    # The client saw the final event, lost its connection and resumes after it: `complete`, nothing else.
    async with Stream(platform, token, JOB, {"id": job["id"], "after": last["seq"]}) as stream:
        assert await stream.receive(timeout=10) == ("complete", None)
    # One lower: the final event again, then `complete`.
    async with Stream(platform, token, JOB, {"id": job["id"], "after": last["seq"] - 1}) as stream:
        assert await stream.events_until_complete() == [last]


async def test_logout_ends_an_open_account_events_stream(platform, router_gql, unique_email):
    token = await signed_in_student(router_gql, unique_email)
    async with Stream(platform, token, ACCOUNT, {"after": 0}) as stream:
        kind, first = await stream.receive()
        assert (kind, first) == ("next", {"seq": 1, "kind": "SIGNED_IN"})
        out = await router_gql(LOGOUT, token=token)
        assert out["data"]["logout"]["revokedSessions"] == 1, out
        # The sign-out itself may still arrive; then the re-check ends the stream with a clear code.
        while (received := await stream.receive())[0] == "next":
            assert received[1]["kind"] == "SIGNED_OUT", received
        kind, errors = received
        assert kind == "error" and errors[0]["extensions"]["code"] == "SESSION_ENDED", errors
        assert await stream.receive() == ("complete", None)


async def test_remove_member_ends_the_removed_instructors_lab_stream_and_a_stopped_lab_completes_on_resume(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    use_docker = docker_available()
    school = await courses.school()
    course = await courses.course(school)
    exercise = await create_exercise(
        courses_runtime, school.instructor.meta, course_id=course.id, title="Lab", ide="VSCODE"
    )
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    student = school.student.token
    async with vscode_template_serving_the_test_ide(courses_runtime, use_docker=use_docker):
        lab_id = None
        try:

            async def started():  # the worker projects the course events first
                body = await router_gql(START, {"input": {"exerciseId": str(exercise.id)}}, token=student)
                result = body["data"]["startLab"]
                return result if result["__typename"] == "LabSessionSuccess" else None

            lab_id = (await eventually(started, timeout=30, what="startLab accepted"))["session"]["id"]
            async with Stream(platform, student, LAB, {"id": lab_id, "after": 0}) as own:
                while (await own.receive(timeout=60))[1]["status"] != "RUNNING":
                    pass

            # The instructor follows the running lab; once removed from the organization, the stream ends.
            instructor = school.instructor.token
            async with Stream(platform, instructor, LAB, {"id": lab_id, "after": 0}) as followed:
                kind, first = await followed.receive()
                assert kind == "next" and first["seq"] == 1, first
                removed = await router_gql(
                    REMOVE,
                    {"input": {"organizationId": school.org, "userId": school.instructor.id}},
                    token=school.admin.token,
                )
                assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess", removed
                while (received := await followed.receive())[0] == "next":
                    pass  # the rest of the replay, until the re-check ends the stream
                kind, errors = received
                assert kind == "error" and errors[0]["extensions"]["code"] == "ACCESS_REVOKED", received
                assert await followed.receive() == ("complete", None)

            stopped = await router_gql(STOP, {"id": lab_id}, token=student)
            assert stopped["data"]["stopLab"]["__typename"] == "LabSessionSuccess", stopped
            async with Stream(platform, student, LAB, {"id": lab_id, "after": 0}) as own:
                history = await own.events_until_complete()
            assert history[-1]["status"] == "STOPPED"
            # Resumed after the final event: `complete` at once, no event, no hang.
            async with Stream(platform, student, LAB, {"id": lab_id, "after": history[-1]["seq"]}) as own:
                assert await own.receive(timeout=10) == ("complete", None)
            lab_id = None
        finally:
            if lab_id:
                await router_gql(STOP, {"id": lab_id}, token=student)
            if use_docker:
                import docker

                client = docker.from_env()
                remove_run_resources(client, {"coursegraph.instance": f"e2e-{RUN_ID}"})
                client.close()

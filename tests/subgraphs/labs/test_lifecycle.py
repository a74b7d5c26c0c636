"""The lab lifecycle on a real ProcessRuntime (the stand-in IDE as a real local process): start → RUNNING
only once the IDE answers its health check, idempotent start, pause/resume/stop through the worker,
heartbeats, idle → PAUSED → STOPPED with short organization timeouts, a dead environment → FAILED and a
new start that finds the same workspace; every transition's outbox event follows README "Labs → Events"."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from subgraphs.labs.models import LabSession
from subgraphs.labs.states import TERMINAL
from tests.subgraphs.labs.queries import (
    HEARTBEAT,
    PAUSE,
    RESUME,
    SESSION,
    STOP,
    contract_events,
    start,
    stream_of,
)
from tests.waiting import eventually

CONTRACT_KEYS = {
    "session_id",
    "user_id",
    "organization_id",
    "exercise_id",
    "course_id",
    "ide",
    "status",
    "running_seconds",
    "reason",
}


async def test_start_lab_becomes_running_when_the_ide_answers(labs_gql, world, minter):
    room = await world.classroom(minter)
    student = room.school.student
    started = await start(labs_gql, student, room.exercise_id)
    assert started["__typename"] == "LabSessionSuccess", started
    lab = started["session"]
    assert lab["status"] == "REQUESTED" and lab["ide"] == "VSCODE"
    assert lab["user"]["id"] == student.id and lab["exercise"]["id"] == str(room.exercise_id)
    assert lab["accessUrl"].endswith(f"/labs/{lab['id']}/")
    assert lab["resources"] == {"cpus": 1.5, "memoryMb": 2048, "memoryBytes": 2048 * 1024**2, "pids": 512}

    row = await world.status_becomes(lab["id"], "RUNNING")
    assert row.endpoint_port and row.started_at and row.last_activity_at
    # RUNNING means the IDE answered: it does, at the recorded endpoint.
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://{row.endpoint_host}:{row.endpoint_port}/health")).status_code == 200

    steps = await stream_of(world.api, lab["id"])
    assert [s["seq"] for s in steps] == list(range(1, len(steps) + 1))
    statuses = [s["status"] for s in steps]
    assert statuses[0] == "REQUESTED" and statuses[-1] == "RUNNING"
    assert statuses.index("PROVISIONING") < statuses.index("STARTING") < statuses.index("RUNNING")
    assert [s["progress"] for s in steps] == sorted(s["progress"] for s in steps), "progress never goes back"

    body = await labs_gql(SESSION, {"id": lab["id"]}, token=student.token)
    seen = body["data"]["labSession"]
    assert seen["status"] == "RUNNING" and seen["idleDeadline"] and seen["stopDeadline"]
    assert seen["usage"] is not None and seen["usage"]["memoryBytes"] > 0

    events = await contract_events(world.api, lab["id"])
    types = [e["type"] for e in events]
    assert types == ["labs.session.requested", "labs.session.started"]
    for e in events:
        assert set(e["payload"]) == CONTRACT_KEYS and e["payload"]["running_seconds"] == 0.0
        assert e["payload"]["course_id"] == str(room.course_id)
        assert e["payload"]["organization_id"] == room.school.org


async def test_start_is_idempotent_while_a_session_lives(labs_gql, world, minter):
    room = await world.classroom(minter)
    first = (await start(labs_gql, room.school.student, room.exercise_id))["session"]
    second = (await start(labs_gql, room.school.student, room.exercise_id))["session"]
    assert second["id"] == first["id"]
    await world.status_becomes(first["id"], "RUNNING")
    third = (await start(labs_gql, room.school.student, room.exercise_id))["session"]
    assert third["id"] == first["id"] and third["status"] == "RUNNING"


async def test_pause_resume_stop_and_heartbeat(labs_gql, world, minter):
    room = await world.classroom(minter)
    student = room.school.student
    lab = (await start(labs_gql, student, room.exercise_id))["session"]
    running = await world.status_becomes(lab["id"], "RUNNING")

    beat = await labs_gql(HEARTBEAT, {"id": lab["id"]}, token=student.token)
    assert beat["data"]["heartbeatLab"]["__typename"] == "LabSessionSuccess"
    assert (await world.row(lab["id"])).last_activity_at > running.last_activity_at

    paused = await labs_gql(PAUSE, {"id": lab["id"]}, token=student.token)
    assert paused["data"]["pauseLab"]["__typename"] == "LabSessionSuccess", paused
    await world.status_becomes(lab["id"], "PAUSED")
    status = await world.labs.poll(uuid.UUID(lab["id"]))
    assert status.state == "paused", "the environment is frozen, not just the row"

    again = await labs_gql(PAUSE, {"id": lab["id"]}, token=student.token)
    assert again["data"]["pauseLab"] == {
        "__typename": "InvalidTransitionError",
        "code": "INVALID_TRANSITION",
        "message": "A PAUSED lab cannot be paused.",
        "status": "PAUSED",
    }
    beat = await labs_gql(HEARTBEAT, {"id": lab["id"]}, token=student.token)
    assert beat["data"]["heartbeatLab"]["__typename"] == "InvalidTransitionError"

    resumed = await labs_gql(RESUME, {"id": lab["id"]}, token=student.token)
    assert resumed["data"]["resumeLab"]["__typename"] == "LabSessionSuccess"
    await world.status_becomes(lab["id"], "RUNNING")
    assert (await world.labs.poll(uuid.UUID(lab["id"]))).state == "running"

    stopped = await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    assert stopped["data"]["stopLab"]["session"]["status"] == "STOPPING"
    row = await world.status_becomes(lab["id"], "STOPPED")
    assert row.stop_reason == "user" and row.stopped_at
    assert (await world.labs.poll(uuid.UUID(lab["id"]))).state == "missing"

    events = await contract_events(world.api, lab["id"])
    types = [(e["type"], e["payload"]["status"], e["payload"]["reason"]) for e in events]
    assert [t for t in types if not t[0].endswith("_requested")] == [
        ("labs.session.requested", "REQUESTED", None),
        ("labs.session.started", "RUNNING", None),
        ("labs.session.paused", "PAUSED", "user"),
        ("labs.session.resumed", "RUNNING", None),
        ("labs.session.stopped", "STOPPED", "user"),
    ]
    timed = {e["type"]: e["payload"]["running_seconds"] for e in await contract_events(world.api, lab["id"])}
    assert timed["labs.session.paused"] > 0 and timed["labs.session.stopped"] > 0
    assert timed["labs.session.started"] == 0.0


async def test_idle_lab_pauses_then_stops_and_a_new_session_finds_the_workspace(labs_gql, world, minter):
    room = await world.classroom(minter, lab_idle_timeout_seconds=5, lab_stop_timeout_seconds=5)
    student = room.school.student
    lab = (await start(labs_gql, student, room.exercise_id))["session"]
    await world.status_becomes(lab["id"], "RUNNING")
    workspace = world.root / "workspaces" / f"{student.id}-{room.exercise_id}"
    (workspace / "solution.py").write_text("print('mine')\n")

    paused = await world.status_becomes(lab["id"], "PAUSED", timeout=30)
    assert paused.stop_reason is None or paused.paused_at
    body = await labs_gql(SESSION, {"id": lab["id"]}, token=student.token)
    assert body["data"]["labSession"]["stopDeadline"] and body["data"]["labSession"]["idleDeadline"] is None
    stopped = await world.status_becomes(lab["id"], "STOPPED", timeout=30)
    assert stopped.stop_reason == "idle"
    reasons = {e["type"]: e["payload"]["reason"] for e in await contract_events(world.api, lab["id"])}
    assert reasons["labs.session.paused"] == "idle" and reasons["labs.session.stopped"] == "idle"

    again = (await start(labs_gql, student, room.exercise_id))["session"]
    assert again["id"] != lab["id"]
    await world.status_becomes(again["id"], "RUNNING")
    assert (workspace / "solution.py").read_text() == "print('mine')\n", "the work survived the stop"
    await labs_gql(STOP, {"id": again["id"]}, token=student.token)
    await world.status_becomes(again["id"], "STOPPED")


async def test_a_lab_past_the_organizations_maximum_session_length_is_stopped(labs_gql, world, minter):
    room = await world.classroom(minter, lab_max_session_minutes=15)
    student = room.school.student
    lab = (await start(labs_gql, student, room.exercise_id))["session"]
    await world.status_becomes(lab["id"], "RUNNING")
    async with world.api.transaction() as session:  # 16 minutes pass
        await session.execute(
            update(LabSession)
            .where(LabSession.id == uuid.UUID(lab["id"]))
            .values(started_at=LabSession.started_at - timedelta(minutes=16))
        )
    stopped = await world.status_becomes(lab["id"], "STOPPED", timeout=30)
    assert stopped.stop_reason == "max_session"
    event = (await contract_events(world.api, lab["id"]))[-1]
    assert event["type"] == "labs.session.stopped" and event["payload"]["reason"] == "max_session"
    assert event["payload"]["running_seconds"] > 0


async def test_a_dead_environment_fails_the_session_and_the_student_can_start_again(labs_gql, world, minter):
    room = await world.classroom(minter)
    student = room.school.student
    lab = (await start(labs_gql, student, room.exercise_id))["session"]
    await world.status_becomes(lab["id"], "RUNNING")
    state = world.labs._read_state(uuid.UUID(lab["id"]))
    os.killpg(state["pgid"], signal.SIGKILL)

    failed = await world.status_becomes(lab["id"], "FAILED")
    assert failed.failure_reason
    event = (await contract_events(world.api, lab["id"]))[-1]
    assert event["type"] == "labs.session.failed" and event["payload"]["reason"] == failed.failure_reason
    assert event["payload"]["running_seconds"] > 0

    again = (await start(labs_gql, student, room.exercise_id))["session"]
    assert again["id"] != lab["id"]
    row = await world.status_becomes(again["id"], "RUNNING")
    assert row.status not in TERMINAL
    await eventually(lambda: _stop(labs_gql, student, again["id"]), what="stop")
    await world.status_becomes(again["id"], "STOPPED")


async def _stop(gql, caller, lab_id) -> bool:
    body = await gql(STOP, {"id": lab_id}, token=caller.token)
    return body["data"]["stopLab"]["__typename"] == "LabSessionSuccess"

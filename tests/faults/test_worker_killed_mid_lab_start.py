"""The worker killed (kill -9) while labs are STARTING (issue 16), on local processes and on Docker.

Two students each start a lab; both are held in STARTING (their IDE does not answer its health check yet)
and the worker is killed. Then one IDE is let answer and the worker restarted: the restarted worker's
reconciler adopts that lab (RUNNING) and fails the other after the start timeout (FAILED). Counted: each
reaches its end exactly once (lab events and outbox), analytics applied each event once, and no lab
process or container is left once the labs ended. Every client error meanwhile is typed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from subgraphs.analytics.models import Learner
from subgraphs.core.events import ConsumedEvent
from subgraphs.labs import starting, transitions
from subgraphs.labs.models import LabEvent, LabSession, LabTemplate
from subgraphs.labs.models import Outbox as LabsOutbox
from tests.conftest import GraphQLClient
from tests.e2e.test_courses_through_router import (
    CREATE_COURSE,
    CREATE_EXERCISE,
    CREATE_LESSON,
    CREATE_MODULE,
    ENROLL,
    PUBLISH,
    member,
)
from tests.e2e.test_labs import START, STOP
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.labs_support import TEST_IMAGE, TINY_IDE_TEMPLATE_COMMAND, ensure_test_image, require_docker

pytestmark = pytest.mark.e2e

LAB = "query($id: ID!) { labSession(id: $id) { id status } }"
READY_FILE = ".ready"  # tests/tiny_ide.py --ready-file: /health answers once the workspace holds it


def lab_processes(session_id: str) -> int:
    """Processes of this lab (the process runtime gives every lab COURSEGRAPH_LAB_SESSION=<id>)."""
    needle = f"COURSEGRAPH_LAB_SESSION={session_id}".encode()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            count += needle in environ.split(b"\0")
    return count


def remove_leftovers(runtime_name: str, labs: list[str]) -> None:
    if runtime_name == "docker":
        import docker

        client = docker.from_env()
        try:
            for lab in labs:
                for container in client.containers.list(
                    all=True, filters={"label": f"coursegraph.session={lab}"}
                ):
                    container.remove(force=True)
        finally:
            client.close()
        return
    for lab in labs:
        needle = f"COURSEGRAPH_LAB_SESSION={lab}".encode()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if needle in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                        os.kill(int(entry), 9)
                except OSError:
                    continue


def lab_containers(session_id: str) -> int:
    import docker

    client = docker.from_env()
    try:
        return len(client.containers.list(all=True, filters={"label": f"coursegraph.session={session_id}"}))
    finally:
        client.close()


@asynccontextmanager
async def held_templates(fault_runtime, runtime_name: str):  # noqa: ANN001
    """VS Code and Jupyter labs run the test IDE, held in STARTING: on Docker their health path does not
    exist yet (404), on processes the IDE answers 503 until its ready file exists. Put back after."""
    fields = ("image", "command", "health_path", "serves_base_url")
    held = {}
    for ide, health in (("VSCODE", "/not-yet"), ("JUPYTER", "/never")):
        if runtime_name == "docker":
            held[ide] = {"image": TEST_IMAGE, "health_path": health, "serves_base_url": False}
        else:
            name = READY_FILE if ide == "VSCODE" else ".never"
            command = [*TINY_IDE_TEMPLATE_COMMAND, "--ready-file", name]
            held[ide] = {"command": command, "health_path": "/health", "serves_base_url": False}
    async with fault_runtime.transaction() as session:
        rows = (await session.scalars(select(LabTemplate).where(LabTemplate.ide.in_(list(held))))).all()
        kept = {row.ide: {key: getattr(row, key) for key in fields} for row in rows}
        for ide, values in held.items():
            await session.execute(update(LabTemplate).where(LabTemplate.ide == ide).values(**values))
    try:
        yield
    finally:
        async with fault_runtime.transaction() as session:
            for ide, values in kept.items():
                await session.execute(update(LabTemplate).where(LabTemplate.ide == ide).values(**values))


async def release(fault_runtime, runtime_name: str, lab: LabSession) -> None:  # noqa: ANN001
    """Let the held VS Code lab's IDE answer its health check."""
    if runtime_name == "docker":
        async with fault_runtime.transaction() as session:
            await session.execute(
                update(LabTemplate).where(LabTemplate.ide == "VSCODE").values(health_path="/health")
            )
    else:
        workspace = Path(os.environ["COURSEGRAPH_DATA_DIR"]) / "labs" / "workspaces" / lab.workspace_key
        (workspace / READY_FILE).write_text("ok")


async def restart_worker(supervisor, fault_redis, spec) -> None:  # noqa: ANN001
    """Start the worker (again) as `spec` says; return once it is up: its lab monitor has reported the
    IDEs it can start."""
    redis = fault_redis.client()
    try:
        await supervisor.restart("worker", spec)
        # Only now: the old worker's monitor, until it stopped, could set the key again.
        await redis.delete(starting.AVAILABLE_KEY)
        started = time.monotonic()
        while not await redis.exists(starting.AVAILABLE_KEY):
            assert time.monotonic() - started < 90, "the restarted worker's lab monitor never ran"
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


@pytest.mark.parametrize("runtime_name", ["process", "docker"])
async def test_a_worker_killed_mid_lab_start_ends_each_lab_once_and_leaks_nothing(
    fault_platform, fault_redis, fault_runtime, unique_email, runtime_name
):
    if runtime_name == "docker":
        client = require_docker()  # fails in CI, skips elsewhere
        ensure_test_image(client)
        client.close()
    supervisor = fault_platform.supervisor
    original = supervisor.spec("worker")
    worker = dataclasses.replace(original, env={**original.env, "COURSEGRAPH_LABS__RUNTIME": runtime_name})
    await restart_worker(supervisor, fault_redis, worker)
    labs: list[str] = []
    try:
        await _kill_mid_lab_start(
            fault_platform, fault_redis, fault_runtime, unique_email, runtime_name, worker, labs
        )
    finally:
        await restart_worker(supervisor, fault_redis, original)
        remove_leftovers(runtime_name, labs)  # only after a failure is anything left


async def _kill_mid_lab_start(
    fault_platform, fault_redis, fault_runtime, unique_email, runtime_name, worker, labs
) -> None:  # noqa: ANN001
    supervisor = fault_platform.supervisor
    count = lab_containers if runtime_name == "docker" else lab_processes
    codes: list[str] = []
    async with fault_platform.client() as http, held_templates(fault_runtime, runtime_name):
        gql = GraphQLClient(http)
        admin = await verified_user(gql, unique_email("lab-admin"), "Lab Admin")
        slug = f"lab-{int(time.time() * 1000)}"
        created = await gql(
            CREATE, {"input": {"name": "Lab Academy", "slug": slug}}, token=admin["accessToken"]
        )
        org = created["data"]["createOrganization"]["organization"]["id"]
        teacher = (await member(gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Tia"))[
            "accessToken"
        ]
        students = [
            (await member(gql, unique_email, admin["accessToken"], org, "STUDENT", name))["accessToken"]
            for name in ("Ann", "Bob")
        ]

        async def call(document: str, field: str, token: str, **input_: object) -> dict:
            body = await gql(document, {"input": input_}, token=token)
            assert "errors" not in body, body
            return body["data"][field]

        course = (
            await call(
                CREATE_COURSE,
                "createCourse",
                teacher,
                organizationId=org,
                title="Lab course",
                slug=f"lab-{time.time_ns()}",
            )
        )["course"]
        exercises = [
            (
                await call(
                    CREATE_EXERCISE, "createExercise", teacher, courseId=course["id"], title=ide, labIde=ide
                )
            )["exercise"]["id"]
            for ide in ("VSCODE", "JUPYTER")
        ]
        module = (await call(CREATE_MODULE, "createModule", teacher, courseId=course["id"], title="M"))[
            "module"
        ]
        await call(CREATE_LESSON, "createLesson", teacher, moduleId=module["id"], title="L", body="text")
        published = await call(PUBLISH, "publishCourse", teacher, id=course["id"])
        assert published["__typename"] == "CourseSuccess", published
        for token, exercise in zip(students, exercises, strict=True):
            enrolled = await call(ENROLL, "enroll", token, courseId=course["id"])
            assert enrolled["__typename"] == "EnrollmentSuccess", enrolled
            started = await call(START, "startLab", token, exerciseId=exercise)
            assert started["__typename"] == "LabSessionSuccess", started
            labs.append(started["session"]["id"])
        adopted, failed = labs

        async def status(lab_id: str, token: str) -> str | None:
            body = await gql.raw(LAB, {"id": lab_id}, token=token)
            errors = body.json().get("errors") or []
            codes.extend((e.get("extensions") or {}).get("code", "NO CODE") for e in errors)
            return None if errors else body.json()["data"]["labSession"]["status"]

        deadline = time.monotonic() + 30
        while [await status(lab, token) for lab, token in zip(labs, students, strict=True)] != [
            "STARTING"
        ] * 2:
            assert time.monotonic() < deadline, "the labs never reached STARTING"
            await asyncio.sleep(0.1)
        assert all(count(lab) >= 1 for lab in labs)  # what a leak would leave behind, counted
        os.kill(supervisor.pid("worker"), 9)
        killed = time.monotonic()
        async with fault_runtime.transaction() as session:
            held = await session.get(LabSession, uuid.UUID(adopted))
        await release(fault_runtime, runtime_name, held)
        # Its boot (imports: 10-20 s on a loaded 2-core machine) is the platform's, not the labs' recovery.
        await restart_worker(supervisor, fault_redis, worker)
        up = time.monotonic() - killed

        ends: dict[str, float] = {}
        while len(ends) < 2:
            for lab, token, end in ((adopted, students[0], "RUNNING"), (failed, students[1], "FAILED")):
                now = await status(lab, token)
                assert now in ("STARTING", end, None), (lab, now)
                if now == end and lab not in ends:
                    ends[lab] = time.monotonic() - killed
            assert time.monotonic() - killed - up < 30, (
                f"not ended within 30 s of the worker's return: {ends}"
            )
            await asyncio.sleep(0.2)
        print(
            f"\n[{runtime_name}] worker killed mid-lab-start: back up {up:.2f} s after the kill; adopted "
            f"(RUNNING) {ends[adopted]:.2f} s and failed (timeout) {ends[failed]:.2f} s after it"
        )
        assert count(adopted) >= 1
        while count(failed):  # the failed lab's environment is removed (after its FAILED transition)
            assert time.monotonic() - killed - up < 30, "the failed lab's environment was not removed"
            await asyncio.sleep(0.2)
        stopped = await gql(STOP, {"id": adopted}, token=students[0])
        assert stopped["data"]["stopLab"]["__typename"] == "LabSessionSuccess", stopped
        deadline = time.monotonic() + 30
        while await status(adopted, students[0]) != "STOPPED":
            assert time.monotonic() < deadline, "the adopted lab did not stop"
            await asyncio.sleep(0.2)
    assert [count(lab) for lab in labs] == [0, 0], "a lab process or container leaked"
    assert set(codes) <= {"SUBGRAPH_UNAVAILABLE", "UNAVAILABLE"}, codes

    ids = [uuid.UUID(lab) for lab in labs]
    async with fault_runtime.sessionmaker() as session:
        statuses = Counter(
            (str(stream_id), status)
            for stream_id, status in await session.execute(
                select(LabEvent.stream_id, LabEvent.data["status"].astext).where(LabEvent.stream_id.in_(ids))
            )
            if status in ("RUNNING", "FAILED", "STOPPED")
        )
        announced = (
            await session.execute(
                select(
                    LabsOutbox.event["subject_ids"]["session_id"].astext, LabsOutbox.type, LabsOutbox.id
                ).where(LabsOutbox.event["subject_ids"]["session_id"].astext.in_(labs))
            )
        ).all()
    assert statuses == {(adopted, "RUNNING"): 1, (adopted, "STOPPED"): 1, (failed, "FAILED"): 1}
    ends_announced = sorted(
        (sid, t)
        for sid, t, _ in announced
        if t in (transitions.STARTED, transitions.STOPPED, transitions.FAILED)
    )
    assert ends_announced == sorted(
        [(adopted, transitions.STARTED), (adopted, transitions.STOPPED), (failed, transitions.FAILED)]
    )

    # Analytics applied each lab event once: wait until its ledger holds them all, then count.
    event_ids = [event_id for _, _, event_id in announced]
    deadline = time.monotonic() + 30
    while True:
        async with fault_runtime.sessionmaker() as session:
            handled = await session.scalar(
                select(func.count())
                .select_from(ConsumedEvent)
                .where(ConsumedEvent.group_name == "analytics", ConsumedEvent.event_id.in_(event_ids))
            )
        if handled == len(event_ids):
            break
        assert time.monotonic() < deadline, f"analytics handled {handled} of {len(event_ids)} lab events"
        await asyncio.sleep(0.2)
    async with fault_runtime.sessionmaker() as session:
        learners = (
            await session.execute(
                select(Learner.lab_sessions, Learner.lab_sessions_ended, Learner.lab_sessions_failed)
                .where(Learner.course_id == uuid.UUID(course["id"]))
                .order_by(Learner.lab_sessions.desc())
            )
        ).all()
    assert [tuple(row) for row in learners] == [(1, 1, 0), (0, 1, 1)]

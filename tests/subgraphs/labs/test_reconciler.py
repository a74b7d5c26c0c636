"""Restart-proof labs: the worker is killed (every task cancelled at once, mid-transition) and a new worker
with a NEW runtime object starts. Real local processes throughout: a RUNNING lab is adopted and keeps the
very same process, a lab killed while STARTING is adopted once its IDE answers, a lab stuck PROVISIONING
past the start timeout FAILS with a reason, a lab stopped while no worker ran is stopped, and environments
no live session accounts for (an unknown one, one of a FAILED session) are removed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from subgraphs.core.db import utcnow
from subgraphs.courses import service as courses_service
from subgraphs.labs.models import ExerciseProjection, LabSession, LabTemplate
from subgraphs.labs.runtimes import devide
from subgraphs.labs.runtimes.base import LabSpec, RuntimeState
from tests.labs_support import eventually
from tests.subgraphs.labs.queries import STOP, start

# The JUPYTER template for this test: an IDE that takes 2 s to listen, so a kill lands in STARTING.
SLOW = [
    "/bin/sh",
    "-c",
    f"sleep 2 && exec {{python}} {Path(devide.__file__)} --port {{port}} --workspace {{workspace}}",
]


async def test_a_new_worker_adopts_finishes_and_cleans_up(labs_gql, world, minter):
    room = await world.classroom(minter)
    school = room.school
    slow = await courses_service.create_exercise(
        world.courses.runtime, school.instructor.meta, course_id=room.course_id, title="Slow", ide="JUPYTER"
    )

    async def projected():
        async with world.api.transaction() as session:
            return await session.get(ExerciseProjection, slow.id)

    await eventually(projected, what="exercise projected")
    async with world.api.transaction() as session:
        await session.execute(update(LabTemplate).where(LabTemplate.ide == "JUPYTER").values(command=SLOW))
    try:
        # A: running. B: starting when the worker dies. C: a session stuck PROVISIONING long ago.
        a = (await start(labs_gql, school.student, room.exercise_id))["session"]["id"]
        running = await world.status_becomes(a, "RUNNING")
        pid_before = world.labs._read_state(uuid.UUID(a))["pid"]
        b = (await start(labs_gql, school.instructor, slow.id))["session"]["id"]
        await world.status_becomes(b, "STARTING")
        c = (await start(labs_gql, school.admin, room.exercise_id))["session"]["id"]
        await world.status_becomes(c, "RUNNING")
        await world.kill()  # mid-transition: B's start task dies with it

        # While no worker runs: C is "stuck" (its worker vanished 10 minutes ago in PROVISIONING), D is
        # stopped by its owner, an unknown environment appears, and E's row is FAILED but its process lives.
        async with world.api.transaction() as session:
            await session.execute(
                update(LabSession)
                .where(LabSession.id == uuid.UUID(c))
                .values(status="PROVISIONING", status_changed_at=utcnow() - timedelta(minutes=10))
            )
        runtime = world.new_runtime()
        await runtime.stop(uuid.UUID(c))  # its environment never came up
        d_caller = await minter.member(school.org, "instructor")
        d = (await start(labs_gql, d_caller, room.exercise_id))["session"]["id"]  # REQUESTED, no worker yet
        stopped = await labs_gql(STOP, {"id": d}, token=d_caller.token)
        assert stopped["data"]["stopLab"]["session"]["status"] == "STOPPING"
        orphan = uuid.uuid4()
        await runtime.start(_spec(orphan))
        e_caller = await minter.member(school.org, "instructor")
        e = (await start(labs_gql, e_caller, room.exercise_id))["session"]["id"]
        await runtime.start(_spec(uuid.UUID(e)))
        async with world.api.transaction() as session:
            await session.execute(
                update(LabSession)
                .where(LabSession.id == uuid.UUID(e))
                .values(status="FAILED", failure_reason="test")
            )
        assert (await runtime.poll(orphan)).state == RuntimeState.RUNNING

        await world.start(labs=runtime)  # a new worker, a new runtime object

        await world.status_becomes(b, "RUNNING", timeout=20)
        failed = await world.status_becomes(c, "FAILED")
        assert "did not start within" in failed.failure_reason
        assert (await world.status_becomes(d, "STOPPED")).stop_reason == "user"

        async def orphans_gone() -> bool:
            return (await runtime.poll(orphan)).state == RuntimeState.MISSING and (
                await runtime.poll(uuid.UUID(e))
            ).state == RuntimeState.MISSING

        await eventually(orphans_gone, what="orphan environments removed")
        # The running lab was adopted, never restarted.
        assert (await world.row(a)).status == "RUNNING"
        assert (await runtime.poll(uuid.UUID(a))).state == RuntimeState.RUNNING
        assert runtime._read_state(uuid.UUID(a))["pid"] == pid_before
        assert (await world.row(a)).started_at == running.started_at
        for lab_id, caller in ((a, school.student), (b, school.instructor)):
            await labs_gql(STOP, {"id": lab_id}, token=caller.token)
            await world.status_becomes(lab_id, "STOPPED")
    finally:
        async with world.api.transaction() as session:
            await session.execute(
                update(LabTemplate).where(LabTemplate.ide == "JUPYTER").values(command=None)
            )


def _spec(session_id: uuid.UUID) -> LabSpec:
    return LabSpec(
        session_id=session_id,
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image="coursegraph/lab-vscode:1",
        command=None,
        port=8080,
        health_path="/health",
        workspace_key=f"orphan-{session_id.hex[:12]}",
    )

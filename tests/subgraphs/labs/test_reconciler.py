"""Restart-proof labs: the worker is killed (every task cancelled at once, mid-transition) and a new worker
with a NEW runtime object starts. Real local processes throughout: a RUNNING lab is adopted and keeps the
very same process, a lab killed while STARTING is adopted once its IDE answers, a lab stuck PROVISIONING
past the start timeout FAILS with a reason, a lab stopped while no worker ran is stopped, and environments
no live session accounts for (an unknown one, one of a FAILED session) are removed. The same with Docker
(the registry-free test image) when an engine answers."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from subgraphs.core.db import utcnow
from subgraphs.core.settings import LabsSettings
from subgraphs.courses.exercises import create_exercise
from subgraphs.labs.models import ExerciseProjection, LabSession, LabTemplate
from subgraphs.labs.runtimes.base import LabSpec, RuntimeState
from subgraphs.labs.runtimes.docker import DockerRuntime, container_name
from tests.labs_support import RUN_LABELS, TEST_IMAGE, TINY_IDE, TINY_IDE_COMMAND, docker_client  # noqa: F401 - fixture
from tests.subgraphs.labs.queries import STOP, start
from tests.waiting import eventually

IMAGES = {
    "VSCODE": "coursegraph/lab-vscode:1",
    "JUPYTER": "coursegraph/lab-jupyter:1",
    "TERMINAL": "coursegraph/lab-terminal:1",
}
# The JUPYTER template for this test: an IDE that takes 2 s to listen, so a kill lands in STARTING.
SLOW = [
    "/bin/sh",
    "-c",
    f"sleep 2 && exec {{python}} {TINY_IDE} --port {{port}} --workspace {{workspace}}",
]


async def test_a_new_worker_adopts_finishes_and_cleans_up(labs_gql, world, minter):
    await scenario(labs_gql, world, minter, identity=lambda rt, sid: rt._read_state(sid)["pid"], strict=True)


async def test_a_new_worker_adopts_finishes_and_cleans_up_docker_labs(
    labs_gql,
    world,
    minter,
    docker_client,  # noqa: F811
):
    labs = LabsSettings(allowed_images=[TEST_IMAGE], docker_network=world.settings.labs.docker_network)
    labels = {**RUN_LABELS, "coursegraph.reconciler-test": uuid.uuid4().hex[:8]}
    world.new_runtime = lambda: DockerRuntime(labs, extra_labels=labels)
    await world.kill()
    await world.start(labs=world.new_runtime())
    async with world.api.transaction() as session:
        await session.execute(update(LabTemplate).values(image=TEST_IMAGE))
    try:
        await scenario(
            labs_gql,
            world,
            minter,
            identity=lambda rt, sid: docker_client.containers.get(container_name(sid)).id,
            strict=False,
            image=TEST_IMAGE,
        )
    finally:
        async with world.api.transaction() as session:
            for ide, image in IMAGES.items():
                await session.execute(update(LabTemplate).where(LabTemplate.ide == ide).values(image=image))


async def scenario(
    labs_gql, world, minter, *, identity, strict: bool, image: str = "coursegraph/lab-vscode:1"
):
    """`strict`: B is known to be STARTING when the worker dies (the process runtime's slow IDE); Docker's
    test image answers at once, so B may die in any step of its start — it then ends RUNNING (adopted or
    restarted) or FAILED with a reason and no environment left."""
    room = await world.classroom(minter)
    school = room.school
    slow = await create_exercise(
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
        pid_before = identity(world.labs, uuid.UUID(a))
        b = (await start(labs_gql, school.instructor, slow.id))["session"]["id"]
        await world.status_becomes(b, "STARTING" if strict else "PROVISIONING", "STARTING", "RUNNING")
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
        await runtime.start(_spec(orphan, image))
        e_caller = await minter.member(school.org, "instructor")
        e = (await start(labs_gql, e_caller, room.exercise_id))["session"]["id"]
        await runtime.start(_spec(uuid.UUID(e), image))
        async with world.api.transaction() as session:
            await session.execute(
                update(LabSession)
                .where(LabSession.id == uuid.UUID(e))
                .values(status="FAILED", failure_reason="test")
            )
        assert (await runtime.poll(orphan)).state == RuntimeState.RUNNING

        await world.start(labs=runtime)  # a new worker, a new runtime object

        b_row = await world.status_becomes(b, "RUNNING", *(() if strict else ("FAILED",)), timeout=40)
        if b_row.status == "FAILED":
            assert b_row.failure_reason and (await runtime.poll(uuid.UUID(b))).state == RuntimeState.MISSING
        failed = await world.status_becomes(c, "FAILED")
        assert "did not start within" in failed.failure_reason
        assert (await world.status_becomes(d, "STOPPED")).stop_reason == "user"

        async def orphans_gone() -> bool:
            return (await runtime.poll(orphan)).state == RuntimeState.MISSING and (
                await runtime.poll(uuid.UUID(e))
            ).state == RuntimeState.MISSING

        await eventually(orphans_gone, timeout=40, what="orphan environments removed")
        # The running lab was adopted, never restarted.
        assert (await world.row(a)).status == "RUNNING"
        assert (await runtime.poll(uuid.UUID(a))).state == RuntimeState.RUNNING
        assert identity(runtime, uuid.UUID(a)) == pid_before
        assert (await world.row(a)).started_at == running.started_at
        for lab_id, caller in ((a, school.student), (b, school.instructor)):
            if (await world.row(lab_id)).status == "RUNNING":
                await labs_gql(STOP, {"id": lab_id}, token=caller.token)
                await world.status_becomes(lab_id, "STOPPED")
    finally:
        await world.use_test_ide()


def _spec(session_id: uuid.UUID, image: str) -> LabSpec:
    return LabSpec(
        session_id=session_id,
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image=image,
        command=None if image == TEST_IMAGE else TINY_IDE_COMMAND,  # Docker: the test image's own
        port=8080,
        health_path="/health",
        workspace_key=f"orphan-{session_id.hex[:12]}",
    )

"""Who may start labs and the limits: enrollment, other tenants, per-user and per-organization running
limits from the organization's settings, the concurrent-start limit, the creation rate limit, templates
not allowed, invalid transitions, admin stops — each a typed error naming the problem, nothing written."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from subgraphs.courses.exercises import create_exercise
from subgraphs.labs.models import LabSession, LabTemplate
from tests.subgraphs.labs.queries import CAPACITY, PAUSE, RESUME, STOP, STOP_LABS, start
from tests.waiting import eventually


async def _sessions_of(world, user_id) -> int:
    async with world.api.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(LabSession).where(LabSession.user_id == uuid.UUID(user_id))
        )


async def _second_exercise(world, room):
    exercise = await create_exercise(
        world.courses.runtime,
        room.school.instructor.meta,
        course_id=room.course_id,
        title="Two",
        ide="JUPYTER",
    )

    async def projected():
        from subgraphs.labs.models import ExerciseProjection

        async with world.api.transaction() as session:
            return await session.get(ExerciseProjection, exercise.id)

    await eventually(projected, what="second exercise projected")
    return exercise.id


async def test_students_need_an_enrollment_and_strangers_learn_nothing(labs_gql, world, minter):
    room = await world.classroom(minter)
    newcomer = await minter.member(room.school.org, "student")
    refused = await start(labs_gql, newcomer, room.exercise_id)
    assert refused == {
        "__typename": "NotEnrolledError",
        "code": "NOT_ENROLLED",
        "message": "Enroll in this exercise's course to start its lab.",
    }
    stranger = await start(labs_gql, room.outsider, room.exercise_id)
    missing = await start(labs_gql, room.outsider, uuid.uuid4())
    assert stranger["code"] == missing["code"] == "NOT_FOUND" and stranger["message"] == missing["message"]
    bad = await start(labs_gql, room.school.student, "not-an-id")
    assert bad["__typename"] == "ValidationError"
    for caller in (newcomer, room.outsider):
        assert await _sessions_of(world, caller.id) == 0

    # Instructors start labs of their organization's exercises without enrolling (CREATE_LABS).
    mine = await start(labs_gql, room.school.instructor, room.exercise_id)
    assert mine["__typename"] == "LabSessionSuccess"
    await labs_gql(STOP, {"id": mine["session"]["id"]}, token=room.school.instructor.token)


async def test_running_limits_per_user_and_per_organization(labs_gql, world, minter):
    room = await world.classroom(minter, lab_max_concurrent_per_user=1, lab_max_running_per_organization=2)
    second = await _second_exercise(world, room)
    student, instructor = room.school.student, room.school.instructor
    first = await start(labs_gql, student, room.exercise_id)
    assert first["__typename"] == "LabSessionSuccess"
    limited = await start(labs_gql, student, second)
    assert limited["__typename"] == "LabLimitReachedError"
    assert (limited["scope"], limited["limit"], limited["code"]) == ("USER", 1, "LAB_LIMIT_REACHED")
    assert await _sessions_of(world, student.id) == 1

    other = await start(labs_gql, instructor, room.exercise_id)
    assert other["__typename"] == "LabSessionSuccess"
    admin_lab = await start(labs_gql, room.school.admin, room.exercise_id)
    assert (admin_lab["__typename"], admin_lab["scope"], admin_lab["limit"]) == (
        "LabLimitReachedError",
        "ORGANIZATION",
        2,
    )
    capacity = await labs_gql(CAPACITY, {"org": room.school.org}, token=student.token)
    assert capacity["data"]["labCapacity"]["running"] == 2 and capacity["data"]["labCapacity"]["limit"] == 2

    # A stopped lab frees its place.
    await labs_gql(STOP, {"id": first["session"]["id"]}, token=student.token)
    await world.status_becomes(first["session"]["id"], "STOPPED")
    assert (await start(labs_gql, student, second))["__typename"] == "LabSessionSuccess"
    stopped = await labs_gql(
        STOP_LABS, {"input": {"organizationId": room.school.org}}, token=room.school.admin.token
    )
    assert stopped["data"]["stopLabs"]["count"] == 2


async def test_concurrent_start_limit_and_creation_rate_limit(
    labs_gql, world, minter, labs_runtime, monkeypatch
):
    room = await world.classroom(minter)
    student = room.school.student
    monkeypatch.setattr(labs_runtime.settings.labs, "max_concurrent_starts", 0)
    busy = await start(labs_gql, student, room.exercise_id)
    assert busy["__typename"] == "LabCapacityExceededError" and busy["retryAfterSeconds"] >= 1
    assert busy["code"] == "LAB_CAPACITY_EXCEEDED"
    assert await _sessions_of(world, student.id) == 0
    monkeypatch.undo()

    monkeypatch.setattr(labs_runtime.settings.rate_limits, "lab_create_per_user", 1)
    second = await _second_exercise(world, room)
    first = await start(labs_gql, student, room.exercise_id)
    assert first["__typename"] == "LabSessionSuccess"
    assert (await start(labs_gql, student, room.exercise_id))["session"]["id"] == first["session"]["id"], (
        "returning the live session is not a creation"
    )
    limited = await start(labs_gql, student, second)
    assert limited["__typename"] == "RateLimitedError" and limited["retryAfterSeconds"] > 0
    assert await _sessions_of(world, student.id) == 1
    await labs_gql(STOP, {"id": first["session"]["id"]}, token=student.token)


async def test_a_template_not_allowed_for_the_organization(labs_gql, world, minter):
    room = await world.classroom(minter, ide="TERMINAL")
    async with world.api.transaction() as session:
        await session.execute(
            update(LabTemplate)
            .where(LabTemplate.ide == "TERMINAL")
            .values(allowed_organization_ids=[str(uuid.uuid4())])
        )
    try:
        refused = await start(labs_gql, room.school.student, room.exercise_id)
        assert (
            refused["__typename"] == "TemplateNotAllowedError" and refused["code"] == "TEMPLATE_NOT_ALLOWED"
        )
        ok = await start(labs_gql, room.school.student, room.exercise_id, ide="VSCODE")
        assert ok["__typename"] == "LabSessionSuccess" and ok["session"]["ide"] == "VSCODE"
        await labs_gql(STOP, {"id": ok["session"]["id"]}, token=room.school.student.token)
    finally:
        async with world.api.transaction() as session:
            await session.execute(
                update(LabTemplate).where(LabTemplate.ide == "TERMINAL").values(allowed_organization_ids=None)
            )


async def test_transitions_are_checked_and_only_the_owner_pauses(labs_gql, world, minter):
    room = await world.classroom(minter)
    student = room.school.student
    lab = (await start(labs_gql, student, room.exercise_id))["session"]
    await world.status_becomes(lab["id"], "RUNNING")
    resumed = (await labs_gql(RESUME, {"id": lab["id"]}, token=student.token))["data"]["resumeLab"]
    assert resumed == {
        "__typename": "InvalidTransitionError",
        "code": "INVALID_TRANSITION",
        "message": "A RUNNING lab cannot be resumed.",
        "status": "RUNNING",
    }
    # The organization's admin and instructors see the lab but may not pause it.
    by_admin = (await labs_gql(PAUSE, {"id": lab["id"]}, token=room.school.admin.token))["data"]["pauseLab"]
    assert by_admin["code"] == "FORBIDDEN"
    by_instructor = (await labs_gql(PAUSE, {"id": lab["id"]}, token=room.school.instructor.token))["data"]
    assert by_instructor["pauseLab"]["code"] == "FORBIDDEN"
    by_stranger = (await labs_gql(STOP, {"id": lab["id"]}, token=room.outsider.token))["data"]["stopLab"]
    assert by_stranger["code"] == "NOT_FOUND"
    assert (await world.row(lab["id"])).status == "RUNNING"

    # ...but an admin (MANAGE_LABS) stops it, with reason "admin".
    stopped = (await labs_gql(STOP, {"id": lab["id"]}, token=room.school.admin.token))["data"]["stopLab"]
    assert stopped["session"]["status"] == "STOPPING"
    row = await world.status_becomes(lab["id"], "STOPPED")
    assert row.stop_reason == "admin"
    again = (await labs_gql(STOP, {"id": lab["id"]}, token=student.token))["data"]["stopLab"]
    assert again["__typename"] == "InvalidTransitionError" and again["status"] == "STOPPED"
    not_admin = await labs_gql(
        STOP_LABS, {"input": {"organizationId": room.school.org}}, token=room.school.instructor.token
    )
    assert not_admin["data"]["stopLabs"]["code"] == "FORBIDDEN"


async def test_only_ides_that_can_start_here_are_offered(labs_gql, world, minter):
    """Issue 15: the graph offered VS Code on a machine that cannot run it. What the runtime cannot start
    (no program for the command; on Docker, no image) is neither listed nor startable."""
    room = await world.classroom(minter, ide="TERMINAL")
    student = room.school.student
    templates = "{ labTemplates { ide } }"
    offered = await labs_gql(templates, token=student.token)
    assert {t["ide"] for t in offered["data"]["labTemplates"]} == {"JUPYTER", "TERMINAL", "VSCODE"}
    async with world.api.transaction() as session:
        await session.execute(update(LabTemplate).where(LabTemplate.ide == "VSCODE").values(command=None))
        await session.execute(
            update(LabTemplate)
            .where(LabTemplate.ide == "JUPYTER")
            .values(command=["/nonexistent/ide", "--port", "{port}"])
        )

    async def reported():
        body = await labs_gql(templates, token=student.token)
        return {t["ide"] for t in body["data"]["labTemplates"]} == {"TERMINAL"}

    await eventually(reported, what="the worker's monitor reported what can start")
    for ide in ("VSCODE", "JUPYTER"):
        refused = await start(labs_gql, student, room.exercise_id, ide=ide)
        assert refused["__typename"] == "TemplateNotAllowedError", refused
        assert "cannot run on this platform" in refused["message"]
    assert await _sessions_of(world, student.id) == 0
    ok = await start(labs_gql, student, room.exercise_id)
    assert ok["__typename"] == "LabSessionSuccess" and ok["session"]["ide"] == "TERMINAL"
    await labs_gql(STOP, {"id": ok["session"]["id"]}, token=student.token)
    # An exercise whose preferred IDE cannot run here gets the best one that can, unless asked otherwise.
    jupyter_exercise = await _second_exercise(world, room)
    fallback = await start(labs_gql, student, jupyter_exercise)
    assert fallback["__typename"] == "LabSessionSuccess" and fallback["session"]["ide"] == "TERMINAL"
    await labs_gql(STOP, {"id": fallback["session"]["id"]}, token=student.token)

    # No worker, nothing offered: the monitor's report expires with it.
    await world.kill()
    await world.api.redis.delete("labs:available-ides")
    assert (await labs_gql(templates, token=student.token))["data"]["labTemplates"] == []

"""Who sees a lab session (labSession, labSessions, `_entities`, labSessionEvents): the owner, instructors
and admins of its organization (VIEW_ALL_LABS), site admins and API clients granted view_all_labs there —
nobody else (not classmates, not other organizations).
The subscription replays after `after` and follows live to the end. No N+1: statement counts are the
same for 5 and 50 sessions (labSessions) and 5 and 50 users (User.labSessions)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from subgraphs.core.context import Context
from subgraphs.core.db import utcnow
from subgraphs.labs.models import LabEvent, LabSession
from subgraphs.labs.schema import schema
from tests.subgraphs.labs.queries import ENTITIES, SESSION, SESSIONS, STOP, start, stream_of

EVENTS = """subscription($id: ID!, $after: Int) {
  labSessionEvents(sessionId: $id, after: $after) { seq status progress message } }"""


@pytest.fixture
async def lab(labs_gql, world, minter):
    room = await world.classroom(minter)
    session = (await start(labs_gql, room.school.student, room.exercise_id))["session"]
    await world.status_becomes(session["id"], "RUNNING")
    classmate = await minter.member(room.school.org, "student")
    client = await minter.client(room.school.org, ["view_all_labs"])
    blind_client = await minter.client(room.school.org, ["view_courses"])
    callers = {
        "owner": (room.school.student, True),
        "classmate": (classmate, False),
        "instructor": (room.school.instructor, True),
        "org admin": (room.school.admin, True),
        "outsider": (room.outsider, False),
        "site admin": (room.site_admin, True),
        "client with view_all_labs": (client, True),
        "client without it": (blind_client, False),
    }
    yield room, session, callers
    await labs_gql(STOP, {"id": session["id"]}, token=room.school.student.token)
    await world.status_becomes(session["id"], "STOPPED")


async def test_who_sees_a_lab_session(labs_gql, lab):
    room, session, callers = lab
    for name, (caller, allowed) in callers.items():
        one = await labs_gql(SESSION, {"id": session["id"]}, token=caller.token)
        seen = one["data"]["labSession"]
        assert (seen is not None) == allowed, name
        if seen:
            assert seen["accessUrl"] == (seen["accessUrl"] if name == "owner" else None), (
                "only the owner gets the IDE's address"
            )
        listed = await labs_gql(SESSIONS, {"filter": {"organizationId": room.school.org}}, token=caller.token)
        ids = [e["node"]["id"] for e in listed["data"]["labSessions"]["edges"]]
        assert (session["id"] in ids) == allowed, name
        entity = await labs_gql(
            ENTITIES,
            {"representations": [{"__typename": "LabSession", "id": session["id"]}]},
            token=caller.token,
        )
        assert (entity["data"]["_entities"][0] is not None) == allowed, name
    owner_view = await labs_gql(SESSION, {"id": session["id"]}, token=room.school.student.token)
    assert owner_view["data"]["labSession"]["accessUrl"].endswith(f"/labs/{session['id']}/")
    anonymous = await labs_gql(SESSION, {"id": session["id"]})
    assert (
        anonymous["data"]["labSession"] is None
        and anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    )
    entity = await labs_gql(
        ENTITIES, {"representations": [{"__typename": "LabSession", "id": session["id"]}]}
    )
    assert entity["data"]["_entities"] == [None]


async def test_exercise_lab_template_for_members_only(labs_gql, lab):
    room, _session, callers = lab
    rep = {"representations": [{"__typename": "Exercise", "id": str(room.exercise_id)}]}
    member = await labs_gql(ENTITIES, rep, token=callers["classmate"][0].token)
    template = member["data"]["_entities"][0]["labTemplate"]
    assert template["ide"] == "VSCODE" and template["image"] == "coursegraph/lab-vscode:1"
    stranger = await labs_gql(ENTITIES, rep, token=room.outsider.token)
    assert stranger["data"]["_entities"][0]["labTemplate"] is None
    by_id = {"representations": [{"__typename": "LabTemplate", "id": template["id"]}]}
    found = await labs_gql(ENTITIES, by_id, token=room.outsider.token)
    assert found["data"]["_entities"] == [{"id": template["id"], "ide": "VSCODE"}]
    assert (await labs_gql(ENTITIES, by_id))["data"]["_entities"] == [None]


async def test_the_subscription_replays_after_a_seq_and_follows_to_the_end(
    labs_gql, lab, labs_runtime, world
):
    room, session, callers = lab

    async def collect(caller, after):
        context = Context(runtime=labs_runtime, principal=caller.principal)
        stream = await schema.subscribe(
            EVENTS, variable_values={"id": session["id"], "after": after}, context_value=context
        )
        seen = []
        async for result in stream:
            assert not result.errors, result.errors
            seen.append(result.data["labSessionEvents"])
        return seen

    follower = asyncio.create_task(collect(room.school.admin, None))
    await labs_gql(STOP, {"id": session["id"]}, token=room.school.student.token)
    live = await asyncio.wait_for(follower, 20)
    stored = await stream_of(labs_runtime, session["id"])
    assert [e["seq"] for e in live] == [e["seq"] for e in stored] and live[-1]["status"] == "STOPPED"
    assert [e["status"] for e in live][:2] == ["REQUESTED", "PROVISIONING"]
    later = await asyncio.wait_for(collect(room.school.student, 3), 20)
    assert [e["seq"] for e in later] == [e["seq"] for e in stored if e["seq"] > 3]

    for name in ("classmate", "outsider"):
        context = Context(runtime=labs_runtime, principal=callers[name][0].principal)
        refused = await schema.subscribe(EVENTS, variable_values={"id": session["id"]}, context_value=context)
        first = await refused.__anext__() if hasattr(refused, "__anext__") else refused
        assert first.errors and first.errors[0].extensions["code"] == "NOT_FOUND", name


# --- N+1 ----------------------------------------------------------------------------------------------


async def _sessions(runtime, *, users: list[uuid.UUID], per_user: int, org: uuid.UUID) -> None:
    now = utcnow()
    async with runtime.transaction() as session:
        for user in users:
            for i in range(per_user):
                row = LabSession(
                    id=uuid.uuid4(),
                    user_id=user,
                    organization_id=org,
                    exercise_id=uuid.uuid4(),
                    course_id=uuid.uuid4(),
                    template_id=uuid.uuid4(),
                    ide="VSCODE",
                    status="RUNNING" if i % 2 else "STOPPED",
                    workspace_key="k",
                    image="coursegraph/lab-vscode:1",
                    cpus=1.0,
                    memory_bytes=1024**3,
                    pids=64,
                    created_at=now - timedelta(seconds=i),
                    status_changed_at=now,
                    last_activity_at=now,
                    running_seconds_unreported=0.0,
                )
                session.add(row)
                for seq in (1, 2, 3):
                    session.add(
                        LabEvent(
                            stream_id=row.id,
                            seq=seq,
                            at=now,
                            data={"status": "REQUESTED", "progress": 0, "message": "x"},
                        )
                    )


LIST = """query($filter: LabSessionFilter, $first: Int) { labSessions(filter: $filter, first: $first) {
  edges { node { id status idleDeadline stopDeadline user { id } exercise { id } organization { id }
                 events(first: 2) { edges { node { seq status } } pageInfo { hasNextPage } } } } } }"""


async def test_lab_sessions_statement_count_does_not_grow(labs_gql, labs_runtime, labs_count_queries, minter):
    admin = await minter.user("site_admin")
    counts = {}
    for n in (5, 50):
        org = uuid.uuid4()
        await _sessions(labs_runtime, users=[uuid.uuid4()], per_user=n, org=org)
        with labs_count_queries() as counter:
            body = await labs_gql(
                LIST, {"filter": {"organizationId": str(org)}, "first": 100}, token=admin.token
            )
        edges = body["data"]["labSessions"]["edges"]
        assert len(edges) == n and all(len(e["node"]["events"]["edges"]) == 2 for e in edges)
        assert all(e["node"]["events"]["pageInfo"]["hasNextPage"] for e in edges)
        counts[n] = counter.count
    assert counts[5] == counts[50], counts


async def test_user_lab_sessions_statement_count_does_not_grow(
    labs_gql, labs_runtime, labs_count_queries, minter
):
    admin = await minter.user("site_admin")
    counts = {}
    for n in (5, 50):
        users = [uuid.uuid4() for _ in range(n)]
        await _sessions(labs_runtime, users=users, per_user=3, org=uuid.uuid4())
        reps = [{"__typename": "User", "id": str(u)} for u in users]
        with labs_count_queries() as counter:
            body = await labs_gql(ENTITIES, {"representations": reps}, token=admin.token)
        found = body["data"]["_entities"]
        assert len(found) == n and all(len(u["labSessions"]["edges"]) == 3 for u in found)
        counts[n] = counter.count
    assert counts[5] == counts[50], counts

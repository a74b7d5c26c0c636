"""The labs domain's projections of courses and organizations: each event applied once (deduped by id in
the applying transaction), never overwritten by an older one (as_of), irrelevant events ignored; and
startLab under concurrency: one session, whatever the number of simultaneous calls. Also: in production
the IDE proxy is reachable without the router's secret (it authenticates itself), GraphQL is not."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event
from subgraphs.core.settings import Environment
from subgraphs.labs.models import ExerciseProjection, LabSession, OrganizationProjection
from subgraphs.labs.projection import apply_event
from tests.subgraphs.labs.queries import STOP, start


def _exercise_event(exercise_id, ide: str, at, verb: str = "updated") -> Event:
    course, org = uuid.UUID(int=1), uuid.UUID(int=2)
    return Event(
        type=f"courses.exercise.{verb}",
        occurred_at=at,
        organization_id=str(org),
        payload={
            "exercise_id": str(exercise_id),
            "course_id": str(course),
            "organization_id": str(org),
            "ide": ide,
        },
    )


async def test_events_apply_once_and_never_go_back_in_time(labs_runtime):
    maker = labs_runtime.sessionmaker
    exercise = uuid.uuid4()
    now = utcnow()
    newer = _exercise_event(exercise, "JUPYTER", now)
    older = _exercise_event(exercise, "TERMINAL", now - timedelta(seconds=5), verb="created")
    assert await apply_event(maker, newer) is True
    assert await apply_event(maker, newer) is False, "a redelivery changes nothing"
    assert await apply_event(maker, older) is True  # recorded, but older than what the row holds
    async with labs_runtime.transaction() as session:
        row = await session.get(ExerciseProjection, exercise)
    assert row.ide == "JUPYTER" and row.deleted is False
    assert await apply_event(
        maker, _exercise_event(exercise, "JUPYTER", now + timedelta(seconds=1), "deleted")
    )
    async with labs_runtime.transaction() as session:
        assert (await session.get(ExerciseProjection, exercise)).deleted is True

    org = uuid.uuid4()
    renamed = Event(
        type="organizations.organization.updated",
        organization_id=str(org),
        payload={"before": {"name": "A"}, "after": {"name": "B"}},
    )
    assert await apply_event(maker, renamed) is False, "an update without settings is not a settings change"
    tuned = Event(
        type="organizations.organization.updated",
        organization_id=str(org),
        payload={"after": {"settings": {"lab_idle_timeout_seconds": 60}}},
    )
    assert await apply_event(maker, tuned) is True
    async with labs_runtime.transaction() as session:
        assert (await session.get(OrganizationProjection, org)).settings == {"lab_idle_timeout_seconds": 60}
    assert await apply_event(maker, Event(type="courses.lesson.completed", payload={})) is False


async def test_concurrent_starts_make_one_session(labs_gql, world, minter):
    room = await world.classroom(minter)
    results = await asyncio.gather(
        *(start(labs_gql, room.school.student, room.exercise_id) for _ in range(6))
    )
    ids = {r["session"]["id"] for r in results}
    assert len(ids) == 1 and all(r["__typename"] == "LabSessionSuccess" for r in results)
    async with world.api.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(LabSession)
            .where(LabSession.user_id == uuid.UUID(room.school.student.id))
        )
    assert count == 1
    await labs_gql(STOP, {"id": ids.pop()}, token=room.school.student.token)


async def test_in_production_the_proxy_is_reachable_without_the_router_secret(settings):
    from subgraphs.labs.app import create_app
    from subgraphs.users.keys import SigningKeys

    production = settings.model_copy(
        update={
            "environment": Environment.PRODUCTION,
            "router": settings.router.model_copy(update={"shared_secret": "s" * 40}),
        }
    )
    app = create_app(production, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://labs.test") as client:
            graphql = await client.post("/graphql", json={"query": "{ labTemplates { id } }"})
            assert graphql.status_code == 403, "GraphQL only through the router"
            proxy = await client.get(f"/labs/{uuid.uuid4()}/")
            assert proxy.status_code == 401, "the proxy answers, and asks for a sign-in"

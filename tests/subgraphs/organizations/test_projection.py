"""The membership projection: recomputed from the database by the write-through, by the worker's consumer
(which repairs what a failed write-through left), and by the start-up rebuild. Idempotent, order-free."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from subgraphs.core.events import Event
from subgraphs.core.rbac import MEMBERSHIPS_KEY
from subgraphs.organizations.authz import AuthzProjectionConsumer, project_user, rebuild_projection
from subgraphs.organizations.models import Membership, Outbox
from tests.subgraphs.organizations.queries import REMOVE, UPDATE_ROLE


async def projection(redis, user_id: str) -> dict[str, str]:
    raw = await redis.hgetall(MEMBERSHIPS_KEY.format(user_id=user_id))
    return {k.decode(): v.decode() for k, v in raw.items()}


async def membership_events(runtime, user_id: str) -> list[Event]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(Outbox.event)
            .where(
                Outbox.type.like("organizations.membership.%"),
                Outbox.event["subject_ids"]["user_id"].astext == user_id,
            )
            .order_by(Outbox.position)
        )
        return [Event.model_validate(row) for row in rows]


def consumer(runtime) -> AuthzProjectionConsumer:
    return AuthzProjectionConsumer(runtime.redis, runtime.sessionmaker, name="tests", block_ms=10)


async def test_consumer_repairs_a_projection_the_write_through_missed(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    member = await minter.member(org_id, "instructor")
    changed = await org_gql(
        UPDATE_ROLE,
        {"input": {"organizationId": org_id, "userId": member.id, "role": "STUDENT"}},
        token=admin.token,
    )
    assert changed["data"]["updateMemberRole"]["membership"]["role"] == "STUDENT"
    # As if Redis had failed after the commit: the projection still says "instructor", plus junk.
    key = MEMBERSHIPS_KEY.format(user_id=member.id)
    await org_runtime.redis.hset(key, mapping={org_id: "instructor", str(uuid.uuid4()): "organization_admin"})

    [*_, last] = await membership_events(org_runtime, member.id)
    assert last.type == "organizations.membership.role_changed"
    await consumer(org_runtime).handle(last)
    assert await projection(org_runtime.redis, member.id) == {org_id: "student"}


async def test_recompute_is_idempotent_and_order_independent(org_gql, org_runtime, minter):
    admin = await minter.user()
    first = await minter.organization(admin)
    second = await minter.organization(admin)
    person = await minter.member(first, "student")
    await minter.add(second, person.id, "instructor")
    removed = await org_gql(
        REMOVE, {"input": {"organizationId": first, "userId": person.id}}, token=admin.token
    )
    assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess"

    events = await membership_events(org_runtime, person.id)
    assert [e.type for e in events][-1] == "organizations.membership.removed"
    handler = consumer(org_runtime)
    for order in (events, list(reversed(events)), events + events):
        await org_runtime.redis.delete(MEMBERSHIPS_KEY.format(user_id=person.id))
        for event in order:
            await handler.handle(event)
        assert await projection(org_runtime.redis, person.id) == {second: "instructor"}


async def test_a_user_without_memberships_has_no_hash(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    member = await minter.member(org_id)
    removed = await org_gql(
        REMOVE, {"input": {"organizationId": org_id, "userId": member.id}}, token=admin.token
    )
    assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess"
    assert not await org_runtime.redis.exists(MEMBERSHIPS_KEY.format(user_id=member.id))


async def test_concurrent_changes_of_one_user_leave_the_projection_equal_to_the_database(org_runtime, minter):
    admin = await minter.user()
    orgs = [await minter.organization(admin) for _ in range(8)]
    person = await minter.user()
    await asyncio.gather(*(minter.add(org_id, person.id, "student") for org_id in orgs))
    async with org_runtime.transaction() as session:
        rows = (
            await session.execute(
                select(Membership.organization_id, Membership.role).where(
                    Membership.user_id == uuid.UUID(person.id)
                )
            )
        ).all()
    assert len(rows) == 8
    assert await projection(org_runtime.redis, person.id) == {str(org): role for org, role in rows}


async def test_rebuild_restores_lost_hashes_and_drops_stale_ones(org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    member = await minter.member(org_id, "instructor")
    stranger = uuid.uuid4()
    await org_runtime.redis.delete(MEMBERSHIPS_KEY.format(user_id=member.id))
    await org_runtime.redis.hset(MEMBERSHIPS_KEY.format(user_id=stranger), org_id, "organization_admin")

    assert await rebuild_projection(org_runtime.sessionmaker, org_runtime.redis) >= 2
    assert await projection(org_runtime.redis, member.id) == {org_id: "instructor"}
    assert await projection(org_runtime.redis, admin.id) == {org_id: "organization_admin"}
    assert not await org_runtime.redis.exists(MEMBERSHIPS_KEY.format(user_id=stranger))


async def test_project_user_returns_what_it_wrote(org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    written = await project_user(org_runtime.sessionmaker, org_runtime.redis, uuid.UUID(admin.id))
    assert written == {org_id: "organization_admin"} == await projection(org_runtime.redis, admin.id)

"""Demo data of the organizations domain: "Demo Academy" with an admin, instructors and students."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.vocabulary import OrganizationSettings
from subgraphs.core.db import utcnow
from subgraphs.core.events import domain_event, emit
from subgraphs.core.rbac import MEMBERSHIPS_KEY
from subgraphs.core.redis_state import RedisStateKeeper
from subgraphs.core.seeding import (
    DEMO_MEMBERSHIPS,
    SCALE_ORGANIZATION_SLUG,
    DemoSeeding,
    ScaleSeeding,
    copy_rows,
)
from subgraphs.organizations.authz import lock_user, project_user, projection_state
from subgraphs.organizations.models import Membership, Organization, Outbox

DEMO_ORGANIZATION = (
    "Demo Academy",
    "demo-academy",
    "The demo organization: an admin, two instructors, students.",
)


async def seed_demo_organization(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, members: dict[uuid.UUID, str]
) -> uuid.UUID:
    """Idempotent: creates the organization once and adds each missing member (user id -> membership
    role); never changes an existing membership. Writes the members' authorization projection."""
    name, slug, description = DEMO_ORGANIZATION
    async with sessionmaker() as session, session.begin():
        org = await session.scalar(select(Organization).where(Organization.slug == slug).with_for_update())
        if org is None:
            settings = OrganizationSettings()
            org = Organization(name=name, slug=slug, description=description, settings=settings.model_dump())
            session.add(org)
            await session.flush()
            created = contract.OrganizationCreated(name=name, slug=slug, settings=settings, seed=True)
            emit(
                session,
                Outbox,
                domain_event(
                    created, actor=None, organization_id=org.id, subjects={"organization_id": org.id}
                ),
            )
        present = set(
            (
                await session.scalars(select(Membership.user_id).where(Membership.organization_id == org.id))
            ).all()
        )
        for user_id, role in members.items():
            if user_id in present:
                continue
            await lock_user(session, user_id)
            member = Membership(organization_id=org.id, user_id=user_id, role=role)
            session.add(member)
            await session.flush()
            added = contract.MembershipAdded(role=role, via="seed")
            emit(
                session,
                Outbox,
                domain_event(
                    added,
                    actor=None,
                    organization_id=org.id,
                    subjects={"user_id": user_id, "membership_id": member.id},
                ),
            )
    for user_id in members:
        await project_user(sessionmaker, redis, user_id)
    return org.id


async def demo(seeding: DemoSeeding) -> None:
    """The seed hook (core/seeding.py): Demo Academy with the demo people in their DEMO_MEMBERSHIPS roles."""
    runtime = seeding.runtime
    # On a first start (`coursegraph dev` seeds before the worker runs) nobody has built the membership
    # projection yet, and the other domains' seeds authorize through it: build it as the worker's keeper
    # would (nothing to do when its marker is there).
    await RedisStateKeeper(runtime.redis, [projection_state(runtime.sessionmaker, runtime.redis)]).ensure()
    members = {seeding.users[email]: role for email, role in DEMO_MEMBERSHIPS.items()}
    seeding.organization_id = await seed_demo_organization(runtime.sessionmaker, runtime.redis, members)


async def scale(seeding: ScaleSeeding) -> None:
    """The seed hook of the benchmark data: "Scale Academy" with its instructors and students, by COPY; their
    authorization projection is written once the transaction committed."""
    session = seeding.session
    now = utcnow()
    org = Organization(
        name="Scale Academy",
        slug=SCALE_ORGANIZATION_SLUG,
        description="Benchmark data (coursegraph seed --scale).",
        settings=OrganizationSettings().model_dump(),
    )
    session.add(org)
    await session.flush()
    seeding.organization_id = org.id
    roles = {i: "instructor" for i in seeding.instructors} | {u: "student" for u in seeding.learners}
    await copy_rows(
        session,
        Membership.__table__,
        ["id", "organization_id", "user_id", "role", "joined_at"],
        [(uuid.uuid4(), org.id, u, role, now) for u, role in roles.items()],
    )

    async def project() -> None:
        redis = Redis.from_url(seeding.settings.redis.url)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for user_id, role in roles.items():
                    pipe.hset(MEMBERSHIPS_KEY.format(user_id=user_id), mapping={str(org.id): role})
                await pipe.execute()
        finally:
            await redis.aclose()

    seeding.after_commit.append(project)

"""Demo data of the organizations domain: "Demo Academy" with an admin, instructors and students."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.vocabulary import OrganizationSettings
from subgraphs.core.events import Event, emit
from subgraphs.organizations.authz import lock_user, project_user
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
            settings = OrganizationSettings().model_dump()
            org = Organization(name=name, slug=slug, description=description, settings=settings)
            session.add(org)
            await session.flush()
            created = contract.OrganizationCreated(name=name, slug=slug, settings=settings, seed=True)
            emit(
                session,
                Outbox,
                Event(
                    type=created.event_type(),
                    organization_id=str(org.id),
                    subject_ids={"organization_id": str(org.id)},
                    payload=created.wire(),
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
                Event(
                    type=added.event_type(),
                    organization_id=str(org.id),
                    subject_ids={"user_id": str(user_id), "membership_id": str(member.id)},
                    payload=added.wire(),
                ),
            )
    for user_id in members:
        await project_user(sessionmaker, redis, user_id)
    return org.id

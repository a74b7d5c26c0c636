"""`coursegraph seed` / `coursegraph dev`: the demo organization with an admin, two instructors, students."""

from __future__ import annotations

from sqlalchemy import select

from subgraphs.core.rbac import MEMBERSHIPS_KEY, MEMBERSHIPS_MARKER
from subgraphs.core.seeding import DEMO_MEMBERSHIPS
from subgraphs.organizations.models import Membership, Organization
from subgraphs.tooling.seed_runner import seed_demo
from subgraphs.users.models import User


async def test_seed_creates_demo_academy_with_its_members_once(settings, org_runtime):
    await seed_demo(settings)
    await seed_demo(settings)  # idempotent

    async with org_runtime.transaction() as session:
        orgs = (await session.scalars(select(Organization).where(Organization.slug == "demo-academy"))).all()
        assert [o.name for o in orgs] == ["Demo Academy"]
        rows = (
            await session.execute(
                select(User.email, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.organization_id == orgs[0].id)
            )
        ).all()
    assert dict(rows) == DEMO_MEMBERSHIPS
    assert sorted(DEMO_MEMBERSHIPS.values()) == [
        "instructor",
        "instructor",
        "organization_admin",
        "student",
        "student",
    ]
    async with org_runtime.transaction() as session:
        admin_id = await session.scalar(select(User.id).where(User.email == "admin@coursegraph.dev"))
    projection = await org_runtime.redis.hgetall(MEMBERSHIPS_KEY.format(user_id=admin_id))
    assert projection == {str(orgs[0].id).encode(): b"organization_admin"}


async def test_seed_on_a_first_start_builds_the_membership_projection_itself(settings, org_runtime):
    """`coursegraph dev` seeds before its worker runs: with no projection marker in Redis yet (a fresh
    Redis), the seed still completes (the courses seed authorizes the demo instructors through it)."""
    await org_runtime.redis.delete(MEMBERSHIPS_MARKER)
    await seed_demo(settings)
    assert await org_runtime.redis.exists(MEMBERSHIPS_MARKER)

"""core.rbac.authorize and its projection on real Redis: who holds which permission in which organization."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from subgraphs.core.auth import ANONYMOUS
from subgraphs.core.context import Context
from subgraphs.core.errors import NotAuthenticated
from subgraphs.core.rbac import (
    GRANTABLE_SCOPES,
    MEMBERSHIPS_KEY,
    ROLE_PERMISSIONS,
    AccessDenied,
    Caller,
    Memberships,
    Permission,
    Role,
    authorize,
    member_or_scope_policy,
    organizations_permitting,
    permitted,
)


@pytest.fixture
async def org(minter) -> dict:
    admin = await minter.user()
    org_id = await minter.organization(admin)
    return {"id": org_id, "admin": admin}


@pytest.mark.parametrize("role", ["student", "instructor", "organization_admin"])
async def test_a_member_holds_exactly_the_permissions_of_their_membership_role(
    minter, org_runtime, org, role
):
    # The platform role is the opposite extreme on purpose: only the membership counts.
    member = await minter.member(
        org["id"], role, platform_role="instructor" if role == "student" else "student"
    )
    granted = {p for p in Permission if await permitted(member.meta.caller, p, org["id"])}
    assert granted == set(ROLE_PERMISSIONS[Role(role)])


async def test_no_membership_means_nothing_whatever_the_platform_role(minter, org_runtime, org):
    outsider = await minter.user("organization_admin")
    for permission in Permission:
        assert not await permitted(outsider.meta.caller, permission, org["id"])
    with pytest.raises(AccessDenied) as refused:
        await authorize(outsider.meta.caller, Permission.VIEW_COURSES, org["id"])
    assert refused.value.code == "FORBIDDEN"
    assert refused.value.organization_id == org["id"] and refused.value.permission is Permission.VIEW_COURSES


async def test_site_admins_hold_everything_everywhere(minter, org_runtime):
    site_admin = await minter.user("site_admin")
    for permission in Permission:
        await authorize(site_admin.meta.caller, permission, uuid.uuid4())
    everywhere = await organizations_permitting(site_admin.meta.caller, Permission.VIEW_AUDIT_LOGS)
    assert everywhere.every and uuid.uuid4() in everywhere


async def test_an_api_client_needs_the_scope_and_its_own_organization(minter, org_runtime, org):
    scoped = await minter.client(org["id"], ["view_users"])
    assert await permitted(scoped.meta.caller, Permission.VIEW_USERS, org["id"])
    assert not await permitted(scoped.meta.caller, Permission.VIEW_USERS, uuid.uuid4())
    everything_else = await minter.client(org["id"], sorted(GRANTABLE_SCOPES - {"view_users"}))
    assert not await permitted(everything_else.meta.caller, Permission.VIEW_USERS, org["id"])
    where = await organizations_permitting(scoped.meta.caller, Permission.VIEW_USERS)
    assert not where.every and where.ids == {org["id"]}


async def test_anonymous_callers_are_asked_to_sign_in(org_runtime, org):
    assert not await permitted(Caller.of(ANONYMOUS, org_runtime.redis), Permission.VIEW_COURSES, org["id"])
    with pytest.raises(NotAuthenticated) as refused:
        await authorize(Caller.of(ANONYMOUS, org_runtime.redis), Permission.VIEW_COURSES, org["id"])
    assert not isinstance(refused.value, AccessDenied)


async def test_organizations_permitting_lists_where_a_user_holds_a_permission(minter, org_runtime):
    person = await minter.user()
    admin_of = await minter.organization(person)
    other = await minter.user()
    student_of = await minter.organization(other)
    await minter.add(student_of, person.id, "student")
    audit = await organizations_permitting(person.meta.caller, Permission.VIEW_AUDIT_LOGS)
    courses = await organizations_permitting(person.meta.caller, Permission.VIEW_COURSES)
    assert audit.ids == {admin_of} and courses.ids == {admin_of, student_of}
    assert student_of not in audit and student_of in courses and not audit.every


async def test_one_request_reads_each_users_memberships_once(minter, org_runtime, org):
    """A Context (one request) caches the hash: changed underneath, the same request keeps its first
    answer; the next request (a new Context) sees the change."""
    student = await minter.member(org["id"], "student")
    context = Context(runtime=org_runtime, principal=student.principal)
    key = MEMBERSHIPS_KEY.format(user_id=student.id)
    await authorize(context.caller, Permission.VIEW_COURSES, org["id"])
    await org_runtime.redis.hset(key, org["id"], "organization_admin")
    try:
        assert not await permitted(context.caller, Permission.VIEW_AUDIT_LOGS, org["id"])
        assert await permitted(context.meta.caller, Permission.VIEW_COURSES, org["id"])
        next_request = Context(runtime=org_runtime, principal=student.principal)
        assert await permitted(next_request.caller, Permission.VIEW_AUDIT_LOGS, org["id"])
    finally:
        await org_runtime.redis.hset(key, org["id"], "student")


async def test_a_reader_can_be_told_to_forget_a_user(minter, org_runtime, org):
    student = await minter.member(org["id"], "student")
    reader = Memberships(org_runtime.redis)
    assert (await reader.of(student.id)) == {org["id"]: Role.STUDENT}
    await org_runtime.redis.delete(MEMBERSHIPS_KEY.format(user_id=student.id))
    assert (await reader.of(student.id)) == {org["id"]: Role.STUDENT}
    reader.forget(student.id)
    assert (await reader.of(student.id)) == {}


async def test_concurrent_first_reads_of_a_user_share_one_redis_read(minter, org_runtime, org):
    student = await minter.member(org["id"], "student")

    class CountingRedis(type(org_runtime.redis)):  # the real client, counting its round trips
        hgetall_calls = 0  # a read is one pipeline: the user's hash and the projection's marker

        def pipeline(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            CountingRedis.hgetall_calls += 1
            return super().pipeline(*args, **kwargs)

    redis = CountingRedis(connection_pool=org_runtime.redis.connection_pool)
    reader = Memberships(redis)
    results = await asyncio.gather(*(reader.of(student.id) for _ in range(10)))
    assert all(result == {org["id"]: Role.STUDENT} for result in results)
    assert CountingRedis.hgetall_calls == 1
    assert (await reader.of(student.id)) == {org["id"]: Role.STUDENT}
    assert CountingRedis.hgetall_calls == 1  # then answered from the request's cache


def test_router_policy_lets_every_user_through_and_api_clients_only_with_the_scope():
    policy = member_or_scope_policy(Permission.MANAGE_ORGANIZATION)
    assert policy == [
        ["role:student"],
        ["role:instructor"],
        ["role:organization_admin"],
        ["role:site_admin"],
        ["scope:manage_organization"],
    ]

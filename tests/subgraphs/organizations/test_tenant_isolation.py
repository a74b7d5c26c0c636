"""Tenant isolation as a matrix: every query, mutation and entity of this subgraph x every kind of caller,
one expected answer per cell. The organization under test is A; "other org admin" administers B only.

Callers: anonymous; a student, an instructor and the admin of A (members; their PLATFORM roles are chosen
to disagree with their membership roles, so only memberships can explain the answers); the admin of B; a
site admin (member of nothing); an API client bound to A holding exactly the permission the operation
needs; an API client bound to A holding every other scope. Each cell gets a fresh world.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from subgraphs.core.events import Event
from subgraphs.core.rbac import GRANTABLE_SCOPES, Permission
from subgraphs.organizations import invitations as org_invitations
from subgraphs.organizations import roles as org_roles
from subgraphs.organizations import tracks as org_tracks
from subgraphs.organizations.audit import record
from subgraphs.organizations.models import CourseOwner, Membership, Organization
from tests.course_owners import announce_course
from tests.subgraphs.organizations.factories import Caller, Minter
from tests.subgraphs.organizations.queries import (
    ACCEPT,
    AUDIT_LOG,
    CREATE_ORG,
    CREATE_TRACK,
    DELETE_TRACK,
    ENTITIES,
    INVITE,
    MEMBERS,
    MY_ORGS,
    ORG_BY_ID,
    ORG_BY_SLUG,
    REMOVE,
    REORDER_TRACK,
    TRACK,
    TRACKS,
    UPDATE_ORG,
    UPDATE_ROLE,
    UPDATE_TRACK,
    reps,
)

PRINCIPALS = (
    "anonymous",
    "student",
    "instructor",
    "org_admin",
    "other_org_admin",
    "site_admin",
    "client",
    "client_without_scope",
)
OK, F, U, N, NONE = "ok", "FORBIDDEN", "UNAUTHENTICATED", "null", "not-listed"
MEMBER = "ALREADY_MEMBER"


@dataclass
class World:
    minter: Minter
    runtime: Any
    org: str
    slug: str
    users: dict[str, Caller]
    track: str
    student_membership: str
    audit_entry: str

    async def token(self, principal: str, permission: Permission) -> str | None:
        if principal == "anonymous":
            return None
        if principal == "client":
            return (await self.minter.client(self.org, [permission.value])).token
        if principal == "client_without_scope":
            return (await self.minter.client(self.org, sorted(GRANTABLE_SCOPES - {permission.value}))).token
        return self.users[principal].token

    async def new_track(self) -> str:
        admin = self.users["org_admin"]
        courses = [await announce_course(self.runtime, CourseOwner, self.org) for _ in range(2)]
        row = await org_tracks.create_track(
            self.runtime,
            admin.meta,
            organization_id=uuid.UUID(self.org),
            name="T",
            description="",
            course_ids=courses,
        )
        return str(row.id)


@pytest.fixture
async def world(minter: Minter, org_runtime) -> World:
    admin = await minter.user("student")
    org = await minter.organization(admin, name="Tenant A")
    student = await minter.member(org, "student", platform_role="instructor")
    instructor = await minter.member(org, "instructor", platform_role="student")
    other_admin = await minter.user("organization_admin")
    await minter.organization(other_admin, name="Tenant B")
    site_admin = await minter.user("site_admin")
    track = await org_tracks.create_track(
        org_runtime, admin.meta, organization_id=uuid.UUID(org), name="Path", description="", course_ids=[]
    )
    async with org_runtime.transaction() as session:
        membership = await session.scalar(
            select(Membership.id).where(Membership.user_id == uuid.UUID(student.id))
        )
        entry = Event(type="organizations.tests.audited", organization_id=org, actor_id=admin.id)
        await record(session, entry)
        org_row = await session.get(Organization, uuid.UUID(org))
    users = {
        "student": student,
        "instructor": instructor,
        "org_admin": admin,
        "other_org_admin": other_admin,
        "site_admin": site_admin,
    }
    return World(minter, org_runtime, org, org_row.slug, users, str(track.id), str(membership), str(entry.id))


def outcome(body: dict, field: str) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = body["data"][field]
    if value is None:
        return N
    if isinstance(value, dict) and value.get("__typename", "").endswith("Error"):
        return value["code"]
    return OK


def entity(body: dict) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    [value] = body["data"]["_entities"]
    return N if value is None else OK


Run = Callable[[Any, World, str | None], Awaitable[str]]


@dataclass(frozen=True)
class Op:
    permission: Permission  # what a client needs (and what the scoped client holds)
    run: Run
    expected: tuple[str, ...]  # in PRINCIPALS order


async def organization_by_id(gql, w: World, token):
    return outcome(await gql(ORG_BY_ID, {"id": w.org}, token=token), "organization")


async def organization_by_slug(gql, w: World, token):
    return outcome(await gql(ORG_BY_SLUG, {"slug": w.slug}, token=token), "organization")


async def my_organizations(gql, w: World, token):
    body = await gql(MY_ORGS, token=token)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return OK if w.org in [o["id"] for o in body["data"]["myOrganizations"]] else NONE


async def members(gql, w: World, token):
    return outcome(await gql(MEMBERS, {"org": w.org}, token=token), "members")


async def tracks(gql, w: World, token):
    return outcome(await gql(TRACKS, {"org": w.org}, token=token), "tracks")


async def track(gql, w: World, token):
    return outcome(await gql(TRACK, {"id": w.track}, token=token), "track")


async def audit_log(gql, w: World, token):
    return outcome(await gql(AUDIT_LOG, {"org": w.org}, token=token), "auditLog")


async def platform_audit_log(gql, w: World, token):
    return outcome(await gql(AUDIT_LOG, {"org": None}, token=token), "auditLog")


async def create_organization(gql, w: World, token):
    variables = {"input": {"name": "New", "slug": f"new-{uuid.uuid4().hex[:10]}"}}
    return outcome(await gql(CREATE_ORG, variables, token=token), "createOrganization")


async def update_organization(gql, w: World, token):
    return outcome(
        await gql(UPDATE_ORG, {"input": {"id": w.org, "name": "Renamed"}}, token=token), "updateOrganization"
    )


async def invite_member(gql, w: World, token):
    variables = {
        "input": {"organizationId": w.org, "email": f"x-{uuid.uuid4().hex[:8]}@e.dev", "role": "STUDENT"}
    }
    return outcome(await gql(INVITE, variables, token=token), "inviteMember")


async def accept_invitation(gql, w: World, token):
    invitation = await w.minter.invitation(w.org)
    return outcome(await gql(ACCEPT, {"token": invitation}, token=token), "acceptInvitation")


async def update_member_role(gql, w: World, token):
    target = await w.minter.member(w.org, "student")
    variables = {"input": {"organizationId": w.org, "userId": target.id, "role": "INSTRUCTOR"}}
    return outcome(await gql(UPDATE_ROLE, variables, token=token), "updateMemberRole")


async def remove_member(gql, w: World, token):
    target = await w.minter.member(w.org, "student")
    return outcome(
        await gql(REMOVE, {"input": {"organizationId": w.org, "userId": target.id}}, token=token),
        "removeMember",
    )


async def create_track(gql, w: World, token):
    course = await announce_course(w.runtime, CourseOwner, w.org)
    variables = {"input": {"organizationId": w.org, "name": "New path", "courseIds": [course]}}
    return outcome(await gql(CREATE_TRACK, variables, token=token), "createTrack")


async def update_track(gql, w: World, token):
    return outcome(
        await gql(UPDATE_TRACK, {"input": {"id": w.track, "name": "Renamed"}}, token=token), "updateTrack"
    )


async def reorder_track(gql, w: World, token):
    track_id = await w.new_track()
    body = await gql(TRACK, {"id": track_id}, token=w.users["org_admin"].token)
    courses = body["data"]["track"]["courseIds"]
    variables = {"input": {"id": track_id, "courseIds": list(reversed(courses))}}
    return outcome(await gql(REORDER_TRACK, variables, token=token), "reorderTrack")


async def delete_track(gql, w: World, token):
    track_id = await w.new_track()
    return outcome(await gql(DELETE_TRACK, {"input": {"id": track_id}}, token=token), "deleteTrack")


INVITATIONS = "query($org: ID!) { invitations(organizationId: $org) { nodes { id } } }"
ORGANIZATIONS = "{ organizations(first: 5) { nodes { id } } }"
INVITATION_RESULT = (
    "__typename ... on InviteMemberSuccess { invitation { id } } ... on Error { code message }"
)
RESEND = (
    f"mutation($input: InvitationIdInput!) {{ resendInvitation(input: $input) {{ {INVITATION_RESULT} }} }}"
)
CANCEL = (
    f"mutation($input: InvitationIdInput!) {{ cancelInvitation(input: $input) {{ {INVITATION_RESULT} }} }}"
)


async def pending_invitation(w: World) -> str:
    row = await org_invitations.invite_member(
        w.runtime,
        w.users["org_admin"].meta,
        organization_id=uuid.UUID(w.org),
        email=f"p-{uuid.uuid4().hex[:8]}@e.dev",
        role=org_roles.MembershipRole.STUDENT,
    )
    return str(row.id)


async def invitations(gql, w: World, token):
    return outcome(await gql(INVITATIONS, {"org": w.org}, token=token), "invitations")


async def organizations(gql, w: World, token):
    return outcome(await gql(ORGANIZATIONS, token=token), "organizations")


async def resend_invitation(gql, w: World, token):
    variables = {"input": {"invitationId": await pending_invitation(w)}}
    return outcome(await gql(RESEND, variables, token=token), "resendInvitation")


async def cancel_invitation(gql, w: World, token):
    variables = {"input": {"invitationId": await pending_invitation(w)}}
    return outcome(await gql(CANCEL, variables, token=token), "cancelInvitation")


async def organization_entity(gql, w: World, token):
    return entity(await gql(ENTITIES, reps("Organization", w.org), token=token))


async def membership_entity(gql, w: World, token):
    return entity(await gql(ENTITIES, reps("Membership", w.student_membership), token=token))


async def track_entity(gql, w: World, token):
    return entity(await gql(ENTITIES, reps("Track", w.track), token=token))


async def audit_entry_entity(gql, w: World, token):
    return entity(await gql(ENTITIES, reps("AuditLogEntry", w.audit_entry), token=token))


async def user_memberships(gql, w: World, token):
    """The student's memberships, as the router asks for User.memberships."""
    body = await gql(ENTITIES, reps("User", w.users["student"].id), token=token)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    [user] = body["data"]["_entities"]
    if user is None:
        return N
    return OK if w.org in [m["organization"]["id"] for m in user["memberships"]] else NONE


V, MANAGE, PATHS, USERS, AUDIT = (
    Permission.VIEW_COURSES,
    Permission.MANAGE_ORGANIZATION,
    Permission.UPDATE_COURSES,
    Permission.VIEW_USERS,
    Permission.VIEW_AUDIT_LOGS,
)

# anonymous, student, instructor, org_admin, other_org_admin, site_admin, client, client_without_scope
MATRIX: dict[str, Op] = {
    "organization(id)": Op(V, organization_by_id, (U, OK, OK, OK, F, OK, OK, F)),
    "organization(slug)": Op(V, organization_by_slug, (U, OK, OK, OK, F, OK, OK, F)),
    "myOrganizations": Op(V, my_organizations, (U, OK, OK, OK, NONE, NONE, OK, NONE)),
    "members": Op(USERS, members, (U, F, F, OK, F, OK, OK, F)),
    "tracks": Op(V, tracks, (U, OK, OK, OK, F, OK, OK, F)),
    "track": Op(V, track, (U, OK, OK, OK, F, OK, OK, F)),
    "invitations": Op(MANAGE, invitations, (U, F, F, OK, F, OK, OK, F)),
    "organizations": Op(USERS, organizations, (U, F, F, F, F, OK, F, F)),
    "auditLog(organizationId)": Op(AUDIT, audit_log, (U, F, F, OK, F, OK, OK, F)),
    "auditLog(platform)": Op(AUDIT, platform_audit_log, (U, F, F, F, F, OK, F, F)),
    "createOrganization": Op(MANAGE, create_organization, (U, OK, OK, OK, OK, OK, U, U)),
    "updateOrganization": Op(MANAGE, update_organization, (U, F, F, OK, F, OK, OK, F)),
    "inviteMember": Op(MANAGE, invite_member, (U, F, F, OK, F, OK, OK, F)),
    "acceptInvitation": Op(MANAGE, accept_invitation, (U, MEMBER, MEMBER, MEMBER, OK, OK, U, U)),
    "resendInvitation": Op(MANAGE, resend_invitation, (U, F, F, OK, F, OK, OK, F)),
    "cancelInvitation": Op(MANAGE, cancel_invitation, (U, F, F, OK, F, OK, OK, F)),
    "updateMemberRole": Op(MANAGE, update_member_role, (U, F, F, OK, F, OK, OK, F)),
    "removeMember": Op(MANAGE, remove_member, (U, F, F, OK, F, OK, OK, F)),
    "createTrack": Op(PATHS, create_track, (U, F, OK, OK, F, OK, OK, F)),
    "updateTrack": Op(PATHS, update_track, (U, F, OK, OK, F, OK, OK, F)),
    "reorderTrack": Op(PATHS, reorder_track, (U, F, OK, OK, F, OK, OK, F)),
    "deleteTrack": Op(PATHS, delete_track, (U, F, OK, OK, F, OK, OK, F)),
    "_entities Organization": Op(V, organization_entity, (N, OK, OK, OK, N, OK, OK, N)),
    "_entities Membership (the student's)": Op(USERS, membership_entity, (N, OK, N, OK, N, OK, OK, N)),
    "_entities Track": Op(V, track_entity, (N, OK, OK, OK, N, OK, OK, N)),
    "_entities AuditLogEntry": Op(AUDIT, audit_entry_entity, (N, N, N, OK, N, OK, OK, N)),
    "_entities User.memberships (the student's)": Op(
        USERS, user_memberships, (N, OK, NONE, OK, NONE, OK, OK, NONE)
    ),
}

CELLS = [
    pytest.param(name, principal, op.expected[i], id=f"{name} / {principal}")
    for name, op in MATRIX.items()
    for i, principal in enumerate(PRINCIPALS)
]


@pytest.mark.parametrize(("operation", "principal", "expected"), CELLS)
async def test_tenant_isolation(org_gql, world: World, operation: str, principal: str, expected: str):
    op = MATRIX[operation]
    token = await world.token(principal, op.permission)
    assert await op.run(org_gql, world, token) == expected


def test_the_matrix_covers_every_query_and_mutation_of_the_subgraph():
    from subgraphs.organizations.schema import schema

    graphql = schema._schema
    fields = {*graphql.query_type.fields, *graphql.mutation_type.fields} - {"_service", "_entities"}
    covered = {name.split("(")[0] for name in MATRIX if not name.startswith("_")}
    assert fields == covered
    assert all(len(op.expected) == len(PRINCIPALS) for op in MATRIX.values())

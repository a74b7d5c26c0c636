"""Members: invitations by mail (single use, expiring, superseded), roles, removal, the last-admin rule — and
that a membership change reaches authorization before the mutation returns, in every subgraph, for tokens
issued before it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select, update

from subgraphs.core.db import utcnow
from subgraphs.organizations.models import Invitation, Membership
from tests.conftest import token_from_mail
from tests.subgraphs.organizations.queries import (
    ACCEPT,
    INVITE,
    MEMBERS,
    ORG_BY_ID,
    REMOVE,
    UPDATE_ROLE,
)

API_CLIENTS = "query($org: ID!) { apiClients(organizationId: $org) { id } }"


def invitee() -> str:
    return f"invitee-{uuid.uuid4().hex[:10]}@learners.coursegraph.dev"


async def invite(org_gql, admin, org_id: str, email: str, role: str = "STUDENT") -> dict:
    body = await org_gql(
        INVITE, {"input": {"organizationId": org_id, "email": email, "role": role}}, token=admin.token
    )
    result = body["data"]["inviteMember"]
    assert result["__typename"] == "InviteMemberSuccess", body
    return result["invitation"]


async def test_invite_mails_a_single_use_token_that_makes_a_member(org_gql, minter, mailbox):
    admin = await minter.user()
    org_id = await minter.organization(admin, name="Invite School")
    email = invitee()
    invitation = await invite(org_gql, admin, org_id, email, "INSTRUCTOR")
    assert invitation["email"] == email and invitation["role"] == "INSTRUCTOR"
    assert invitation["organization"] == {"id": org_id, "name": "Invite School"}

    mail = await mailbox.wait_for(email, "organization_invitation")
    assert "Join Invite School on CourseGraph" in mail
    token = token_from_mail(mail)
    # The web app's page, on the router's public origin, with the address for the app to prefill.
    link = f"http://127.0.0.1:4000/invitations/accept?token={token}&email={quote(email, safe='')}"
    assert f"\n{link}\n" in mail
    async with minter.runtime.transaction() as session:
        stored = await session.scalar(
            select(Invitation.token_hash).where(Invitation.id == uuid.UUID(invitation["id"]))
        )
    assert stored != token and len(stored) == 64  # only the SHA-256 is kept

    joiner = await minter.user()
    accepted = await org_gql(ACCEPT, {"token": token}, token=joiner.token)
    membership = accepted["data"]["acceptInvitation"]["membership"]
    assert membership["role"] == "INSTRUCTOR" and membership["user"] == {"id": joiner.id}
    assert membership["organization"] == {"id": org_id, "name": "Invite School", "viewerRole": "INSTRUCTOR"}

    again = await org_gql(ACCEPT, {"token": token}, token=(await minter.user()).token)
    assert again["data"]["acceptInvitation"]["__typename"] == "InvalidInvitationError"
    assert again["data"]["acceptInvitation"]["code"] == "INVALID_INVITATION"


async def test_expired_and_superseded_invitations_are_refused(org_gql, minter, mailbox):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    email = invitee()
    first = await invite(org_gql, admin, org_id, email)
    first_token = token_from_mail(await mailbox.wait_for(email, "organization_invitation"))
    await invite(org_gql, admin, org_id, email, "INSTRUCTOR")
    await mailbox.wait_for(email, "organization_invitation", count=2)
    # Mail files sort by second, then at random: find the new token rather than "the latest" file.
    [second_token] = {token_from_mail(m) for m in mailbox.messages_to(email)} - {first_token}

    joiner = await minter.user()
    superseded = await org_gql(ACCEPT, {"token": first_token}, token=joiner.token)
    assert superseded["data"]["acceptInvitation"]["code"] == "INVALID_INVITATION"

    async with minter.runtime.transaction() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.organization_id == uuid.UUID(org_id), Invitation.id != uuid.UUID(first["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await org_gql(ACCEPT, {"token": second_token}, token=joiner.token)
    assert expired["data"]["acceptInvitation"]["code"] == "INVALID_INVITATION"


async def test_accepting_needs_a_verified_email_and_keeps_the_token_usable(org_gql, minter, mailbox):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    email = invitee()
    await invite(org_gql, admin, org_id, email)
    token = token_from_mail(await mailbox.wait_for(email, "organization_invitation"))

    unverified = await org_gql(
        ACCEPT, {"token": token}, token=(await minter.user(email_verified=False)).token
    )
    assert unverified["data"]["acceptInvitation"]["code"] == "EMAIL_NOT_VERIFIED"
    already = await org_gql(ACCEPT, {"token": token}, token=admin.token)
    assert already["data"]["acceptInvitation"]["code"] == "ALREADY_MEMBER"
    client = await minter.client(org_id, ["manage_organization"])
    as_client = await org_gql(ACCEPT, {"token": token}, token=client.token)
    assert as_client["data"]["acceptInvitation"]["code"] == "UNAUTHENTICATED"

    ok = await org_gql(ACCEPT, {"token": token}, token=(await minter.user()).token)
    assert ok["data"]["acceptInvitation"]["__typename"] == "MembershipSuccess"


async def test_invite_validates_the_address(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    body = await org_gql(
        INVITE,
        {"input": {"organizationId": org_id, "email": "not-an-address", "role": "STUDENT"}},
        token=admin.token,
    )
    assert body["data"]["inviteMember"]["__typename"] == "ValidationError"


async def test_members_pages_and_filters_by_role(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    students = [await minter.member(org_id, "student") for _ in range(3)]
    instructor = await minter.member(org_id, "instructor")

    seen: list[str] = []
    after = None
    while True:
        body = await org_gql(MEMBERS, {"org": org_id, "first": 2, "after": after}, token=admin.token)
        page = body["data"]["members"]
        seen += [edge["node"]["user"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [admin.id, *(s.id for s in students), instructor.id]  # oldest first, each once

    only = await org_gql(MEMBERS, {"org": org_id, "filter": {"role": "INSTRUCTOR"}}, token=admin.token)
    assert [e["node"]["user"]["id"] for e in only["data"]["members"]["edges"]] == [instructor.id]
    too_big = await org_gql(MEMBERS, {"org": org_id, "first": 101}, token=admin.token)
    assert too_big["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_removed_member_token_is_refused_as_soon_as_remove_member_returns(org_gql, gql, minter):
    """No waiting: the projection is rewritten before removeMember answers. Checked on this subgraph and
    on the users subgraph (apiClients authorizes with the same core.authorize)."""
    admin = await minter.user()
    org_id = await minter.organization(admin)
    second_admin = await minter.member(org_id, "organization_admin")
    student = await minter.member(org_id, "student")
    assert (await org_gql(ORG_BY_ID, {"id": org_id}, token=student.token))["data"]["organization"][
        "id"
    ] == org_id
    assert "errors" not in await gql(API_CLIENTS, {"org": org_id}, token=second_admin.token)

    for member in (student, second_admin):
        removed = await org_gql(
            REMOVE, {"input": {"organizationId": org_id, "userId": member.id}}, token=admin.token
        )
        assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess", removed

    after = await org_gql(ORG_BY_ID, {"id": org_id}, token=student.token)
    assert after["data"]["organization"] is None and after["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elsewhere = await gql(API_CLIENTS, {"org": org_id}, token=second_admin.token)
    assert elsewhere["errors"][0]["extensions"]["code"] == "FORBIDDEN", elsewhere


async def test_demoted_admin_loses_admin_rights_as_soon_as_update_member_role_returns(org_gql, gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    demoted = await minter.member(org_id, "organization_admin")
    assert "errors" not in await org_gql(MEMBERS, {"org": org_id}, token=demoted.token)
    assert "errors" not in await gql(API_CLIENTS, {"org": org_id}, token=demoted.token)

    changed = await org_gql(
        UPDATE_ROLE,
        {"input": {"organizationId": org_id, "userId": demoted.id, "role": "STUDENT"}},
        token=admin.token,
    )
    assert changed["data"]["updateMemberRole"]["membership"]["role"] == "STUDENT"

    members = await org_gql(MEMBERS, {"org": org_id}, token=demoted.token)
    assert members["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    clients = await gql(API_CLIENTS, {"org": org_id}, token=demoted.token)
    assert clients["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Still a student there: what students may do still works with the same token.
    still = await org_gql(ORG_BY_ID, {"id": org_id}, token=demoted.token)
    assert still["data"]["organization"]["viewerRole"] == "STUDENT"


async def test_the_last_admin_can_be_neither_demoted_nor_removed(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    demote = await org_gql(
        UPDATE_ROLE,
        {"input": {"organizationId": org_id, "userId": admin.id, "role": "STUDENT"}},
        token=admin.token,
    )
    assert demote["data"]["updateMemberRole"]["code"] == "LAST_ADMIN"
    remove = await org_gql(
        REMOVE, {"input": {"organizationId": org_id, "userId": admin.id}}, token=admin.token
    )
    assert remove["data"]["removeMember"]["code"] == "LAST_ADMIN"
    unknown = await org_gql(
        REMOVE, {"input": {"organizationId": org_id, "userId": str(uuid.uuid4())}}, token=admin.token
    )
    assert unknown["data"]["removeMember"]["__typename"] == "NotFoundError"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    other = await minter.member(org_id, "organization_admin")

    async def demote(by, whom):
        body = await org_gql(
            UPDATE_ROLE,
            {"input": {"organizationId": org_id, "userId": whom.id, "role": "STUDENT"}},
            token=by.token,
        )
        return body["data"]["updateMemberRole"]

    results = await asyncio.gather(demote(admin, other), demote(other, admin))
    outcomes = sorted(r.get("code") or r["__typename"] for r in results)
    # The second either finds the organization down to one admin, or its author already demoted.
    assert outcomes in (["FORBIDDEN", "MembershipSuccess"], ["LAST_ADMIN", "MembershipSuccess"]), results
    async with minter.runtime.transaction() as session:
        roles = (
            await session.scalars(
                select(Membership.role).where(Membership.organization_id == uuid.UUID(org_id))
            )
        ).all()
    assert sorted(roles) == ["organization_admin", "student"]

"""Pending invitations: listed for the organization's admins, resent (a new link; the old one stops working)
and cancelled (the link stops working at once)."""

from __future__ import annotations

import uuid

from tests.conftest import token_from_mail
from tests.subgraphs.organizations.queries import ACCEPT
from tests.subgraphs.organizations.test_members import invite, invitee

PENDING = """query($org: ID!) { invitations(organizationId: $org, first: 50) {
  nodes { id email role expiresAt createdAt } } }"""
RESEND = """mutation($input: InvitationIdInput!) { resendInvitation(input: $input) {
  __typename ... on InviteMemberSuccess { invitation { id email role } } ... on Error { code message } } }"""
CANCEL = """mutation($input: InvitationIdInput!) { cancelInvitation(input: $input) {
  __typename ... on InviteMemberSuccess { invitation { id email } } ... on Error { code message } } }"""


async def pending(org_gql, admin, org_id: str) -> list[dict]:
    body = await org_gql(PENDING, {"org": org_id}, token=admin.token)
    assert "errors" not in body, body
    return body["data"]["invitations"]["nodes"]


async def test_pending_invitations_are_listed_newest_first_for_admins_only(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    first, second = invitee(), invitee()
    await invite(org_gql, admin, org_id, first)
    await invite(org_gql, admin, org_id, second, "INSTRUCTOR")
    listed = await pending(org_gql, admin, org_id)
    assert [(i["email"], i["role"]) for i in listed] == [(second, "INSTRUCTOR"), (first, "STUDENT")]

    other_admin = await minter.user()
    await minter.organization(other_admin)
    refused = await org_gql(PENDING, {"org": org_id}, token=other_admin.token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_resent_invitation_mails_a_new_link_and_the_old_one_stops_working(org_gql, minter, mailbox):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    email = invitee()
    original = await invite(org_gql, admin, org_id, email, "INSTRUCTOR")
    old_token = token_from_mail(await mailbox.wait_for(email, "organization_invitation"))

    body = await org_gql(RESEND, {"input": {"invitationId": original["id"]}}, token=admin.token)
    resent = body["data"]["resendInvitation"]
    assert resent["__typename"] == "InviteMemberSuccess", body
    assert resent["invitation"]["email"] == email and resent["invitation"]["role"] == "INSTRUCTOR"
    assert resent["invitation"]["id"] != original["id"]
    assert [i["id"] for i in await pending(org_gql, admin, org_id)] == [resent["invitation"]["id"]]

    await mailbox.wait_for(email, "organization_invitation", count=2)
    [new_token] = {token_from_mail(m) for m in mailbox.messages_to(email)} - {old_token}
    joiner = await minter.user()
    stale = await org_gql(ACCEPT, {"token": old_token}, token=joiner.token)
    assert stale["data"]["acceptInvitation"]["code"] == "INVALID_INVITATION"
    joined = await org_gql(ACCEPT, {"token": new_token}, token=joiner.token)
    assert joined["data"]["acceptInvitation"]["membership"]["role"] == "INSTRUCTOR"
    assert await pending(org_gql, admin, org_id) == []

    # An accepted invitation is no longer pending: nothing to resend.
    again = await org_gql(RESEND, {"input": {"invitationId": resent["invitation"]["id"]}}, token=admin.token)
    assert again["data"]["resendInvitation"]["code"] == "NOT_FOUND"


async def test_a_cancelled_invitation_link_stops_working(org_gql, minter, mailbox):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    email = invitee()
    invitation = await invite(org_gql, admin, org_id, email)
    token = token_from_mail(await mailbox.wait_for(email, "organization_invitation"))

    outsider = await minter.user()
    refused = await org_gql(CANCEL, {"input": {"invitationId": invitation["id"]}}, token=outsider.token)
    assert refused["data"]["cancelInvitation"]["code"] == "FORBIDDEN"

    body = await org_gql(CANCEL, {"input": {"invitationId": invitation["id"]}}, token=admin.token)
    assert body["data"]["cancelInvitation"] == {
        "__typename": "InviteMemberSuccess",
        "invitation": {"id": invitation["id"], "email": email},
    }
    assert await pending(org_gql, admin, org_id) == []
    accepted = await org_gql(ACCEPT, {"token": token}, token=(await minter.user()).token)
    assert accepted["data"]["acceptInvitation"]["code"] == "INVALID_INVITATION"
    twice = await org_gql(CANCEL, {"input": {"invitationId": invitation["id"]}}, token=admin.token)
    assert twice["data"]["cancelInvitation"]["code"] == "NOT_FOUND"
    unknown = await org_gql(CANCEL, {"input": {"invitationId": str(uuid.uuid4())}}, token=admin.token)
    assert unknown["data"]["cancelInvitation"]["code"] == "NOT_FOUND"

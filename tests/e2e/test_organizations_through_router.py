"""Organizations end to end through the real router: create, invite by mail (the worker delivers it),
accept, the member shows up with their name joined from the users subgraph, removal cuts their existing
token off at once, and the worker's audit consumer records it all."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import TEST_PASSWORD, token_from_mail
from tests.e2e.test_account_through_router import wait_for_mail
from tests.subgraphs.users.test_auth_flow import LOGIN, REGISTER, VERIFY

pytestmark = pytest.mark.e2e

CREATE = """mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
  __typename ... on OrganizationSuccess { organization { id name slug viewerRole } }
  ... on Error { code } } }"""
INVITE = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  __typename ... on InviteMemberSuccess { invitation { id email role } } ... on Error { code } } }"""
ACCEPT = """mutation($token: String!) { acceptInvitation(input: {token: $token}) {
  __typename ... on MembershipSuccess { membership { id role } } ... on Error { code } } }"""
MEMBERS = """query($org: ID!) { members(organizationId: $org, first: 10) {
  edges { node { role user { id fullName } } } } }"""
MY_MEMBERSHIPS = "{ me { fullName memberships { role organization { name } } } }"
ORGANIZATION = "query($id: ID!) { organization(id: $id) { id name } }"
REMOVE = """mutation($input: RemoveMemberInput!) { removeMember(input: $input) {
  __typename ... on MembershipSuccess { membership { id } } ... on Error { code } } }"""
AUDIT = """query($org: ID!) { auditLog(organizationId: $org, filter: {action: "organizations.membership.*"}) {
  edges { node { action actor { id fullName } subjectIds requestId sourceIp } } } }"""


async def verified_user(router_gql, email: str, full_name: str) -> dict:
    """Register, confirm the address from the mail the worker delivered, sign in: the LoginSuccess."""
    body = await router_gql(
        REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": full_name}}
    )
    assert body["data"]["register"]["__typename"] == "MessageSuccess", body
    token = token_from_mail(await wait_for_mail(email, "verify_email"))
    assert (await router_gql(VERIFY, {"token": token}))["data"]["verifyEmail"]["__typename"] == "UserSuccess"
    login = (await router_gql(LOGIN, {"input": {"email": email, "password": TEST_PASSWORD}}))["data"]["login"]
    assert login["__typename"] == "LoginSuccess", login
    return login


async def test_invite_accept_list_remove_through_router(router_gql, unique_email):
    admin = await verified_user(router_gql, unique_email("e2e-admin"), "Olga Owner")
    created = await router_gql(
        CREATE,
        {"input": {"name": "E2E Academy", "slug": f"e2e-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]
    assert org["viewerRole"] == "ORGANIZATION_ADMIN", created

    invitee_email = unique_email("e2e-invitee")
    invited = await router_gql(
        INVITE,
        {"input": {"organizationId": org["id"], "email": invitee_email, "role": "STUDENT"}},
        token=admin["accessToken"],
    )
    assert invited["data"]["inviteMember"]["__typename"] == "InviteMemberSuccess", invited
    invitation_token = token_from_mail(await wait_for_mail(invitee_email, "organization_invitation"))

    invitee = await verified_user(router_gql, invitee_email, "Ina Invitee")
    accepted = await router_gql(ACCEPT, {"token": invitation_token}, token=invitee["accessToken"])
    assert accepted["data"]["acceptInvitation"]["membership"]["role"] == "STUDENT", accepted

    members = await router_gql(MEMBERS, {"org": org["id"]}, token=admin["accessToken"])
    assert "errors" not in members, members
    names = {e["node"]["user"]["fullName"]: e["node"]["role"] for e in members["data"]["members"]["edges"]}
    assert names == {"Olga Owner": "ORGANIZATION_ADMIN", "Ina Invitee": "STUDENT"}  # fullName: users subgraph
    mine = await router_gql(MY_MEMBERSHIPS, token=invitee["accessToken"])
    assert mine["data"]["me"] == {
        "fullName": "Ina Invitee",
        "memberships": [{"role": "STUDENT", "organization": {"name": "E2E Academy"}}],
    }
    readable = await router_gql(ORGANIZATION, {"id": org["id"]}, token=invitee["accessToken"])
    assert readable["data"]["organization"]["name"] == "E2E Academy"

    removed = await router_gql(
        REMOVE,
        {"input": {"organizationId": org["id"], "userId": invitee["user"]["id"]}},
        token=admin["accessToken"],
        headers={"x-request-id": "e2e-remove-1"},
    )
    assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess", removed
    # The same, still unexpired access token: refused for that organization's data at once.
    refused = await router_gql(ORGANIZATION, {"id": org["id"]}, token=invitee["accessToken"])
    assert refused["data"]["organization"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    after = await router_gql(MY_MEMBERSHIPS, token=invitee["accessToken"])
    assert after["data"]["me"]["memberships"] == []

    # The worker's audit consumer records the removal, with who did it (name joined through the router).
    deadline = time.monotonic() + 30
    while True:
        audit = await router_gql(AUDIT, {"org": org["id"]}, token=admin["accessToken"])
        assert "errors" not in audit, audit
        entries = [e["node"] for e in audit["data"]["auditLog"]["edges"]]
        removal = [e for e in entries if e["action"] == "organizations.membership.removed"]
        if removal:
            break
        assert time.monotonic() < deadline, entries
        await asyncio.sleep(0.1)
    [entry] = removal
    assert entry["actor"] == {"id": admin["user"]["id"], "fullName": "Olga Owner"}
    assert entry["subjectIds"]["user_id"] == invitee["user"]["id"]
    assert entry["requestId"] == "e2e-remove-1" and entry["sourceIp"] == "127.0.0.1"


async def test_router_refuses_organization_fields_to_anonymous_callers(router_gql):
    body = await router_gql("query { myOrganizations { id } }")
    assert body["errors"][0]["extensions"]["code"] in ("UNAUTHORIZED_FIELD_OR_TYPE", "UNAUTHENTICATED"), body
    assert not (body.get("data") or {}).get("myOrganizations")

"""Access tokens name the organizations their user belongs to when they are issued (informative only)."""

from __future__ import annotations

from tests.subgraphs.users.test_auth_flow import REFRESH, login, register_verified
from tests.tokens import claims_of


async def test_sign_in_and_refresh_carry_current_memberships(gql, mailbox, minter, unique_email):
    email = unique_email()
    await register_verified(gql, mailbox, email)
    before = await login(gql, email)
    assert claims_of(before["accessToken"])["orgs"] == []

    admin = await minter.user("instructor")
    organization_id = await minter.organization(admin)
    await minter.add(organization_id, claims_of(before["accessToken"])["sub"], "student")

    refreshed = (await gql(REFRESH, {"t": before["refreshToken"]}))["data"]["refreshToken"]
    assert claims_of(refreshed["accessToken"])["orgs"] == [organization_id]
    assert claims_of((await login(gql, email))["accessToken"])["orgs"] == [organization_id]

"""Integrations: API clients and the OAuth2 client-credentials grant."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from subgraphs.users.models import User
from tests.conftest import TEST_PASSWORD
from tests.subgraphs.users.test_auth_flow import login, register_verified
from tests.tokens import claims_of

CREATE = """mutation($input: CreateApiClientInput!) { createApiClient(input: $input) {
  __typename ... on CreateApiClientSuccess { clientSecret apiClient { id clientId scopes } }
  ... on Error { code message } } }"""
REVOKE = """mutation($id: ID!) { revokeApiClient(input: {id: $id}) {
  __typename ... on ApiClientSuccess { apiClient { revokedAt } } } }"""


async def site_admin_token(gql, mailbox, runtime, unique_email) -> str:
    email = unique_email("admin")
    await register_verified(gql, mailbox, email)
    async with runtime.transaction() as session:
        await session.execute(update(User).where(User.email == email).values(role="site_admin"))
    return (await login(gql, email, TEST_PASSWORD))["accessToken"]


async def create_client(gql, token: str, scopes: list[str]) -> dict:
    body = await gql(
        CREATE,
        {"input": {"organizationId": str(uuid.uuid4()), "name": "Moodle", "scopes": scopes}},
        token=token,
    )
    result = body["data"]["createApiClient"]
    assert result["__typename"] == "CreateApiClientSuccess", body
    return result


async def test_client_credentials_grant_issues_scoped_tokens(gql, http, mailbox, runtime, unique_email):
    admin = await site_admin_token(gql, mailbox, runtime, unique_email)
    created = await create_client(gql, admin, ["view_courses", "schema:read"])
    client_id, secret = created["apiClient"]["clientId"], created["clientSecret"]

    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "view_courses"},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "view_courses" and body["expires_in"] == 900
    claims = claims_of(body["access_token"])
    assert claims["client_id"] == client_id and claims["scope"] == "view_courses" and "role" not in claims

    # The token is accepted like a user token; an API client is not a user, so `me` is null.
    assert (await gql("{ me { id } }", token=body["access_token"])) == {"data": {"me": None}}

    # Client authentication by form fields works too; no scope asked means all granted scopes.
    form = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert form.json()["scope"] == "schema:read view_courses"


async def test_client_credentials_errors_follow_rfc6749(gql, http, mailbox, runtime, unique_email):
    admin = await site_admin_token(gql, mailbox, runtime, unique_email)
    created = await create_client(gql, admin, ["view_courses"])
    client_id, secret = created["apiClient"]["clientId"], created["clientSecret"]

    wrong = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "x" * 43)
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    unknown = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("cg_nope", secret)
    )
    assert unknown.status_code == 401 and unknown.json() == wrong.json()
    scope = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "manage_labs"},
        auth=(client_id, secret),
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    grant = await http.post("/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


async def test_revoking_a_client_kills_its_issued_tokens(gql, http, mailbox, runtime, unique_email):
    admin = await site_admin_token(gql, mailbox, runtime, unique_email)
    created = await create_client(gql, admin, ["view_courses"])
    client_id, secret = created["apiClient"]["clientId"], created["clientSecret"]
    token = (
        await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    ).json()
    assert (await gql.raw("{ me { id } }", token=token["access_token"])).status_code == 200

    revoked = await gql(REVOKE, {"id": created["apiClient"]["id"]}, token=admin)
    assert revoked["data"]["revokeApiClient"]["apiClient"]["revokedAt"] is not None
    assert (await gql.raw("{ me { id } }", token=token["access_token"])).status_code == 401
    again = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert again.status_code == 401


async def test_students_cannot_create_api_clients(gql, mailbox, unique_email):
    email = unique_email()
    await register_verified(gql, mailbox, email)
    token = (await login(gql, email))["accessToken"]
    body = await gql(
        CREATE,
        {"input": {"organizationId": str(uuid.uuid4()), "name": "x", "scopes": ["view_courses"]}},
        token=token,
    )
    assert body["data"]["createApiClient"]["__typename"] == "ForbiddenError"


async def test_unknown_scopes_are_a_validation_error_naming_the_field(gql, mailbox, runtime, unique_email):
    admin = await site_admin_token(gql, mailbox, runtime, unique_email)
    body = await gql(
        CREATE, {"input": {"organizationId": str(uuid.uuid4()), "name": "x", "scopes": ["root"]}}, token=admin
    )
    result = body["data"]["createApiClient"]
    assert result["__typename"] == "ValidationError" and "input.scopes" in result["message"]

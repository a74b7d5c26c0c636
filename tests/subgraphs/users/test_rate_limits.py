"""Rate limits against apps built with low limits. Every test uses its own client IPs and accounts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from subgraphs.core.settings import Settings
from tests.conftest import TEST_PASSWORD, GraphQLClient
from tests.subgraphs.users.test_auth_flow import LOGIN, ME, REGISTER, login, register_verified

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

LOGIN_PER_ACCOUNT = 5
LOGIN_BACKSTOP = 7
TOKEN_PER_CLIENT = 3
TOKEN_BACKSTOP = 6
RESET_PER_IP = 3
LOGIN_PER_IP = 8
REGISTER_PER_IP = 3
API_PER_PRINCIPAL = 3
WRONG = "wrong password!!"


def unique_ip() -> str:
    b = uuid.uuid4().bytes
    return f"10.{b[0]}.{b[1]}.{b[2] or 1}"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Any]:
    from subgraphs.users.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def auth_limited_app(database: None) -> AsyncIterator[Any]:
    """Low sign-in/registration limits; the API limit stays out of the way."""
    settings = Settings(
        rate_limits={
            "login_per_account": LOGIN_PER_ACCOUNT,
            "login_per_account_backstop": LOGIN_BACKSTOP,
            "login_per_ip": LOGIN_PER_IP,
            "register_per_ip": REGISTER_PER_IP,
            "register_notice_per_recipient": 1,
            "reset_password_per_ip": RESET_PER_IP,
            "token_endpoint_per_client": TOKEN_PER_CLIENT,
            "token_endpoint_per_client_backstop": TOKEN_BACKSTOP,
            "api_per_principal": 100_000,
        }
    )
    async with running(settings) as app:
        yield app


@pytest.fixture(scope="module")
async def api_limited_app(database: None) -> AsyncIterator[Any]:
    async with running(Settings(rate_limits={"api_per_principal": API_PER_PRINCIPAL})) as app:
        yield app


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[Any, str], GraphQLClient]]:
    """`client_for(app, ip)`: a GraphQL client whose requests come from `ip`."""
    clients: list[httpx.AsyncClient] = []

    def make(app: Any, ip: str) -> GraphQLClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://users.test")
        clients.append(http)
        return GraphQLClient(http)

    yield make
    for http in clients:
        await http.aclose()


async def attempt(client: GraphQLClient, email: str, password: str) -> dict:
    body = await client(LOGIN, {"input": {"email": email, "password": password}})
    assert "errors" not in body, body
    return body["data"]["login"]


def assert_rate_limited(result: dict) -> None:
    assert result["__typename"] == "RateLimitedError", result
    assert result["code"] == "RATE_LIMITED"
    assert 0 < result["retryAfterSeconds"] <= 60, result


async def test_login_per_account_trips_on_sixth_attempt(
    auth_limited_app, client_for, gql, mailbox, unique_email
):
    email = unique_email("limited")
    await register_verified(gql, mailbox, email)
    client = client_for(auth_limited_app, unique_ip())
    for _ in range(LOGIN_PER_ACCOUNT):
        assert (await attempt(client, email, "wrong password!!"))["__typename"] == "InvalidCredentialsError"
    # The sixth is refused even with the right password.
    assert_rate_limited(await attempt(client, email, TEST_PASSWORD))


async def test_login_guesses_from_elsewhere_do_not_lock_the_owner_out(
    auth_limited_app, client_for, gql, mailbox, unique_email
):
    email = unique_email("owner")
    await register_verified(gql, mailbox, email)
    attacker = client_for(auth_limited_app, unique_ip())
    for _ in range(LOGIN_PER_ACCOUNT):
        assert (await attempt(attacker, email, WRONG))["__typename"] == "InvalidCredentialsError"
    assert_rate_limited(await attempt(attacker, email, WRONG))
    owner = client_for(auth_limited_app, unique_ip())
    assert (await attempt(owner, email, TEST_PASSWORD))["__typename"] == "LoginSuccess"


async def test_login_backstop_per_account_counts_across_ips(
    auth_limited_app, client_for, gql, mailbox, unique_email
):
    """An attacker spreading guesses over many addresses still meets the slower per-account backstop."""
    email = unique_email("limited")
    await register_verified(gql, mailbox, email)
    for _ in range(LOGIN_BACKSTOP):
        result = await attempt(client_for(auth_limited_app, unique_ip()), email, WRONG)
        assert result["__typename"] == "InvalidCredentialsError"
    result = await attempt(client_for(auth_limited_app, unique_ip()), email, TEST_PASSWORD)
    assert result["__typename"] == "RateLimitedError" and result["retryAfterSeconds"] > 0, result
    # Another account from the same kind of fresh address is not affected.
    other = unique_email("other")
    await register_verified(gql, mailbox, other)
    assert (await attempt(client_for(auth_limited_app, unique_ip()), other, TEST_PASSWORD))[
        "__typename"
    ] == "LoginSuccess"


async def test_login_per_account_counts_alias_batched_attempts(
    auth_limited_app, client_for, gql, mailbox, unique_email
):
    email = unique_email("batched")
    await register_verified(gql, mailbox, email)
    client = client_for(auth_limited_app, unique_ip())
    fields = "\n".join(
        f'l{i}: login(input: {{email: "{email}", password: "{WRONG if i < 6 else TEST_PASSWORD}"}}) {{'
        " __typename ... on Error { code } ... on RateLimitedError { retryAfterSeconds } }"
        for i in range(1, 7)
    )
    response = await client.raw(f"mutation {{\n{fields}\n}}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [data[f"l{i}"]["__typename"] for i in range(1, 6)] == ["InvalidCredentialsError"] * 5, data
    assert data["l6"]["__typename"] == "RateLimitedError", data
    assert data["l6"]["code"] == "RATE_LIMITED" and data["l6"]["retryAfterSeconds"] > 0


async def test_login_per_ip_ceiling(auth_limited_app, client_for, unique_email):
    ip = unique_ip()
    client = client_for(auth_limited_app, ip)
    # Different (unknown) accounts, so only the per-IP bucket can trip.
    for _ in range(LOGIN_PER_IP):
        assert (await attempt(client, unique_email("ip"), TEST_PASSWORD))[
            "__typename"
        ] == "InvalidCredentialsError"
    assert_rate_limited(await attempt(client, unique_email("ip"), TEST_PASSWORD))
    # A spoofed X-Forwarded-For from an untrusted peer does not buy a fresh bucket.
    spoofed = await client(
        LOGIN,
        {"input": {"email": unique_email("ip"), "password": TEST_PASSWORD}},
        headers={"X-Forwarded-For": unique_ip()},
    )
    assert_rate_limited(spoofed["data"]["login"])
    # Another address is unaffected.
    other = await attempt(client_for(auth_limited_app, unique_ip()), unique_email("ip"), TEST_PASSWORD)
    assert other["__typename"] == "InvalidCredentialsError"


async def test_register_per_ip(auth_limited_app, client_for, unique_email):
    client = client_for(auth_limited_app, unique_ip())

    async def register() -> dict:
        body = await client(
            REGISTER,
            {"input": {"email": unique_email("reg"), "password": TEST_PASSWORD, "fullName": "Rate Limited"}},
        )
        assert "errors" not in body, body
        return body["data"]["register"]

    for _ in range(REGISTER_PER_IP):
        assert (await register())["__typename"] == "MessageSuccess"
    limited = await register()
    assert limited["__typename"] == "RateLimitedError", limited
    assert limited["code"] == "RATE_LIMITED"
    other = client_for(auth_limited_app, unique_ip())
    body = await other(
        REGISTER,
        {"input": {"email": unique_email("reg"), "password": TEST_PASSWORD, "fullName": "Other Person"}},
    )
    assert body["data"]["register"]["__typename"] == "MessageSuccess"


async def assert_http_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED", body
    assert body["errors"][0]["extensions"]["retryAfterSeconds"] > 0


async def test_api_limit_per_principal_returns_429(api_limited_app, client_for, gql, mailbox, unique_email):
    email = unique_email("api")
    await register_verified(gql, mailbox, email)
    token = (await login(gql, email))["accessToken"]
    client = client_for(api_limited_app, unique_ip())
    for _ in range(API_PER_PRINCIPAL):
        response = await client.raw(ME, token=token)
        assert response.status_code == 200 and response.json()["data"]["me"]["email"] == email
    await assert_http_429(await client.raw(ME, token=token))
    # The limit follows the principal, not the address ...
    await assert_http_429(await client_for(api_limited_app, unique_ip()).raw(ME, token=token))
    # ... and other principals keep their own budget.
    other_email = unique_email("api")
    await register_verified(gql, mailbox, other_email)
    other_token = (await login(gql, other_email))["accessToken"]
    response = await client.raw(ME, token=other_token)
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == other_email


async def test_api_limit_anonymous_per_ip(api_limited_app, client_for):
    ip = unique_ip()
    client = client_for(api_limited_app, ip)
    for _ in range(API_PER_PRINCIPAL):
        response = await client.raw("{ __typename }")
        assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
    await assert_http_429(await client.raw("{ __typename }"))
    response = await client_for(api_limited_app, unique_ip()).raw("{ __typename }")
    assert response.status_code == 200


async def test_reset_password_aliases_count_against_the_per_ip_limit(auth_limited_app, client_for):
    client = client_for(auth_limited_app, unique_ip())
    fields = "\n".join(
        f'r{i}: resetPassword(input: {{token: "bogus-{i}", newPassword: "a brand new passphrase"}})'
        " { __typename ... on Error { code } }"
        for i in range(RESET_PER_IP + 2)
    )
    data = (await client(f"mutation {{\n{fields}\n}}"))["data"]
    codes = [data[f"r{i}"]["code"] for i in range(RESET_PER_IP + 2)]
    assert codes == ["INVALID_TOKEN"] * RESET_PER_IP + ["RATE_LIMITED"] * 2, data


async def test_duplicate_registration_notices_are_limited_per_recipient(
    auth_limited_app, client_for, gql, mailbox, unique_email
):
    email = unique_email("taken")
    await register_verified(gql, mailbox, email)
    for _ in range(3):  # from different addresses, so the per-IP limit stays out of the way
        body = await client_for(auth_limited_app, unique_ip())(
            REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": "Someone Else"}}
        )
        assert body["data"]["register"]["__typename"] == "MessageSuccess", body  # the same answer
    await mailbox.wait_for(email, "account_exists")
    await mailbox.deliver()
    assert len([m for m in mailbox.messages_to(email) if "X-CourseGraph-Kind: account_exists" in m]) == 1


async def test_token_endpoint_limited_per_client_and_source(
    auth_limited_app, client_for, gql, mailbox, runtime, unique_email
):
    """Wrong secrets sent from elsewhere do not lock the real client out; a slower backstop still binds."""
    from tests.subgraphs.users.test_api_clients import create_client, site_admin_token

    admin = await site_admin_token(gql, mailbox, runtime, unique_email)
    created = await create_client(gql, admin, ["view_courses"])
    client_id, secret = created["apiClient"]["clientId"], created["clientSecret"]

    async def grant(ip: str, client_secret: str) -> httpx.Response:
        return await client_for(auth_limited_app, ip).http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )

    attacker = unique_ip()
    for _ in range(TOKEN_PER_CLIENT):
        assert (await grant(attacker, "x" * 43)).status_code == 401
    assert (await grant(attacker, "x" * 43)).status_code == 429
    assert (await grant(unique_ip(), secret)).status_code == 200  # the real client, elsewhere
    for _ in range(TOKEN_BACKSTOP - TOKEN_PER_CLIENT - 1):
        assert (await grant(unique_ip(), "x" * 43)).status_code == 401
    limited = await grant(unique_ip(), secret)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0

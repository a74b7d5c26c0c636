"""The account lifecycle and token checks, end to end through the real router."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from subgraphs.core.settings import get_settings
from tests.conftest import TEST_PASSWORD, token_from_mail
from tests.subgraphs.users.test_auth_flow import LOGIN, LOGOUT, ME, REFRESH, REGISTER, VERIFY

pytestmark = pytest.mark.e2e


async def wait_for_mail(address: str, kind: str, timeout: float = 20) -> str:
    """Poll the mail folder the worker process delivers into, until the message is there."""
    directory: Path = get_settings().mail.directory
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
            text = path.read_text()
            if f"To: {address}" in text and f"X-CourseGraph-Kind: {kind}" in text:
                return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} mail to {address} within {timeout}s")


async def test_account_lifecycle_through_router(router_gql, unique_email):
    email = unique_email("e2e")
    registered = await router_gql(
        REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": "E2E"}}
    )
    assert registered["data"]["register"]["__typename"] == "MessageSuccess", registered

    token = token_from_mail(await wait_for_mail(email, "verify_email"))
    verified = await router_gql(VERIFY, {"token": token})
    assert verified["data"]["verifyEmail"]["user"]["emailVerified"] is True, verified

    login = (await router_gql(LOGIN, {"input": {"email": email, "password": TEST_PASSWORD}}))["data"]["login"]
    assert login["__typename"] == "LoginSuccess"
    me = await router_gql(ME, token=login["accessToken"])
    assert me["data"]["me"]["email"] == email

    refreshed = (await router_gql(REFRESH, {"t": login["refreshToken"]}))["data"]["refreshToken"]
    assert refreshed["__typename"] == "RefreshTokenSuccess"
    me_again = await router_gql(ME, token=refreshed["accessToken"])
    assert me_again["data"]["me"]["email"] == email

    out = await router_gql(LOGOUT, token=refreshed["accessToken"])
    assert out["data"]["logout"]["revokedSessions"] == 1
    # The router still accepts the (cryptographically valid) token; the subgraph knows the session ended.
    after = await router_gql(ME, token=refreshed["accessToken"])
    assert after["errors"][0]["extensions"]["code"] == "INVALID_TOKEN", after
    assert not (after.get("data") or {}).get("me")


async def test_me_is_null_for_anonymous_callers(router_gql):
    body = await router_gql("{ me { id } }")
    assert body == {"data": {"me": None}}


async def test_authenticated_field_refused_without_token(router_gql):
    body = await router_gql("mutation { logout { revokedSessions } }")
    assert body["errors"], body
    assert body["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "UNAUTHORIZED_FIELD_OR_TYPE")


async def test_requires_scopes_enforced_at_router(router_gql, router_http, unique_email):
    from tests.e2e.helpers import signed_in_student

    token = await signed_in_student(router_gql, unique_email)
    body = await router_gql("{ users(first: 1) { edges { node { id } } } }", token=token)
    assert body["errors"], body
    assert "users" not in (body.get("data") or {}) or body["data"]["users"] is None

"""The account lifecycle through the users subgraph's HTTP endpoint."""

from __future__ import annotations

from tests.conftest import TEST_PASSWORD, token_from_mail

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  __typename ... on MessageSuccess { message } ... on Error { code message }
  ... on ValidationError { fieldErrors { field message } } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on LoginSuccess { accessToken refreshToken expiresIn user { id email emailVerified role } }
  ... on Error { code message } ... on RateLimitedError { retryAfterSeconds } } }"""
VERIFY = """mutation($token: String!) { verifyEmail(input: {token: $token}) {
  __typename ... on UserSuccess { user { id emailVerified } } ... on Error { code } } }"""
ME = "{ me { id email fullName role emailVerified isActive lastLoginAt } }"
REFRESH = """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
  __typename ... on RefreshTokenSuccess { accessToken refreshToken } ... on Error { code } } }"""
LOGOUT = "mutation { logout { revokedSessions } }"


async def register_verified(gql, mailbox, email: str, password: str = TEST_PASSWORD) -> None:
    body = await gql(REGISTER, {"input": {"email": email, "password": password, "fullName": "Test Person"}})
    assert body["data"]["register"]["__typename"] == "MessageSuccess", body
    mail = await mailbox.wait_for(email, "verify_email")
    token = token_from_mail(mail)
    # The web app's page, on the router's public origin.
    assert f"\nhttp://127.0.0.1:4000/verify-email?token={token}\n" in mail
    verified = await gql(VERIFY, {"token": token})
    assert verified["data"]["verifyEmail"]["user"]["emailVerified"] is True, verified


async def login(gql, email: str, password: str = TEST_PASSWORD) -> dict:
    body = await gql(LOGIN, {"input": {"email": email, "password": password}})
    result = body["data"]["login"]
    assert result["__typename"] == "LoginSuccess", body
    return result


async def test_register_verify_login_me_refresh_logout(gql, mailbox, unique_email):
    email = unique_email()
    await register_verified(gql, mailbox, email)
    signed_in = await login(gql, email)
    assert signed_in["user"]["email"] == email and signed_in["user"]["role"] == "STUDENT"

    me = await gql(ME, token=signed_in["accessToken"])
    assert me["data"]["me"]["email"] == email
    assert me["data"]["me"]["emailVerified"] is True
    assert me["data"]["me"]["lastLoginAt"] is not None

    refreshed = (await gql(REFRESH, {"t": signed_in["refreshToken"]}))["data"]["refreshToken"]
    assert refreshed["__typename"] == "RefreshTokenSuccess"
    assert refreshed["refreshToken"] != signed_in["refreshToken"]

    out = await gql(LOGOUT, token=refreshed["accessToken"])
    assert out["data"]["logout"]["revokedSessions"] == 1
    # The session is gone: its still-unexpired access token is refused, and so is its refresh token.
    after = await gql.raw(ME, token=refreshed["accessToken"])
    assert after.status_code == 401
    assert after.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    again = await gql(REFRESH, {"t": refreshed["refreshToken"]})
    assert again["data"]["refreshToken"]["__typename"] == "InvalidTokenError"

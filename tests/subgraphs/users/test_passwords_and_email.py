"""Password reset and change, duplicate registration, uniform login errors, validation, bcrypt upgrade."""

from __future__ import annotations

from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import select, update

from subgraphs.users.models import User
from tests.conftest import TEST_PASSWORD, token_from_mail
from tests.subgraphs.users.test_auth_flow import LOGIN, ME, REFRESH, REGISTER, login, register_verified

NEW_PASSWORD = "a brand new passphrase"

REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(input: {email: $email}) {
  __typename ... on MessageSuccess { message } ... on Error { code message }
  ... on ValidationError { fieldErrors { field message } } } }"""
RESET = """mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) {
  __typename ... on MessageSuccess { message } ... on Error { code message }
  ... on ValidationError { fieldErrors { field message } } } }"""
CHANGE = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  __typename ... on MessageSuccess { message } ... on Error { code message }
  ... on ValidationError { fieldErrors { field message } } } }"""


async def login_result(gql, email: str, password: str) -> dict:
    body = await gql(LOGIN, {"input": {"email": email, "password": password}})
    assert "errors" not in body, body
    return body["data"]["login"]


async def assert_token_refused(gql, access_token: str) -> None:
    response = await gql.raw(ME, token=access_token)
    assert response.status_code == 401, response.text


async def assert_token_works(gql, access_token: str, user_id: str) -> None:
    body = await gql(ME, token=access_token)
    assert body["data"]["me"]["id"] == user_id, body


async def test_reset_password_via_mail(gql, mailbox, unique_email):
    email = unique_email("reset")
    await register_verified(gql, mailbox, email)
    old_session = await login(gql, email)

    requested = await gql(REQUEST_RESET, {"email": email})
    assert requested["data"]["requestPasswordReset"]["__typename"] == "MessageSuccess", requested
    mail = await mailbox.wait_for(email, "reset_password")
    token = token_from_mail(mail)
    # The web app's page, on the router's public origin.
    assert f"\nhttp://127.0.0.1:4000/reset-password?token={token}\n" in mail

    reset = await gql(RESET, {"token": token, "password": NEW_PASSWORD})
    assert reset["data"]["resetPassword"]["__typename"] == "MessageSuccess", reset

    assert (await login_result(gql, email, NEW_PASSWORD))["__typename"] == "LoginSuccess"
    old = await login_result(gql, email, TEST_PASSWORD)
    assert old["__typename"] == "InvalidCredentialsError"

    # Sessions from before the reset are gone, access and refresh tokens alike.
    await assert_token_refused(gql, old_session["accessToken"])
    refreshed = await gql(REFRESH, {"t": old_session["refreshToken"]})
    assert refreshed["data"]["refreshToken"]["__typename"] == "InvalidTokenError"

    # The token is single-use.
    again = await gql(RESET, {"token": token, "password": "yet another passphrase"})
    assert again["data"]["resetPassword"] == {
        "__typename": "InvalidTokenError",
        "code": "INVALID_TOKEN",
        "message": again["data"]["resetPassword"]["message"],
    }
    assert (await login_result(gql, email, NEW_PASSWORD))["__typename"] == "LoginSuccess"


async def test_reset_password_token_is_not_an_email_verification_token(gql, mailbox, unique_email):
    email = unique_email("reset")
    await register_verified(gql, mailbox, email)
    await gql(REQUEST_RESET, {"email": email})
    token = token_from_mail(await mailbox.wait_for(email, "reset_password"))
    verify = await gql(
        "mutation($t: String!) { verifyEmail(input: {token: $t}) { __typename } }", {"t": token}
    )
    assert verify["data"]["verifyEmail"]["__typename"] == "InvalidTokenError"
    # ... and it was not consumed by that attempt.
    reset = await gql(RESET, {"token": token, "password": NEW_PASSWORD})
    assert reset["data"]["resetPassword"]["__typename"] == "MessageSuccess", reset


async def test_request_reset_unknown_email_same_answer_no_mail(gql, mailbox, unique_email):
    known = unique_email("known")
    unknown = unique_email("unknown")
    await register_verified(gql, mailbox, known)

    known_answer = await gql.raw(REQUEST_RESET, {"email": known})
    unknown_answer = await gql.raw(REQUEST_RESET, {"email": unknown})
    assert known_answer.status_code == unknown_answer.status_code == 200
    assert known_answer.json() == unknown_answer.json()
    assert known_answer.json()["data"]["requestPasswordReset"]["__typename"] == "MessageSuccess"

    await mailbox.wait_for(known, "reset_password")  # delivery works ...
    assert mailbox.messages_to(unknown) == []  # ... and nothing went to the unknown address


async def test_register_existing_email_same_answer_and_notice(gql, mailbox, unique_email):
    email = unique_email("dupe")
    fresh_email = unique_email("fresh")
    await register_verified(gql, mailbox, email)

    variables = {"email": email.upper(), "password": "some other password", "fullName": "Someone Else"}
    duplicate = await gql(REGISTER, {"input": variables})
    new = await gql(REGISTER, {"input": {**variables, "email": fresh_email}})
    assert duplicate == new
    assert duplicate["data"]["register"]["__typename"] == "MessageSuccess"

    notice = await mailbox.wait_for(email, "account_exists")
    assert "already" in notice
    # The owner got a notice, not a second verification mail, and the account is unchanged.
    assert len([m for m in mailbox.messages_to(email) if "X-CourseGraph-Kind: verify_email" in m]) == 1
    assert (await login_result(gql, email, TEST_PASSWORD))["__typename"] == "LoginSuccess"
    assert (await login_result(gql, email, "some other password"))["__typename"] == "InvalidCredentialsError"
    await mailbox.wait_for(fresh_email, "verify_email")


async def test_login_errors_identical_for_unknown_wrong_and_deactivated(gql, mailbox, unique_email, runtime):
    active = unique_email("active")
    inactive = unique_email("inactive")
    await register_verified(gql, mailbox, active)
    await register_verified(gql, mailbox, inactive)
    async with runtime.transaction() as session:
        await session.execute(update(User).where(User.email == inactive).values(is_active=False))

    unknown_email = await login_result(gql, unique_email("nobody"), TEST_PASSWORD)
    wrong_password = await login_result(gql, active, "not the password at all")
    deactivated = await login_result(gql, inactive, TEST_PASSWORD)

    assert unknown_email["__typename"] == "InvalidCredentialsError"
    assert unknown_email == wrong_password == deactivated, (unknown_email, wrong_password, deactivated)
    assert unknown_email["code"] == "INVALID_CREDENTIALS"


async def test_change_password_wrong_current_is_refused(gql, mailbox, unique_email):
    email = unique_email("change")
    await register_verified(gql, mailbox, email)
    session = await login(gql, email)
    body = await gql(
        CHANGE,
        {"input": {"currentPassword": "wrong password!", "newPassword": NEW_PASSWORD}},
        token=session["accessToken"],
    )
    result = body["data"]["changePassword"]
    assert result["__typename"] == "InvalidCredentialsError" and result["code"] == "INVALID_CREDENTIALS"
    assert (await login_result(gql, email, TEST_PASSWORD))["__typename"] == "LoginSuccess"
    await assert_token_works(gql, session["accessToken"], session["user"]["id"])


async def test_change_password_revokes_other_sessions_keeps_current(gql, mailbox, unique_email):
    email = unique_email("change")
    await register_verified(gql, mailbox, email)
    current = await login(gql, email)
    other = await login(gql, email)
    user_id = current["user"]["id"]

    body = await gql(
        CHANGE,
        {"input": {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD}},
        token=current["accessToken"],
    )
    assert body["data"]["changePassword"]["__typename"] == "MessageSuccess", body

    await assert_token_works(gql, current["accessToken"], user_id)
    kept = await gql(REFRESH, {"t": current["refreshToken"]})
    assert kept["data"]["refreshToken"]["__typename"] == "RefreshTokenSuccess"

    await assert_token_refused(gql, other["accessToken"])
    revoked = await gql(REFRESH, {"t": other["refreshToken"]})
    assert revoked["data"]["refreshToken"]["__typename"] == "InvalidTokenError"

    assert (await login_result(gql, email, NEW_PASSWORD))["__typename"] == "LoginSuccess"
    assert (await login_result(gql, email, TEST_PASSWORD))["__typename"] == "InvalidCredentialsError"
    await mailbox.wait_for(email, "password_changed")


async def test_change_password_requires_sign_in(gql):
    body = await gql(CHANGE, {"input": {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD}})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def field_errors(result: dict) -> list[str]:
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "VALIDATION_FAILED"
    return [error["field"] for error in result["fieldErrors"]]


async def test_validation_errors_name_the_field(gql, mailbox, unique_email):
    base = {"email": unique_email("valid"), "password": TEST_PASSWORD, "fullName": "Val Idation"}
    bad_email = await gql(REGISTER, {"input": {**base, "email": "not-an-email"}})
    assert field_errors(bad_email["data"]["register"]) == ["input.email"]
    short_password = await gql(REGISTER, {"input": {**base, "password": "short"}})
    assert field_errors(short_password["data"]["register"]) == ["input.password"]
    long_password = await gql(REGISTER, {"input": {**base, "password": "x" * 257}})
    assert field_errors(long_password["data"]["register"]) == ["input.password"]
    blank_name = await gql(REGISTER, {"input": {**base, "fullName": "   "}})
    assert field_errors(blank_name["data"]["register"]) == ["input.fullName"]

    bad_reset_email = await gql(REQUEST_RESET, {"email": "nope"})
    assert field_errors(bad_reset_email["data"]["requestPasswordReset"]) == ["input.email"]

    email = unique_email("valid")
    await register_verified(gql, mailbox, email)
    session = await login(gql, email)
    change = await gql(
        CHANGE,
        {"input": {"currentPassword": TEST_PASSWORD, "newPassword": "short"}},
        token=session["accessToken"],
    )
    assert field_errors(change["data"]["changePassword"]) == ["input.newPassword"]

    await gql(REQUEST_RESET, {"email": email})
    token = token_from_mail(await mailbox.wait_for(email, "reset_password"))
    reset = await gql(RESET, {"token": token, "password": "short"})
    assert field_errors(reset["data"]["resetPassword"]) == ["input.newPassword"]
    # A refused new password does not burn the token.
    reset = await gql(RESET, {"token": token, "password": NEW_PASSWORD})
    assert reset["data"]["resetPassword"]["__typename"] == "MessageSuccess", reset


async def test_login_upgrades_bcrypt_hash_to_argon2id(gql, mailbox, unique_email, runtime):
    email = unique_email("legacy")
    legacy_password = "legacy system password"
    await register_verified(gql, mailbox, email)
    bcrypt_hash = BcryptHasher().hash(legacy_password)
    assert bcrypt_hash.startswith("$2")
    async with runtime.transaction() as session:
        await session.execute(update(User).where(User.email == email).values(password_hash=bcrypt_hash))

    assert (await login_result(gql, email, "wrong legacy password"))[
        "__typename"
    ] == "InvalidCredentialsError"
    async with runtime.transaction() as session:
        assert await session.scalar(select(User.password_hash).where(User.email == email)) == bcrypt_hash

    assert (await login_result(gql, email, legacy_password))["__typename"] == "LoginSuccess"
    async with runtime.transaction() as session:
        upgraded = await session.scalar(select(User.password_hash).where(User.email == email))
    assert upgraded.startswith("$argon2id$"), upgraded
    assert "m=19456" in upgraded and "t=2" in upgraded, upgraded
    # The upgraded hash verifies the same password.
    assert (await login_result(gql, email, legacy_password))["__typename"] == "LoginSuccess"

"""Issue 13 items 3, 4, 11, 12 (users side): reset tokens, resetPassword's cost, password strength, the
reset timing oracle, duplicate-registration notices."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from subgraphs.users import passwords
from subgraphs.users.models import OneTimeToken, User
from tests.conftest import TEST_PASSWORD, token_from_mail
from tests.subgraphs.users.test_auth_flow import REGISTER, login, register_verified
from tests.subgraphs.users.test_passwords_and_email import (
    CHANGE,
    NEW_PASSWORD,
    REQUEST_RESET,
    RESET,
    login_result,
)

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def reset_tokens(mailbox, email: str) -> set[str]:
    return {
        token_from_mail(m) for m in mailbox.messages_to(email) if "X-CourseGraph-Kind: reset_password" in m
    }


async def reset_token(gql, mailbox, email: str, count: int) -> str:
    """The token of the `count`th reset mail (files of one second sort by event id, not by time)."""
    before = reset_tokens(mailbox, email)
    answer = await gql(REQUEST_RESET, {"email": email})
    assert answer["data"]["requestPasswordReset"]["__typename"] == "MessageSuccess", answer
    await mailbox.wait_for(email, "reset_password", count=count)
    (token,) = reset_tokens(mailbox, email) - before
    return token


async def reset(gql, token: str, password: str = NEW_PASSWORD) -> dict:
    body = await gql(RESET, {"token": token, "password": password})
    assert "errors" not in body, body
    return body["data"]["resetPassword"]


# --- item 3: every outstanding reset token dies ----------------------------------------------------


async def test_newer_reset_request_voids_the_older_token(gql, mailbox, unique_email):
    email = unique_email("reset")
    await register_verified(gql, mailbox, email)
    older = await reset_token(gql, mailbox, email, 1)
    newer = await reset_token(gql, mailbox, email, 2)
    assert older != newer
    assert (await reset(gql, older))["code"] == "INVALID_TOKEN"
    assert (await reset(gql, newer))["__typename"] == "MessageSuccess"


async def test_using_a_reset_token_voids_every_other_one(gql, mailbox, unique_email, runtime):
    email = unique_email("reset")
    await register_verified(gql, mailbox, email)
    first = await reset_token(gql, mailbox, email, 1)
    # A second outstanding token, as a concurrent request could leave one.
    second = await reset_token(gql, mailbox, email, 2)
    async with runtime.transaction() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        await session.execute(
            OneTimeToken.__table__.update()
            .where(OneTimeToken.user_id == user_id, OneTimeToken.purpose == "reset_password")
            .values(used_at=None)
        )
    assert (await reset(gql, second))["__typename"] == "MessageSuccess"
    assert (await reset(gql, first, "yet another passphrase"))["code"] == "INVALID_TOKEN"
    async with runtime.transaction() as session:
        outstanding = await session.scalar(
            select(func.count())
            .select_from(OneTimeToken)
            .where(OneTimeToken.user_id == user_id, OneTimeToken.used_at.is_(None))
        )
    assert outstanding == 0


async def test_change_password_voids_outstanding_reset_tokens(gql, mailbox, unique_email):
    email = unique_email("reset")
    await register_verified(gql, mailbox, email)
    token = await reset_token(gql, mailbox, email, 1)
    session = await login(gql, email)
    changed = await gql(
        CHANGE,
        {"input": {"currentPassword": TEST_PASSWORD, "newPassword": NEW_PASSWORD}},
        token=session["accessToken"],
    )
    assert changed["data"]["changePassword"]["__typename"] == "MessageSuccess", changed
    assert (await reset(gql, token, "an attacker's passphrase"))["code"] == "INVALID_TOKEN"
    assert (await login_result(gql, email, NEW_PASSWORD))["__typename"] == "LoginSuccess"


# --- item 4: resetPassword looks the token up before hashing ---------------------------------------


async def test_bogus_reset_tokens_cost_no_hashing(gql, monkeypatch):
    hashed: list[str] = []
    real_hash = passwords.hash_password

    async def counting_hash(password, settings):  # a spy: counts, then does the real work
        hashed.append(password)
        return await real_hash(password, settings)

    monkeypatch.setattr(passwords, "hash_password", counting_hash)
    fields = "\n".join(
        f'r{i}: resetPassword(input: {{token: "bogus-{i}", newPassword: "{NEW_PASSWORD}"}})'
        " { __typename ... on Error { code } }"
        for i in range(15)
    )
    body = await gql(f"mutation {{\n{fields}\n}}")
    assert [body["data"][f"r{i}"]["code"] for i in range(15)] == ["INVALID_TOKEN"] * 15, body
    assert hashed == []


# --- item 11: password strength ---------------------------------------------------------------------


WEAK = [
    ("1234567890", "common or breached"),
    ("aaaaaaaaaa", "too few characters"),
    (" " * 10, "too few characters"),
    ("password12", "common or breached"),
    ("qwertyuiop", "common or breached"),
]


def weak_reason(result: dict, field: str) -> str:
    assert result["__typename"] == "ValidationError", result
    assert result["code"] == "WEAK_PASSWORD", result
    assert [e["field"] for e in result["fieldErrors"]] == [field], result
    return result["fieldErrors"][0]["message"]


@pytest.mark.parametrize(("password", "why"), WEAK)
async def test_register_refuses_common_and_repetitive_passwords(gql, unique_email, password, why):
    body = await gql(
        REGISTER, {"input": {"email": unique_email("weak"), "password": password, "fullName": "Weak Pass"}}
    )
    assert why in weak_reason(body["data"]["register"], "input.password")


async def test_register_refuses_passwords_built_from_email_or_name(gql, unique_email):
    email = unique_email("jane.doe")
    for password in (email, email.split("@")[0] + "2024", "JaneQuincy!!", "quincy jane 77"):
        body = await gql(
            REGISTER, {"input": {"email": email, "password": password, "fullName": "Jane Quincy"}}
        )
        assert "email address or name" in weak_reason(body["data"]["register"], "input.password"), password


@pytest.mark.parametrize(
    "password", [TEST_PASSWORD, "coursegraph-demo", "Jane walks her seven greyhounds at dawn", "x7#Lq9!zP2"]
)
async def test_passphrases_and_random_passwords_stay_welcome(gql, unique_email, password):
    body = await gql(
        REGISTER, {"input": {"email": unique_email("ok"), "password": password, "fullName": "Jane Quincy"}}
    )
    assert body["data"]["register"]["__typename"] == "MessageSuccess", body


async def test_change_and_reset_refuse_weak_passwords(gql, mailbox, unique_email):
    email = unique_email("weak")
    await register_verified(gql, mailbox, email)
    session = await login(gql, email)
    changed = await gql(
        CHANGE,
        {"input": {"currentPassword": TEST_PASSWORD, "newPassword": "1234567890"}},
        token=session["accessToken"],
    )
    assert "common or breached" in weak_reason(changed["data"]["changePassword"], "input.newPassword")
    changed = await gql(
        CHANGE,
        {"input": {"currentPassword": TEST_PASSWORD, "newPassword": email}},
        token=session["accessToken"],
    )
    assert "email address" in weak_reason(changed["data"]["changePassword"], "input.newPassword")

    token = await reset_token(gql, mailbox, email, 1)
    assert "common or breached" in weak_reason(await reset(gql, token, "password12"), "input.newPassword")
    # A refused password does not burn the token.
    assert (await reset(gql, token))["__typename"] == "MessageSuccess"


# --- item 12: requestPasswordReset does equal work; duplicate notices per recipient -------------------


async def test_request_password_reset_does_the_same_work_for_known_and_unknown_addresses(
    gql, mailbox, unique_email, count_queries
):
    known = unique_email("known")
    await register_verified(gql, mailbox, known)
    statements = {}
    for name, email in (("known", known), ("unknown", unique_email("unknown"))):
        with count_queries() as counter:
            answer = await gql(REQUEST_RESET, {"email": email})
        statements[name] = counter.statements
        assert answer["data"]["requestPasswordReset"]["__typename"] == "MessageSuccess"
    assert statements["known"] == statements["unknown"]
    assert not any('"user"' in s for s in statements["known"]), statements["known"]  # no lookup here
    # The lookup and the mail happen in the worker.
    token_from_mail(await mailbox.wait_for(known, "reset_password"))

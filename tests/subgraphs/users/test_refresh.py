"""Refresh-token rotation and reuse detection (RFC 9700): a replayed refresh token revokes its family."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from subgraphs.core.auth import SESSION_KEY
from subgraphs.users.models import Outbox, RefreshToken
from subgraphs.users.tokens import hash_token
from tests.subgraphs.users.test_auth_flow import ME, REFRESH, login, register_verified


async def refresh(gql, token: str) -> dict:
    body = await gql(REFRESH, {"t": token})
    assert "errors" not in body, body
    return body["data"]["refreshToken"]


async def assert_session_dead(gql, access_token: str) -> None:
    response = await gql.raw(ME, token=access_token)
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


async def family_rows(runtime, refresh_token: str) -> list[RefreshToken]:
    async with runtime.transaction() as session:
        family = await session.scalar(
            select(RefreshToken.family_id).where(RefreshToken.token_hash == hash_token(refresh_token))
        )
        assert family is not None
        return list(
            (await session.scalars(select(RefreshToken).where(RefreshToken.family_id == family))).all()
        )


async def signed_in_user(gql, mailbox, unique_email) -> dict:
    email = unique_email("refresh")
    await register_verified(gql, mailbox, email)
    return await login(gql, email)


async def test_refresh_rotates_tokens(gql, mailbox, unique_email):
    first = await signed_in_user(gql, mailbox, unique_email)
    second = await refresh(gql, first["refreshToken"])
    assert second["__typename"] == "RefreshTokenSuccess"
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    third = await refresh(gql, second["refreshToken"])
    assert third["__typename"] == "RefreshTokenSuccess"
    # The session is the same one throughout: its access tokens all work.
    for token in (first["accessToken"], second["accessToken"], third["accessToken"]):
        body = await gql(ME, token=token)
        assert body["data"]["me"]["id"] == first["user"]["id"], body


async def test_refresh_unknown_token_is_invalid(gql):
    result = await refresh(gql, "not-a-token-" + uuid.uuid4().hex)
    assert result == {"__typename": "InvalidTokenError", "code": "INVALID_TOKEN"}


async def test_reuse_rotated_token_revokes_family(gql, mailbox, unique_email, runtime):
    first = await signed_in_user(gql, mailbox, unique_email)
    second = await refresh(gql, first["refreshToken"])
    third = await refresh(gql, second["refreshToken"])
    assert third["__typename"] == "RefreshTokenSuccess"

    # The attacker replays the first (already rotated) refresh token.
    replay = await refresh(gql, first["refreshToken"])
    assert replay == {"__typename": "InvalidTokenError", "code": "INVALID_TOKEN"}

    # The whole family is revoked: the newest refresh token fails too ...
    newest = await refresh(gql, third["refreshToken"])
    assert newest["__typename"] == "InvalidTokenError"
    # ... and every access token of the session is refused at once.
    await assert_session_dead(gql, third["accessToken"])
    await assert_session_dead(gql, first["accessToken"])
    assert all(row.revoked_at is not None for row in await family_rows(runtime, first["refreshToken"]))

    # The reuse was recorded for the audit log.
    async with runtime.transaction() as session:
        types = (
            await session.scalars(
                select(Outbox.type).where(
                    Outbox.event["subject_ids"]["user_id"].astext == first["user"]["id"]
                )
            )
        ).all()
    assert "users.auth.refresh_reused" in types


async def test_reuse_does_not_touch_other_sessions(gql, mailbox, unique_email):
    email = unique_email("refresh")
    await register_verified(gql, mailbox, email)
    laptop = await login(gql, email)
    phone = await login(gql, email)
    await refresh(gql, laptop["refreshToken"])
    assert (await refresh(gql, laptop["refreshToken"]))["__typename"] == "InvalidTokenError"
    await assert_session_dead(gql, laptop["accessToken"])
    # The other device's session is another family: untouched.
    body = await gql(ME, token=phone["accessToken"])
    assert body["data"]["me"]["id"] == phone["user"]["id"], body
    assert (await refresh(gql, phone["refreshToken"]))["__typename"] == "RefreshTokenSuccess"


async def test_refresh_after_logout_is_invalid(gql, mailbox, unique_email):
    signed_in = await signed_in_user(gql, mailbox, unique_email)
    out = await gql("mutation { logout { revokedSessions } }", token=signed_in["accessToken"])
    assert out["data"]["logout"]["revokedSessions"] == 1
    assert (await refresh(gql, signed_in["refreshToken"]))["__typename"] == "InvalidTokenError"


async def test_concurrent_refresh_exactly_one_wins_then_family_revoked(gql, mailbox, unique_email, runtime):
    signed_in = await signed_in_user(gql, mailbox, unique_email)
    results = await asyncio.gather(*(refresh(gql, signed_in["refreshToken"]) for _ in range(8)))

    winners = [r for r in results if r["__typename"] == "RefreshTokenSuccess"]
    losers = [r for r in results if r["__typename"] == "InvalidTokenError"]
    assert len(winners) == 1, [r["__typename"] for r in results]
    assert len(losers) == 7

    # The losers presented an already-used token: that is reuse, so the family is revoked ...
    winner = winners[0]
    assert (await refresh(gql, winner["refreshToken"]))["__typename"] == "InvalidTokenError"
    rows = await family_rows(runtime, signed_in["refreshToken"])
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    # ... and the session with it: not even the winner's fresh access token works, and the Redis
    # session key is gone (a refresh that finished after the revocation must not re-open it).
    sid = str(rows[0].family_id)
    assert not await runtime.redis.exists(SESSION_KEY.format(sid=sid))
    await assert_session_dead(gql, winner["accessToken"])
    await assert_session_dead(gql, signed_in["accessToken"])

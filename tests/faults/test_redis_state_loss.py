"""Redis-held state after Redis lost it (issue 16): rebuilt from PostgreSQL; authorization never grants more
meanwhile; a lost session costs one silent refresh and a revoked one stays revoked.

The projection and revocation tests use a Redis of their own (flushed); the session tests drop the session
key from the suite's Redis (what a loss does to it) through the users subgraph's real HTTP API.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import pytest
from sqlalchemy import delete

from subgraphs.core.auth import (
    REVOKED_CLIENT_KEY,
    REVOKED_CLIENTS_MARKER,
    SESSION_KEY,
    Principal,
    token_is_revoked,
)
from subgraphs.core.db import utcnow
from subgraphs.core.rbac import MEMBERSHIPS_KEY, MEMBERSHIPS_MARKER, Memberships, Role
from subgraphs.core.redis_state import RebuildableState, RedisStateKeeper, Unavailable, connect
from subgraphs.organizations.authz import projection_state
from subgraphs.organizations.models import Membership, Organization
from subgraphs.users.models import ApiClient
from subgraphs.users.worker import rebuild_revoked_clients
from tests.subgraphs.users.test_auth_flow import LOGOUT, ME
from tests.subgraphs.users.test_refresh import assert_session_dead, refresh, signed_in_user


async def _member(runtime, role: Role) -> tuple[uuid.UUID, uuid.UUID]:
    org, user = uuid.uuid4(), uuid.uuid4()
    async with runtime.transaction() as session:
        session.add(Organization(id=org, name=f"Fault {org.hex[:6]}", slug=f"fault-{org.hex[:12]}"))
        await session.flush()
        session.add(Membership(organization_id=org, user_id=user, role=role.value))
    return org, user


async def test_membership_projection_is_rebuilt_and_readers_wait_for_it(runtime, own_redis):
    redis = own_redis.client()
    org, user = await _member(runtime, Role.INSTRUCTOR)
    keeper = RedisStateKeeper(redis, [projection_state(runtime.sessionmaker, redis)], interval=0.05)
    try:
        await keeper.ensure()
        assert (await Memberships(redis).of(user))[str(org)] is Role.INSTRUCTOR
        # A stale grant in Redis that PostgreSQL does not hold anymore must not survive a rebuild.
        async with runtime.transaction() as session:
            await session.execute(delete(Membership).where(Membership.user_id == user))
            session.add(Membership(organization_id=org, user_id=user, role=Role.STUDENT.value))
        await redis.hset(MEMBERSHIPS_KEY.format(user_id=user), str(org), Role.ORGANIZATION_ADMIN.value)

        await redis.flushall()
        started = time.monotonic()
        stop = asyncio.Event()
        reader = asyncio.create_task(Memberships(redis).of(user))
        keeping = asyncio.create_task(keeper.run(stop))
        try:
            roles = await asyncio.wait_for(reader, timeout=10)
        finally:
            stop.set()
            await keeping
        print(f"\nmembership projection rebuilt and read {time.monotonic() - started:.2f} s after the flush")
        assert roles == {str(org): Role.STUDENT}  # what PostgreSQL says, read only once it was rebuilt
        assert await redis.exists(MEMBERSHIPS_MARKER)
    finally:
        await redis.aclose()


async def test_without_a_rebuild_readers_refuse_with_a_retryable_error(own_redis):
    redis = own_redis.client()
    try:
        with pytest.raises(Unavailable) as refused:
            await Memberships(redis).of(uuid.uuid4())
        assert refused.value.extensions == {"code": "UNAVAILABLE", "retryable": True}
    finally:
        await redis.aclose()


async def _revoked_client(runtime) -> str:
    client_id = "fault-" + secrets.token_hex(8)
    async with runtime.transaction() as session:
        session.add(
            ApiClient(
                client_id=client_id,
                name="Fault LMS",
                organization_id=uuid.uuid4(),
                scopes=["view_courses"],
                secret_hash="0" * 64,
                created_by=uuid.uuid4(),
                revoked_at=utcnow(),
            )
        )
    return client_id


async def test_a_revoked_api_client_stays_revoked_through_a_redis_loss(runtime, settings, own_redis):
    redis = own_redis.client()
    client_id = await _revoked_client(runtime)
    principal = Principal(subject=client_id, kind="client")
    keeper = RedisStateKeeper(
        redis,
        [
            RebuildableState(
                name="revoked API clients",
                marker=REVOKED_CLIENTS_MARKER,
                rebuild=lambda: rebuild_revoked_clients(runtime.sessionmaker, redis, settings),
            )
        ],
        interval=0.05,
    )
    try:
        await redis.flushall()
        # No keeper yet: the client is not let back in, the check refuses (retryable) instead.
        with pytest.raises(Unavailable):
            await token_is_revoked(redis, principal)
        stop = asyncio.Event()
        keeping = asyncio.create_task(keeper.run(stop))
        try:
            assert await token_is_revoked(redis, principal)
        finally:
            stop.set()
            await keeping
        assert (
            0
            < await redis.ttl(REVOKED_CLIENT_KEY.format(client_id=client_id))
            <= (settings.auth.access_token_ttl_seconds)
        )
    finally:
        await redis.aclose()


def _session_id(access_token: str) -> str:
    import base64
    import json

    claims = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sid"]


async def test_a_session_lost_with_redis_costs_one_silent_refresh(gql, runtime, mailbox, unique_email):
    signed_in = await signed_in_user(gql, mailbox, unique_email)
    await runtime.redis.delete(SESSION_KEY.format(sid=_session_id(signed_in["accessToken"])))
    await assert_session_dead(gql, signed_in["accessToken"])  # INVALID_TOKEN: the client refreshes
    renewed = await refresh(gql, signed_in["refreshToken"])
    assert renewed["__typename"] == "RefreshTokenSuccess", renewed
    body = await gql(ME, token=renewed["accessToken"])
    assert body["data"]["me"]["id"] == signed_in["user"]["id"], body


async def test_a_revoked_session_stays_revoked_after_a_redis_loss(gql, runtime, mailbox, unique_email):
    signed_in = await signed_in_user(gql, mailbox, unique_email)
    body = await gql(LOGOUT, token=signed_in["accessToken"])
    assert body["data"]["logout"]["revokedSessions"] == 1, body
    # Redis losing everything (the session key is gone already) must not bring the session back.
    await runtime.redis.delete(SESSION_KEY.format(sid=_session_id(signed_in["accessToken"])))
    again = await refresh(gql, signed_in["refreshToken"])
    assert again["__typename"] == "InvalidTokenError", again
    await assert_session_dead(gql, signed_in["accessToken"])


async def test_the_first_commands_after_a_redis_restart_fail_on_no_old_connection(own_redis):
    """The platform's client (core/redis_state.connect) holds pooled connections that Redis closed when it
    restarted: each is replaced when its idle check finds it dead, before its command is sent, so a
    subgraph idle through a restart answers its next requests (they were UNAVAILABLE, one per pooled
    connection)."""
    redis = connect(own_redis.url, idle_check_seconds=0.001)
    try:
        await asyncio.gather(*(redis.set(f"before-{n}", n) for n in range(8)))  # eight pooled connections
        assert len(redis.connection_pool._available_connections) > 1  # several, each closed by the restart
        await asyncio.to_thread(own_redis.restart_empty)
        assert await asyncio.gather(*(redis.get(f"before-{n}") for n in range(8))) == [None] * 8
        assert await asyncio.gather(*(redis.set(f"after-{n}", n) for n in range(8))) == [True] * 8
    finally:
        await redis.aclose()

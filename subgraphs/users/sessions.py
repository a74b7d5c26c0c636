"""Sign-in and sessions: login, refresh (rotated tokens; reuse revokes the whole family, RFC 9700), logout.

Every change commits together with its outbox events; Redis session keys and live account events follow
the commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import users as contract
from subgraphs.core.auth import SESSION_KEY, Principal, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.events import emit
from subgraphs.core.rbac import Memberships, Role
from subgraphs.users import passwords
from subgraphs.users.accounts import account_event, hit_rate_limit, publish_account, signing_keys, user_event
from subgraphs.users.errors import InvalidCredentials, InvalidToken
from subgraphs.users.models import Outbox, RefreshToken, User
from subgraphs.users.tokens import hash_token, issue_user_token, new_opaque_token


@dataclass
class SignIn:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


async def _start_session(runtime: Runtime, session: AsyncSession, user: User) -> tuple[uuid.UUID, str]:
    session_id = uuid.uuid4()
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            token_hash=hash_token(refresh),
            family_id=session_id,
            user_id=user.id,
            expires_at=utcnow() + timedelta(seconds=runtime.settings.auth.refresh_token_ttl_seconds),
        )
    )
    return session_id, refresh


async def _open_redis_session(runtime: Runtime, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await runtime.redis.set(
        SESSION_KEY.format(sid=session_id), str(user_id), ex=runtime.settings.auth.session_ttl_seconds
    )


async def _sign_in(runtime: Runtime, user: User, session_id: uuid.UUID, refresh: str) -> SignIn:
    # `orgs` tells clients where the user is a member when the token is issued; authorization never
    # trusts it (memberships change faster than tokens expire) and reads the projection instead.
    orgs = sorted(await Memberships(runtime.redis).of(user.id))
    access = issue_user_token(
        signing_keys(runtime),
        runtime.settings,
        user_id=user.id,
        role=Role(user.role),
        session_id=session_id,
        orgs=orgs,
        email_verified=user.email_verified,
    )
    return SignIn(access, refresh, runtime.settings.auth.access_token_ttl_seconds, user)


async def revoke_families(
    runtime: Runtime, session: AsyncSession, user_id: uuid.UUID, *, except_family: uuid.UUID | None = None
) -> list[uuid.UUID]:
    stmt = (
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(RefreshToken.family_id)
    )
    if except_family is not None:
        stmt = stmt.where(RefreshToken.family_id != except_family)
    families = sorted(set((await session.scalars(stmt)).all()))
    return families


async def end_redis_sessions(runtime: Runtime, families: list[uuid.UUID]) -> None:
    if families:
        await runtime.redis.delete(*(SESSION_KEY.format(sid=f) for f in families))


async def login(runtime: Runtime, meta: RequestMeta, *, email: str, password: str) -> SignIn:
    limits = runtime.settings.rate_limits
    email = email.strip().lower()
    account = hash_token(email)
    await hit_rate_limit(
        runtime, f"login:ip:{meta.client_ip}", limits.login_per_ip, limits.login_per_ip_window_seconds
    )
    # Per account AND source: guessing from elsewhere does not lock the owner out. The slower per-account
    # backstop still holds guessing spread over many addresses.
    await hit_rate_limit(
        runtime,
        f"login:account:{account}:ip:{meta.client_ip}",
        limits.login_per_account,
        limits.login_per_account_window_seconds,
    )
    await hit_rate_limit(
        runtime,
        f"login:account:{account}",
        limits.login_per_account_backstop,
        limits.login_per_account_backstop_window_seconds,
    )
    async with runtime.transaction() as session:
        user = await session.scalar(select(User).where(User.email == email))
    valid, upgraded_hash = await passwords.verify_password(
        password, user.password_hash if user else None, runtime.settings.auth
    )
    if user is None or not valid or not user.is_active:
        reason = "unknown_email" if user is None else ("inactive" if valid else "wrong_password")
        async with runtime.transaction() as session:
            emit(
                session,
                Outbox,
                user_event(meta, contract.LoginFailed(reason=reason), user_id=user.id if user else None),
            )
        raise InvalidCredentials()
    async with runtime.transaction() as session:
        user = await session.get_one(User, user.id)
        if upgraded_hash:
            user.password_hash = upgraded_hash
        user.last_login_at = utcnow()
        session_id, refresh = await _start_session(runtime, session, user)
        emit(
            session,
            Outbox,
            user_event(meta, contract.LoginSucceeded(session_id=str(session_id)), user_id=user.id),
        )
        message = await account_event(session, user.id, "SIGNED_IN", ip=meta.client_ip)
    await _open_redis_session(runtime, session_id, user.id)
    await publish_account(runtime, user.id, message)
    return await _sign_in(runtime, user, session_id, refresh)


async def refresh(runtime: Runtime, meta: RequestMeta, *, refresh_token: str) -> SignIn:
    """Rotate a refresh token. Presenting one that was already rotated (a stolen copy, or a replay)
    revokes its whole family, so the thief and the victim both have to sign in again (RFC 9700)."""
    now = utcnow()
    token_hash = hash_token(refresh_token)
    revoked: list[uuid.UUID] = []
    messages: list[dict[str, Any]] = []
    result: SignIn | None = None
    async with runtime.transaction() as session:
        # Row-locking UPDATE: of concurrent presentations of one token exactly one gets the row.
        current = await session.scalar(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken)
        )
        if current is None:
            seen = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
            if seen is not None and (seen.used_at is not None or seen.revoked_at is not None):
                revoked = await _revoke_family(session, seen.family_id)
                emit(
                    session,
                    Outbox,
                    user_event(
                        meta, contract.RefreshReused(session_id=str(seen.family_id)), user_id=seen.user_id
                    ),
                )
                messages.append(
                    await account_event(
                        session, seen.user_id, "SESSIONS_REVOKED", reason="refresh_token_reuse"
                    )
                )
                user_id = seen.user_id
        else:
            user = await session.get(User, current.user_id)
            # PostgreSQL decides whether the session lives, not Redis (which may have lost it): idle for
            # less than the session TTL since the current token was issued (sign-in or last refresh).
            ttl = timedelta(seconds=runtime.settings.auth.session_ttl_seconds)
            alive = current.created_at > now - ttl
            if user is None or not user.is_active or not alive:
                revoked = await _revoke_family(session, current.family_id)
            else:
                new_refresh = new_opaque_token()
                session.add(
                    RefreshToken(
                        token_hash=hash_token(new_refresh),
                        family_id=current.family_id,
                        user_id=user.id,
                        expires_at=now + timedelta(seconds=runtime.settings.auth.refresh_token_ttl_seconds),
                    )
                )
                result = await _sign_in(runtime, user, current.family_id, new_refresh)
    await end_redis_sessions(runtime, revoked)
    if messages:
        await publish_account(runtime, user_id, *messages)
    if result is None or current is None:  # a result comes only with the current token
        raise InvalidToken()
    # Sessions live `session_ttl` after the last refresh (24 h sliding). A concurrent reuse may have revoked
    # the family after our commit (it ends the Redis session after its own commit) and it must stay revoked.
    key = SESSION_KEY.format(sid=current.family_id)
    if await runtime.redis.expire(key, runtime.settings.auth.session_ttl_seconds):
        return result
    # Gone from Redis: ended by such a reuse, or lost with Redis. Re-open it, then let PostgreSQL decide
    # (a revocation committed after this check ends the Redis session after it, so it stays ended).
    await _open_redis_session(runtime, current.family_id, current.user_id)
    async with runtime.sessionmaker() as session:
        revoked_since = await session.scalar(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == current.family_id, RefreshToken.revoked_at.is_not(None))
            .limit(1)
        )
    if revoked_since is not None:
        await end_redis_sessions(runtime, [current.family_id])
        raise InvalidToken()
    return result


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> list[uuid.UUID]:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return [family_id]


async def logout(runtime: Runtime, meta: RequestMeta, *, all_sessions: bool) -> int:
    """End this session (or every session of the user); their access tokens stop working at once."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        if all_sessions:
            families = await revoke_families(runtime, session, user_id)
        else:
            assert meta.principal.session_id is not None
            families = await _revoke_family(session, uuid.UUID(meta.principal.session_id))
        this_session = [uuid.UUID(meta.principal.session_id)] if meta.principal.session_id else []
        families = sorted({*families, *this_session})
        emit(session, Outbox, user_event(meta, contract.LoggedOut(sessions=len(families)), user_id=user_id))
        message = await account_event(session, user_id, "SIGNED_OUT", sessions=len(families))
    await end_redis_sessions(runtime, families)
    await publish_account(runtime, user_id, message)
    return len(families)


async def logout_refresh_token(
    runtime: Runtime, meta: RequestMeta, *, refresh_token: str, all_sessions: bool
) -> int:
    """`logout` for a browser, which holds only its refresh cookie: ends the session that token belongs
    to (with `all_sessions`, every session of its user, but only for a token still current). An unknown
    token, or one of an ended session, ends nothing."""
    async with runtime.transaction() as session:
        row = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token))
        )
    if row is None or row.revoked_at is not None:
        return 0
    current = row.used_at is None and row.expires_at > utcnow()
    owner = Principal(subject=str(row.user_id), kind="user", session_id=str(row.family_id))
    owner_meta = replace(meta, caller=replace(meta.caller, principal=owner))
    return await logout(runtime, owner_meta, all_sessions=all_sessions and current)

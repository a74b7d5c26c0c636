"""Changing a password, and resetting a forgotten one by mail; both end the user's other sessions."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import users as contract
from subgraphs.contracts.base import parse_as
from subgraphs.core.auth import ANONYMOUS, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.events import Event, emit
from subgraphs.core.rbac import Caller
from subgraphs.core.settings import Settings
from subgraphs.users import passwords
from subgraphs.users.accounts import (
    account_event,
    check_password,
    check_password_length,
    hit_rate_limit,
    limit_mails_to,
    mail,
    normalize_email,
    publish_account,
    user_event,
)
from subgraphs.users.errors import InvalidCredentials, InvalidToken
from subgraphs.users.mailed_tokens import (
    GENERIC_MAIL_ANSWER,
    RESET_PASSWORD,
    consume_one_time_token,
    invalidate_reset_tokens,
    reset_mail,
    usable,
)
from subgraphs.users.models import OneTimeToken, Outbox, User
from subgraphs.users.sessions import end_redis_sessions, revoke_families

PASSWORD_RESET_REQUESTED = contract.PasswordResetAsked.TYPE


async def change_password(
    runtime: Runtime, meta: RequestMeta, *, current_password: str, new_password: str
) -> None:
    """Change the password; every other session is signed out."""
    user_id = require_user(meta.principal)
    check_password_length(new_password, runtime.settings, "input.newPassword")
    limits = runtime.settings.rate_limits
    await hit_rate_limit(
        runtime,
        f"login:account-id:{user_id}",
        limits.login_per_account,
        limits.login_per_account_window_seconds,
    )
    async with runtime.transaction() as session:
        user = await session.get_one(User, user_id)
    valid, _ = await passwords.verify_password(current_password, user.password_hash, runtime.settings.auth)
    if not valid:
        raise InvalidCredentials("The current password is incorrect.")
    check_password(
        new_password, runtime.settings, "input.newPassword", email=user.email, full_name=user.full_name
    )
    new_hash = await passwords.hash_password(new_password, runtime.settings.auth)
    current_family = uuid.UUID(meta.principal.session_id) if meta.principal.session_id else None
    async with runtime.transaction() as session:
        user = await session.get_one(User, user_id)
        user.password_hash = new_hash
        await invalidate_reset_tokens(session, user_id)
        families = await revoke_families(runtime, session, user_id, except_family=current_family)
        emit(session, Outbox, user_event(meta, contract.UserPasswordChanged(), user_id=user_id))
        body = "Your CourseGraph password was changed. If this was not you, reset your password now.\n"
        emit(
            session,
            Outbox,
            mail(
                meta, to=user.email, subject="Your password was changed", body=body, kind="password_changed"
            ),
        )
        message = await account_event(session, user_id, "PASSWORD_CHANGED", signed_out_sessions=len(families))
    await end_redis_sessions(runtime, families)
    await publish_account(runtime, user_id, message)


async def request_password_reset(runtime: Runtime, meta: RequestMeta, *, email: str) -> str:
    """Only records the request: the worker looks the address up and mails (`send_password_reset`), so
    the answer costs the same whether or not the address has an account — no timing oracle."""
    email = normalize_email(email)
    limits = runtime.settings.rate_limits
    await hit_rate_limit(
        runtime, f"reset:ip:{meta.client_ip}", limits.login_per_ip, limits.login_per_ip_window_seconds
    )
    await limit_mails_to(runtime, email)
    async with runtime.transaction() as session:
        # `sensitive`: the audit log keeps no payload (the address of someone who may have no account).
        emit(session, Outbox, user_event(meta, contract.PasswordResetAsked(email=email, sensitive=True)))
    return GENERIC_MAIL_ANSWER


async def send_password_reset(settings: Settings, redis: Redis, session: AsyncSession, event: Event) -> None:
    """The worker's half of `request_password_reset`: mail a reset link if the address has an active
    account, otherwise nothing. A redelivered request mails a newer link, which voids the older one."""
    meta = RequestMeta(
        Caller.of(ANONYMOUS, redis), request_id=event.request_id, client_ip=event.source_ip or "unknown"
    )
    asked = parse_as(event, contract.PasswordResetAsked)
    user = await session.scalar(select(User).where(User.email == asked.email))
    if user is not None and user.is_active:
        await reset_mail(settings, session, meta, user, "Reset your password")
        emit(session, Outbox, user_event(meta, contract.UserPasswordResetRequested(), user_id=user.id))


async def reset_password(runtime: Runtime, meta: RequestMeta, *, token: str, new_password: str) -> None:
    """Set a new password from a mailed token; all sessions end. Proves the address, so it verifies it.

    The token is looked up before any hashing, so a bogus token costs one indexed read, and every call
    (aliases included) counts against the per-IP limit."""
    limits = runtime.settings.rate_limits
    await hit_rate_limit(
        runtime,
        f"reset-password:ip:{meta.client_ip}",
        limits.reset_password_per_ip,
        limits.reset_password_per_ip_window_seconds,
    )
    check_password_length(new_password, runtime.settings, "input.newPassword")
    async with runtime.transaction() as session:
        user = await session.scalar(
            select(User)
            .join(OneTimeToken, OneTimeToken.user_id == User.id)
            .where(usable(token, RESET_PASSWORD))
        )
    if user is None:
        raise InvalidToken()
    check_password(
        new_password, runtime.settings, "input.newPassword", email=user.email, full_name=user.full_name
    )
    new_hash = await passwords.hash_password(new_password, runtime.settings.auth)
    async with runtime.transaction() as session:
        user_id = await consume_one_time_token(session, token, RESET_PASSWORD)  # atomic: one use wins
        user = await session.get_one(User, user_id)
        user.password_hash = new_hash
        user.email_verified = True
        await invalidate_reset_tokens(session, user_id)
        families = await revoke_families(runtime, session, user_id)
        emit(session, Outbox, user_event(meta, contract.UserPasswordReset(), user_id=user_id))
        message = await account_event(session, user_id, "PASSWORD_CHANGED", signed_out_sessions=len(families))
    await end_redis_sessions(runtime, families)
    await publish_account(runtime, user_id, message)

"""Registration and email verification. Answers never reveal whether an email is registered."""

from __future__ import annotations

from sqlalchemy import select

from subgraphs.contracts import users as contract
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.events import emit
from subgraphs.core.rbac import Role
from subgraphs.users import passwords
from subgraphs.users.accounts import (
    account_event,
    check_full_name,
    check_password,
    hit_rate_limit,
    limit_mails_to,
    mail,
    normalize_email,
    publish_account,
    user_event,
)
from subgraphs.users.mailed_tokens import (
    GENERIC_MAIL_ANSWER,
    VERIFY_EMAIL,
    consume_one_time_token,
    verification_mail,
)
from subgraphs.users.models import Outbox, User
from subgraphs.users.tokens import hash_token


async def register(runtime: Runtime, meta: RequestMeta, *, email: str, password: str, full_name: str) -> None:
    """Create an account and mail a verification link. For an address already registered, the answer is
    the same and the owner gets a notice instead — registration never reveals who has an account."""
    email = normalize_email(email)
    full_name = check_full_name(full_name)
    check_password(password, runtime.settings, email=email, full_name=full_name)
    limits = runtime.settings.rate_limits
    await hit_rate_limit(
        runtime,
        f"register:ip:{meta.client_ip}",
        limits.register_per_ip,
        limits.register_per_ip_window_seconds,
    )
    password_hash = await passwords.hash_password(password, runtime.settings.auth)
    async with runtime.transaction() as session:
        existing = await session.scalar(select(User).where(User.email == email))
        if existing is not None:
            emit(session, Outbox, user_event(meta, contract.UserRegisterDuplicate(), user_id=existing.id))
            # Limited per recipient, silently: an error would tell the caller the address is taken.
            if not await runtime.rate_limiter.allow(
                f"register-notice:{hash_token(email)}",
                limit=limits.register_notice_per_recipient,
                window_seconds=limits.register_notice_per_recipient_window_seconds,
            ):
                return
            body = (
                "Someone tried to create a CourseGraph account with this address, which already has one.\n"
                "If it was you, sign in or reset your password. Otherwise ignore this message.\n"
            )
            emit(
                session,
                Outbox,
                mail(meta, to=email, subject="You already have an account", body=body, kind="account_exists"),
            )
            return
        user = User(email=email, password_hash=password_hash, full_name=full_name, role=Role.STUDENT.value)
        session.add(user)
        await session.flush()
        await verification_mail(runtime, session, meta, user)
        emit(session, Outbox, user_event(meta, contract.UserRegistered(role=user.role), user_id=user.id))


async def request_email_verification(runtime: Runtime, meta: RequestMeta, *, email: str) -> str:
    email = normalize_email(email)
    await limit_mails_to(runtime, email)
    async with runtime.transaction() as session:
        user = await session.scalar(select(User).where(User.email == email))
        if user is not None and user.is_active and not user.email_verified:
            await verification_mail(runtime, session, meta, user)
    return GENERIC_MAIL_ANSWER


async def verify_email(runtime: Runtime, meta: RequestMeta, *, token: str) -> User:
    async with runtime.transaction() as session:
        user_id = await consume_one_time_token(session, token, VERIFY_EMAIL)
        user = await session.get_one(User, user_id)
        user.email_verified = True
        emit(session, Outbox, user_event(meta, contract.UserEmailVerified(), user_id=user_id))
        message = await account_event(session, user_id, "EMAIL_VERIFIED")
    await publish_account(runtime, user_id, message)
    return user

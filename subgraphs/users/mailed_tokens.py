"""One-time tokens sent by mail: email verification and password reset links (stored hashed, used once).
Answers never reveal whether an email is registered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.events import emit
from subgraphs.core.mail import web_link
from subgraphs.users.accounts import mail
from subgraphs.users.errors import InvalidToken
from subgraphs.users.models import OneTimeToken, Outbox, User
from subgraphs.users.tokens import hash_token, new_opaque_token

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
GENERIC_MAIL_ANSWER = "If the address belongs to an account, we have sent it an email."


async def _new_one_time_token(session: AsyncSession, user_id: uuid.UUID, purpose: str, ttl: int) -> str:
    token = new_opaque_token()
    session.add(
        OneTimeToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(seconds=ttl),
        )
    )
    return token


def usable(token: str, purpose: str) -> Any:
    """The token's row, if it is unused and unexpired."""
    return and_(
        OneTimeToken.token_hash == hash_token(token),
        OneTimeToken.purpose == purpose,
        OneTimeToken.used_at.is_(None),
        OneTimeToken.expires_at > utcnow(),
    )


async def consume_one_time_token(session: AsyncSession, token: str, purpose: str) -> uuid.UUID:
    """Atomically mark the token used; a second use, or an expired token, fails."""
    user_id = await session.scalar(
        update(OneTimeToken)
        .where(usable(token, purpose))
        .values(used_at=utcnow())
        .returning(OneTimeToken.user_id)
    )
    if user_id is None:
        raise InvalidToken()
    return user_id


async def verification_mail(runtime: Runtime, session: AsyncSession, meta: RequestMeta, user: User) -> None:
    token = await _new_one_time_token(
        session, user.id, VERIFY_EMAIL, runtime.settings.auth.email_token_ttl_seconds
    )
    body = (
        f"Hello {user.full_name},\n\nConfirm your email address for CourseGraph:\n"
        f"{web_link(runtime.settings.mail, '/verify-email', token=token)}\n\n"
        "Or use this token with the verifyEmail mutation:\n"
        f"Token: {token}\n\nIf you did not sign up, ignore this message.\n"
    )
    emit(
        session,
        Outbox,
        mail(meta, to=user.email, subject="Confirm your email", body=body, kind=VERIFY_EMAIL),
    )


async def invalidate_reset_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every outstanding reset token of the user dies (a newer request, a reset, a password change)."""
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == RESET_PASSWORD,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


async def reset_mail(
    settings: Any, session: AsyncSession, meta: RequestMeta, user: User, subject: str
) -> None:
    await invalidate_reset_tokens(session, user.id)
    token = await _new_one_time_token(
        session, user.id, RESET_PASSWORD, settings.auth.password_reset_ttl_seconds
    )
    body = (
        f"Hello {user.full_name},\n\nSet a new CourseGraph password here:\n"
        f"{web_link(settings.mail, '/reset-password', token=token)}\n\n"
        f"Or use this token with the resetPassword mutation:\nToken: {token}\n\n"
        "If you did not ask for this, ignore this message; your password is unchanged.\n"
    )
    emit(session, Outbox, mail(meta, to=user.email, subject=subject, body=body, kind=RESET_PASSWORD))

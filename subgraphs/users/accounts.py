"""What the users flows share: input checks, the domain's events (outbox, mail), live account events after
the commit, rate limits and the token signing keys."""

from __future__ import annotations

import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts.base import EventPayload
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import Event, request_event
from subgraphs.core.live import append_stream_event
from subgraphs.core.mail import mail_event
from subgraphs.users import passwords
from subgraphs.users.errors import WeakPassword
from subgraphs.users.keys import SigningKeys
from subgraphs.users.models import AccountEvent
from subgraphs.users.tokens import hash_token


def signing_keys(runtime: Runtime) -> SigningKeys:
    return runtime.extras["signing_keys"]


def account_channel(user_id: uuid.UUID) -> str:
    return f"users.account:{user_id}"


def normalize_email(email: str, field: str = "input.email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput({field: str(exc)}) from exc


def check_password_length(password: str, settings: Any, field: str = "input.password") -> None:
    """The cheap check, done before anything else costs."""
    minimum = settings.auth.password_min_length
    if len(password) < minimum:
        raise InvalidInput({field: f"Use at least {minimum} characters."})
    if len(password) > passwords.MAX_PASSWORD_LENGTH:
        raise InvalidInput({field: f"Use at most {passwords.MAX_PASSWORD_LENGTH} characters."})


def check_password(
    password: str, settings: Any, field: str = "input.password", *, email: str, full_name: str
) -> None:
    """Length, then NIST SP 800-63B strength (breached/common list, repetition, the account's own
    email and name); the typed error says why."""
    check_password_length(password, settings, field)
    reason = passwords.weakness(password, email=email, full_name=full_name)
    if reason is not None:
        raise WeakPassword({field: reason})


def check_full_name(full_name: str, field: str = "input.fullName") -> str:
    name = " ".join(full_name.split())
    if not 1 <= len(name) <= 200:
        raise InvalidInput({field: "Give a name of 1 to 200 characters."})
    return name


def user_event(meta: RequestMeta, payload: EventPayload, *, user_id: uuid.UUID | None = None) -> Event:
    return request_event(meta, payload, subjects={"user_id": user_id})


def mail(meta: RequestMeta, *, to: str, subject: str, body: str, kind: str) -> Event:
    return mail_event("users", to=to, subject=subject, body=body, kind=kind, request_id=meta.request_id)


async def account_event(
    session: AsyncSession, user_id: uuid.UUID, kind: str, **detail: Any
) -> dict[str, Any]:
    row = await append_stream_event(session, AccountEvent, user_id, {"kind": kind, **detail})
    return row.as_message()


async def publish_account(runtime: Runtime, user_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    for message in messages:
        await runtime.live.publish(account_channel(user_id), message)


async def hit_rate_limit(runtime: Runtime, bucket: str, limit: int, window: int) -> None:
    await runtime.rate_limiter.hit(bucket, limit=limit, window_seconds=window)


async def limit_mails_to(runtime: Runtime, email: str) -> None:
    """The per-address limit on the mails anyone can have sent to an address (verification, reset)."""
    limits = runtime.settings.rate_limits
    await hit_rate_limit(
        runtime,
        f"mail:account:{hash_token(email)}",
        limits.password_reset_per_account,
        limits.password_reset_per_account_window_seconds,
    )

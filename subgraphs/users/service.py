"""Users & auth: plain async functions over the runtime. No GraphQL here.

Every change commits together with its outbox events (audit, mail); Redis session keys and live account
events follow the commit. Answers never reveal whether an email is registered.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidScopeError
from email_validator import EmailNotValidError, validate_email
from redis.asyncio import Redis
from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import users as contract
from subgraphs.contracts.base import EventPayload, parse_as
from subgraphs.core.auth import ANONYMOUS, REVOKED_CLIENT_KEY, SESSION_KEY, Principal, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, InvalidInput, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.live import append_stream_event
from subgraphs.core.mail import mail_event, web_link
from subgraphs.core.pagination import Connection
from subgraphs.core.rbac import GRANTABLE_SCOPES, Caller, Memberships, Permission, Role, authorize, permitted
from subgraphs.core.settings import Settings
from subgraphs.core.time_pagination import paginate_by_time
from subgraphs.users import passwords
from subgraphs.users.errors import InvalidCredentials, InvalidToken, WeakPassword
from subgraphs.users.keys import SigningKeys
from subgraphs.users.models import AccountEvent, ApiClient, OneTimeToken, Outbox, RefreshToken, User
from subgraphs.users.tokens import hash_token, issue_client_token, issue_user_token, new_opaque_token

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
GENERIC_MAIL_ANSWER = "If the address belongs to an account, we have sent it an email."
PASSWORD_RESET_REQUESTED = contract.PasswordResetAsked.TYPE


@dataclass
class SignIn:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@dataclass
class UserFilter:
    role: Role | None = None
    is_active: bool | None = None
    search: str | None = None


# --- helpers --------------------------------------------------------------------------------------


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


def _event(meta: RequestMeta, payload: EventPayload, *, user_id: uuid.UUID | None = None) -> Event:
    return request_event(meta, payload, subjects={"user_id": user_id})


def _mail(meta: RequestMeta, *, to: str, subject: str, body: str, kind: str) -> Event:
    return mail_event("users", to=to, subject=subject, body=body, kind=kind, request_id=meta.request_id)


async def _account_event(
    session: AsyncSession, user_id: uuid.UUID, kind: str, **detail: Any
) -> dict[str, Any]:
    row = await append_stream_event(session, AccountEvent, user_id, {"kind": kind, **detail})
    return row.as_message()


async def _publish(runtime: Runtime, user_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    for message in messages:
        await runtime.live.publish(account_channel(user_id), message)


async def _hit(runtime: Runtime, bucket: str, limit: int, window: int) -> None:
    await runtime.rate_limiter.hit(bucket, limit=limit, window_seconds=window)


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


def _usable(token: str, purpose: str) -> Any:
    """The token's row, if it is unused and unexpired."""
    return and_(
        OneTimeToken.token_hash == hash_token(token),
        OneTimeToken.purpose == purpose,
        OneTimeToken.used_at.is_(None),
        OneTimeToken.expires_at > utcnow(),
    )


async def _consume_one_time_token(session: AsyncSession, token: str, purpose: str) -> uuid.UUID:
    """Atomically mark the token used; a second use, or an expired token, fails."""
    user_id = await session.scalar(
        update(OneTimeToken)
        .where(_usable(token, purpose))
        .values(used_at=utcnow())
        .returning(OneTimeToken.user_id)
    )
    if user_id is None:
        raise InvalidToken()
    return user_id


async def _verification_mail(runtime: Runtime, session: AsyncSession, meta: RequestMeta, user: User) -> None:
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
        _mail(meta, to=user.email, subject="Confirm your email", body=body, kind=VERIFY_EMAIL),
    )


async def _invalidate_reset_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
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


async def _reset_mail(
    settings: Any, session: AsyncSession, meta: RequestMeta, user: User, subject: str
) -> None:
    await _invalidate_reset_tokens(session, user.id)
    token = await _new_one_time_token(
        session, user.id, RESET_PASSWORD, settings.auth.password_reset_ttl_seconds
    )
    body = (
        f"Hello {user.full_name},\n\nSet a new CourseGraph password here:\n"
        f"{web_link(settings.mail, '/reset-password', token=token)}\n\n"
        f"Or use this token with the resetPassword mutation:\nToken: {token}\n\n"
        "If you did not ask for this, ignore this message; your password is unchanged.\n"
    )
    emit(session, Outbox, _mail(meta, to=user.email, subject=subject, body=body, kind=RESET_PASSWORD))


# --- sessions -------------------------------------------------------------------------------------


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


async def _revoke_families(
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


async def _end_redis_sessions(runtime: Runtime, families: list[uuid.UUID]) -> None:
    if families:
        await runtime.redis.delete(*(SESSION_KEY.format(sid=f) for f in families))


# --- registration and sign-in ---------------------------------------------------------------------


async def register(runtime: Runtime, meta: RequestMeta, *, email: str, password: str, full_name: str) -> None:
    """Create an account and mail a verification link. For an address already registered, the answer is
    the same and the owner gets a notice instead — registration never reveals who has an account."""
    email = normalize_email(email)
    full_name = check_full_name(full_name)
    check_password(password, runtime.settings, email=email, full_name=full_name)
    limits = runtime.settings.rate_limits
    await _hit(
        runtime,
        f"register:ip:{meta.client_ip}",
        limits.register_per_ip,
        limits.register_per_ip_window_seconds,
    )
    password_hash = await passwords.hash_password(password, runtime.settings.auth)
    async with runtime.transaction() as session:
        existing = await session.scalar(select(User).where(User.email == email))
        if existing is not None:
            emit(session, Outbox, _event(meta, contract.UserRegisterDuplicate(), user_id=existing.id))
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
                _mail(
                    meta, to=email, subject="You already have an account", body=body, kind="account_exists"
                ),
            )
            return
        user = User(email=email, password_hash=password_hash, full_name=full_name, role=Role.STUDENT.value)
        session.add(user)
        await session.flush()
        await _verification_mail(runtime, session, meta, user)
        emit(session, Outbox, _event(meta, contract.UserRegistered(role=user.role), user_id=user.id))


async def login(runtime: Runtime, meta: RequestMeta, *, email: str, password: str) -> SignIn:
    limits = runtime.settings.rate_limits
    email = email.strip().lower()
    account = hash_token(email)
    await _hit(runtime, f"login:ip:{meta.client_ip}", limits.login_per_ip, limits.login_per_ip_window_seconds)
    # Per account AND source: guessing from elsewhere does not lock the owner out. The slower per-account
    # backstop still holds guessing spread over many addresses.
    await _hit(
        runtime,
        f"login:account:{account}:ip:{meta.client_ip}",
        limits.login_per_account,
        limits.login_per_account_window_seconds,
    )
    await _hit(
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
                _event(meta, contract.LoginFailed(reason=reason), user_id=user.id if user else None),
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
            _event(meta, contract.LoginSucceeded(session_id=str(session_id)), user_id=user.id),
        )
        message = await _account_event(session, user.id, "SIGNED_IN", ip=meta.client_ip)
    await _open_redis_session(runtime, session_id, user.id)
    await _publish(runtime, user.id, message)
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
                    _event(
                        meta, contract.RefreshReused(session_id=str(seen.family_id)), user_id=seen.user_id
                    ),
                )
                messages.append(
                    await _account_event(
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
    await _end_redis_sessions(runtime, revoked)
    if messages:
        await _publish(runtime, user_id, *messages)
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
        await _end_redis_sessions(runtime, [current.family_id])
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
            families = await _revoke_families(runtime, session, user_id)
        else:
            assert meta.principal.session_id is not None
            families = await _revoke_family(session, uuid.UUID(meta.principal.session_id))
        this_session = [uuid.UUID(meta.principal.session_id)] if meta.principal.session_id else []
        families = sorted({*families, *this_session})
        emit(session, Outbox, _event(meta, contract.LoggedOut(sessions=len(families)), user_id=user_id))
        message = await _account_event(session, user_id, "SIGNED_OUT", sessions=len(families))
    await _end_redis_sessions(runtime, families)
    await _publish(runtime, user_id, message)
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


# --- passwords and email --------------------------------------------------------------------------


async def change_password(
    runtime: Runtime, meta: RequestMeta, *, current_password: str, new_password: str
) -> None:
    """Change the password; every other session is signed out."""
    user_id = require_user(meta.principal)
    check_password_length(new_password, runtime.settings, "input.newPassword")
    limits = runtime.settings.rate_limits
    await _hit(
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
        await _invalidate_reset_tokens(session, user_id)
        families = await _revoke_families(runtime, session, user_id, except_family=current_family)
        emit(session, Outbox, _event(meta, contract.UserPasswordChanged(), user_id=user_id))
        body = "Your CourseGraph password was changed. If this was not you, reset your password now.\n"
        emit(
            session,
            Outbox,
            _mail(
                meta, to=user.email, subject="Your password was changed", body=body, kind="password_changed"
            ),
        )
        message = await _account_event(
            session, user_id, "PASSWORD_CHANGED", signed_out_sessions=len(families)
        )
    await _end_redis_sessions(runtime, families)
    await _publish(runtime, user_id, message)


async def request_email_verification(runtime: Runtime, meta: RequestMeta, *, email: str) -> str:
    email = normalize_email(email)
    limits = runtime.settings.rate_limits
    await _hit(
        runtime,
        f"mail:account:{hash_token(email)}",
        limits.password_reset_per_account,
        limits.password_reset_per_account_window_seconds,
    )
    async with runtime.transaction() as session:
        user = await session.scalar(select(User).where(User.email == email))
        if user is not None and user.is_active and not user.email_verified:
            await _verification_mail(runtime, session, meta, user)
    return GENERIC_MAIL_ANSWER


async def verify_email(runtime: Runtime, meta: RequestMeta, *, token: str) -> User:
    async with runtime.transaction() as session:
        user_id = await _consume_one_time_token(session, token, VERIFY_EMAIL)
        user = await session.get_one(User, user_id)
        user.email_verified = True
        emit(session, Outbox, _event(meta, contract.UserEmailVerified(), user_id=user_id))
        message = await _account_event(session, user_id, "EMAIL_VERIFIED")
    await _publish(runtime, user_id, message)
    return user


async def request_password_reset(runtime: Runtime, meta: RequestMeta, *, email: str) -> str:
    """Only records the request: the worker looks the address up and mails (`send_password_reset`), so
    the answer costs the same whether or not the address has an account — no timing oracle."""
    email = normalize_email(email)
    limits = runtime.settings.rate_limits
    await _hit(runtime, f"reset:ip:{meta.client_ip}", limits.login_per_ip, limits.login_per_ip_window_seconds)
    await _hit(
        runtime,
        f"mail:account:{hash_token(email)}",
        limits.password_reset_per_account,
        limits.password_reset_per_account_window_seconds,
    )
    async with runtime.transaction() as session:
        # `sensitive`: the audit log keeps no payload (the address of someone who may have no account).
        emit(session, Outbox, _event(meta, contract.PasswordResetAsked(email=email, sensitive=True)))
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
        await _reset_mail(settings, session, meta, user, "Reset your password")
        emit(session, Outbox, _event(meta, contract.UserPasswordResetRequested(), user_id=user.id))


async def reset_password(runtime: Runtime, meta: RequestMeta, *, token: str, new_password: str) -> None:
    """Set a new password from a mailed token; all sessions end. Proves the address, so it verifies it.

    The token is looked up before any hashing, so a bogus token costs one indexed read, and every call
    (aliases included) counts against the per-IP limit."""
    limits = runtime.settings.rate_limits
    await _hit(
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
            .where(_usable(token, RESET_PASSWORD))
        )
    if user is None:
        raise InvalidToken()
    check_password(
        new_password, runtime.settings, "input.newPassword", email=user.email, full_name=user.full_name
    )
    new_hash = await passwords.hash_password(new_password, runtime.settings.auth)
    async with runtime.transaction() as session:
        user_id = await _consume_one_time_token(session, token, RESET_PASSWORD)  # atomic: one use wins
        user = await session.get_one(User, user_id)
        user.password_hash = new_hash
        user.email_verified = True
        await _invalidate_reset_tokens(session, user_id)
        families = await _revoke_families(runtime, session, user_id)
        emit(session, Outbox, _event(meta, contract.UserPasswordReset(), user_id=user_id))
        message = await _account_event(
            session, user_id, "PASSWORD_CHANGED", signed_out_sessions=len(families)
        )
    await _end_redis_sessions(runtime, families)
    await _publish(runtime, user_id, message)


# --- administration (site admins) -----------------------------------------------------------------


def _require_site_admin(principal: Principal) -> None:
    require_user(principal)
    if not principal.is_site_admin:
        raise Forbidden()


async def create_user(runtime: Runtime, meta: RequestMeta, *, email: str, full_name: str, role: Role) -> User:
    """An admin-created account (exempt from the registration limit); the person sets a password by mail."""
    _require_site_admin(meta.principal)
    email = normalize_email(email)
    full_name = check_full_name(full_name)
    unusable = await passwords.hash_password(secrets.token_urlsafe(32), runtime.settings.auth)
    async with runtime.transaction() as session:
        if await session.scalar(select(User.id).where(User.email == email)):
            raise InvalidInput({"input.email": "An account with this email exists."})
        user = User(email=email, password_hash=unusable, full_name=full_name, role=role.value)
        session.add(user)
        await session.flush()
        await _reset_mail(runtime.settings, session, meta, user, "Your CourseGraph account is ready")
        emit(session, Outbox, _event(meta, contract.UserCreated(role=role.value), user_id=user.id))
    return user


async def _admin_update(
    runtime: Runtime,
    meta: RequestMeta,
    user_id: uuid.UUID,
    contract_type: type[contract.UserRoleChanged | contract.UserDeactivated | contract.UserReactivated],
    kind: str,
    **changes: Any,
) -> User:
    _require_site_admin(meta.principal)
    if user_id == meta.principal.user_id:
        raise Forbidden("Administrators cannot change their own role or deactivate themselves.")
    async with runtime.transaction() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No such user.")
        before = {key: getattr(user, key) for key in changes}
        for key, value in changes.items():
            setattr(user, key, value)
        # Role and status are in the access token: end the sessions so the change applies now.
        families = await _revoke_families(runtime, session, user_id)
        emit(
            session,
            Outbox,
            _event(
                meta,
                contract_type(before=contract.UserFields(**before), after=contract.UserFields(**changes)),
                user_id=user_id,
            ),
        )
        message = await _account_event(session, user_id, kind, **changes)
    await _end_redis_sessions(runtime, families)
    await _publish(runtime, user_id, message)
    return user


async def deactivate_user(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserDeactivated, "DEACTIVATED", is_active=False
    )


async def reactivate_user(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserReactivated, "REACTIVATED", is_active=True
    )


async def change_user_role(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID, role: Role) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserRoleChanged, "ROLE_CHANGED", role=role.value
    )


def _user_filter(stmt: Select, filter: UserFilter) -> Select:
    if filter.role is not None:
        stmt = stmt.where(User.role == filter.role.value)
    if filter.is_active is not None:
        stmt = stmt.where(User.is_active == filter.is_active)
    if filter.search:
        pattern = "%" + filter.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.email.ilike(pattern), User.full_name.ilike(pattern)))
    return stmt


async def list_users(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    filter: UserFilter,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    _require_site_admin(meta.principal)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            _user_filter(select(User), filter),
            (User.created_at, User.id),
            first=first,
            after=after,
            to_node=to_node,
        )


# --- API clients (OAuth2 client credentials) -----------------------------------------------------


# Site admins, or admins of the client's organization (by membership: core.rbac.permitted).
MANAGE_CLIENTS = Permission.MANAGE_ORGANIZATION


async def create_api_client(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID, name: str, scopes: list[str]
) -> tuple[ApiClient, str]:
    """Returns the client and its secret; the secret is shown once and only its hash is kept."""
    creator = require_user(meta.principal)
    await authorize(meta.caller, MANAGE_CLIENTS, organization_id)
    name = check_full_name(name, "input.name")
    unknown = sorted(set(scopes) - GRANTABLE_SCOPES)
    if unknown or not scopes:
        raise InvalidInput(
            {
                "input.scopes": f"Unknown scopes: {', '.join(unknown)}"
                if unknown
                else "Grant at least one scope."
            }
        )
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"cg_{secrets.token_hex(12)}",
        name=name,
        organization_id=organization_id,
        scopes=sorted(set(scopes)),
        secret_hash=hash_token(secret),
        created_by=creator,
    )
    async with runtime.transaction() as session:
        session.add(client)
        await session.flush()
        event = _event(meta, contract.ApiClientCreated(client_id=client.client_id, scopes=client.scopes))
        event.organization_id = str(organization_id)
        emit(session, Outbox, event)
    return client, secret


async def revoke_api_client(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> ApiClient:
    require_user(meta.principal)
    async with runtime.transaction() as session:
        client = await session.get(ApiClient, id, with_for_update=True)
        if client is None or not await permitted(meta.caller, MANAGE_CLIENTS, client.organization_id):
            raise NotFound("No such API client.")
        client.revoked_at = client.revoked_at or utcnow()
        event = _event(meta, contract.ApiClientRevoked(client_id=client.client_id))
        event.organization_id = str(client.organization_id)
        emit(session, Outbox, event)
    # Tokens already issued to the client stop working now, not when they expire.
    await runtime.redis.set(
        REVOKED_CLIENT_KEY.format(client_id=client.client_id),
        1,
        ex=runtime.settings.auth.access_token_ttl_seconds,
    )
    return client


async def list_api_clients(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID
) -> list[ApiClient]:
    require_user(meta.principal)
    await authorize(meta.caller, MANAGE_CLIENTS, organization_id)
    async with runtime.transaction() as session:
        stmt = (
            select(ApiClient)
            .where(ApiClient.organization_id == organization_id)
            .order_by(ApiClient.created_at)
        )
        return list((await session.scalars(stmt)).all())


async def client_credentials_token(
    runtime: Runtime, meta: RequestMeta, *, client_id: str, client_secret: str, scope: str | None
) -> dict[str, Any]:
    """The client-credentials grant: a scoped access token for an integration."""
    limits = runtime.settings.rate_limits
    client_bucket = f"oauth:client:{hash_token(client_id)}"
    # Per client AND source (wrong secrets sent from elsewhere do not lock the real client out), with a
    # slower per-client backstop.
    await _hit(
        runtime,
        f"{client_bucket}:ip:{meta.client_ip}",
        limits.token_endpoint_per_client,
        limits.token_endpoint_per_client_window_seconds,
    )
    await _hit(
        runtime,
        client_bucket,
        limits.token_endpoint_per_client_backstop,
        limits.token_endpoint_per_client_backstop_window_seconds,
    )
    async with runtime.transaction() as session:
        client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if (
            client is None
            or not hmac.compare_digest(client.secret_hash, hash_token(client_secret))
            or client.revoked_at is not None
        ):
            emit(session, Outbox, _event(meta, contract.ApiClientAuthFailed(client_id=client_id)))
            client = None  # not authenticated: answered once the commit has recorded the failure
        else:
            requested = set(scope.split()) if scope else set(client.scopes)
            if not requested <= set(client.scopes):
                raise InvalidScopeError(
                    description="The requested scope exceeds what this client was granted."
                )
            client.last_used_at = utcnow()
            event = _event(meta, contract.ApiClientTokenIssued(client_id=client_id, scopes=sorted(requested)))
            event.organization_id = str(client.organization_id)
            emit(session, Outbox, event)
    if client is None:
        raise InvalidClientError(description="Client authentication failed.", status_code=401)
    token = issue_client_token(
        signing_keys(runtime),
        runtime.settings,
        client_id=client_id,
        organization_id=client.organization_id,
        scopes=sorted(requested),
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": runtime.settings.auth.access_token_ttl_seconds,
        "scope": " ".join(sorted(requested)),
    }

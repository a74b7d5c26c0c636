"""Tables of the users domain, in the `users` pg schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.db import Timestamps, UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin
from subgraphs.core.live import StreamEventMixin

Base = domain_base("users")


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user"

    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(UUIDPrimaryKey, Base):
    """Opaque refresh tokens, stored as SHA-256 hashes. A family is one sign-in (= the session id)."""

    __tablename__ = "refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OneTimeToken(UUIDPrimaryKey, Base):
    """Single-use tokens mailed to users (email verification, password reset), stored hashed."""

    __tablename__ = "one_time_token"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiClient(UUIDPrimaryKey, Timestamps, Base):
    """An OAuth2 client-credentials integration (an LMS), scoped and bound to one organization."""

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # High-entropy random secrets: SHA-256 is the right hash (a slow KDF adds nothing and costs per call).
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    pass


class AccountEvent(StreamEventMixin, Base):
    """Live security events of one account (stream id = user id), for `accountEvents`."""

    __tablename__ = "account_event"


Index("ix_users_user_created_at_id", User.created_at, User.id)

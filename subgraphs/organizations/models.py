"""Tables of the organizations domain, in the `organizations` pg schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.course_owners import CourseOwnerMixin
from subgraphs.core.db import Timestamps, UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin

Base = domain_base("organizations")


class Organization(UUIDPrimaryKey, Timestamps, Base):
    """A tenant: every course, quiz, lab and report belongs to one."""

    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Validated by contracts.OrganizationSettings (lab limits, token budget); others learn it from events.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Membership(UUIDPrimaryKey, Base):
    """A user's role inside one organization (user ids come from the users domain; no cross-schema key)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    role: Mapped[str] = mapped_column(String(32))  # core.rbac.MEMBERSHIP_ROLES values
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Invitation(UUIDPrimaryKey, Base):
    """An emailed, expiring, single-use invitation; only the token's SHA-256 is stored."""

    __tablename__ = "invitation"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Set when a newer invitation to the same address supersedes this one.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Track(UUIDPrimaryKey, Timestamps, Base):
    """An ordered learning path: course ids (of the courses domain) in the order they are taken."""

    __tablename__ = "track"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organization.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    course_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)


class AuditLogEntry(Base):
    """One domain event of any subgraph, as the audit log keeps it. The id IS the event id: a redelivered
    event hits the primary key (INSERT ... ON CONFLICT DO NOTHING) and is recorded once."""

    __tablename__ = "audit_log_entry"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str | None] = mapped_column(String(64))  # a user id or an API client id
    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(120))  # the event type
    subject_ids: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(128))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CourseOwner(CourseOwnerMixin, Base):
    """Course -> owning organization, from `events.courses` (core.course_owners); never the courses tables."""


class Outbox(OutboxMixin, Base):
    pass


Index(
    "ix_organizations_membership_org_joined", Membership.organization_id, Membership.joined_at, Membership.id
)
Index("ix_organizations_track_org_created", Track.organization_id, Track.created_at, Track.id)
Index(
    "ix_organizations_audit_org_occurred",
    AuditLogEntry.organization_id,
    AuditLogEntry.occurred_at,
    AuditLogEntry.id,
)
Index("ix_organizations_audit_occurred", AuditLogEntry.occurred_at, AuditLogEntry.id)
Index("ix_organizations_invitation_org_email", Invitation.organization_id, Invitation.email)

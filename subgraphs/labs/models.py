"""Tables of the labs domain, in the `labs` pg schema.

`lab_session` is the state machine (states.LabStatus) and its own lock: every transition is an UPDATE
guarded by the expected current status, so two workers or a redelivered event never act twice. A partial
unique index allows one live session per (user, exercise) — `startLab` is idempotent under concurrency.
`lab_event` holds each session's live stream (seq per session) for `labSessionEvents`.

The labs domain never reads other domains' tables: `exercise_projection`, `course_projection`,
`enrollment_projection` (from `events.courses`) and `organization_projection` (lab settings, from
`events.organizations`) are its own copies, deduped by event id in `processed_event` and overwritten only
by an event at least as recent (`as_of`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.consumers import ProcessedEventMixin
from subgraphs.core.db import UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin
from subgraphs.core.live import StreamEventMixin

Base = domain_base("labs")

# Statuses in which a session holds (or is about to hold) an environment.
LIVE_STATUSES = ("REQUESTED", "PROVISIONING", "STARTING", "RUNNING", "PAUSED", "STOPPING")


class LabTemplate(UUIDPrimaryKey, Base):
    """How a lab of one IDE is started (one per IDE, seeded by the migration)."""

    __tablename__ = "lab_template"

    ide: Mapped[str] = mapped_column(String(16), unique=True)  # contracts.vocabulary.LabIde
    name: Mapped[str] = mapped_column(String(100))
    image: Mapped[str] = mapped_column(String(200))  # Docker; must be in settings.labs.allowed_images
    # The process runtime's argv ("{python}", "{port}", "{workspace}", "{base_url}" are filled in; NULL:
    # this IDE cannot run as a local process). Docker always runs the image's own command.
    command: Mapped[list[str] | None] = mapped_column(JSONB)
    port: Mapped[int] = mapped_column(Integer)  # the IDE's port inside a container
    # Relative to the IDE's base URL when `serves_base_url`.
    health_path: Mapped[str] = mapped_column(String(200))
    # The IDE is told its public base URL (/labs/<session id>/) and serves under it: the proxy forwards the
    # whole path. False: the proxy strips the prefix (IDEs with relative URLs, e.g. code-server).
    serves_base_url: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    cpus: Mapped[float] = mapped_column(Float)
    memory_mb: Mapped[int] = mapped_column(Integer)
    pids: Mapped[int] = mapped_column(Integer)
    # Organizations that may use it; NULL: every organization.
    allowed_organization_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabSession(UUIDPrimaryKey, Base):
    __tablename__ = "lab_session"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    exercise_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ide: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # states.LabStatus
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # An action the owner asked for that the worker has not carried out yet: PAUSE | RESUME.
    requested_action: Mapped[str | None] = mapped_column(String(16))
    # Why it is pausing/stopping: idle | user | admin | reconciler (the event contract's `reason`).
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    workspace_key: Mapped[str] = mapped_column(String(100))
    image: Mapped[str] = mapped_column(String(200))
    cpus: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    pids: Mapped[int] = mapped_column(Integer)
    serves_base_url: Mapped[bool] = mapped_column(default=False, server_default=text("false"))  # template's
    endpoint_host: Mapped[str | None] = mapped_column(String(255))
    endpoint_port: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first RUNNING
    running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last RUNNING
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # RUNNING time not yet reported in a paused/stopped/failed event (set when leaving RUNNING).
    running_seconds_unreported: Mapped[float] = mapped_column(Float, default=0.0)


class LabEvent(StreamEventMixin, Base):
    """Live progress of a session (stream_id = session id)."""

    __tablename__ = "lab_event"


class ExerciseProjection(Base):
    __tablename__ = "exercise_projection"

    exercise_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ide: Mapped[str] = mapped_column(String(16))
    # [{path, content}] written into a workspace when it is created (a lab's first start), never after.
    starter_files: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    deleted: Mapped[bool] = mapped_column(default=False)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CourseProjection(Base):
    __tablename__ = "course_projection"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))  # DRAFT | PUBLISHED | ARCHIVED | DELETED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EnrollmentProjection(Base):
    __tablename__ = "enrollment_projection"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE | COMPLETED | DROPPED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrganizationProjection(Base):
    """An organization's settings as last announced (only the lab_* keys are used)."""

    __tablename__ = "organization_projection"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class Outbox(OutboxMixin, Base):
    pass


_LIVE = "status IN ('REQUESTED','PROVISIONING','STARTING','RUNNING','PAUSED','STOPPING')"
Index(
    "uq_labs_session_live_user_exercise",
    LabSession.user_id,
    LabSession.exercise_id,
    unique=True,
    postgresql_where=text(_LIVE),
)
Index("ix_labs_session_user_created", LabSession.user_id, LabSession.created_at, LabSession.id)
Index("ix_labs_session_org_created", LabSession.organization_id, LabSession.created_at, LabSession.id)
Index("ix_labs_session_live_status", LabSession.status, postgresql_where=text(_LIVE))

"""Tables of the generator domain, in the `generator` pg schema.

A job row is the unit of work and its own lock: a worker claims it by a state transition (QUEUED →
RUNNING with a lease token and expiry) and completes it only while it still holds that lease, so a job
never completes twice. Progress events are persisted per job (`generation_event`, seq per job) for
resumable subscriptions. Organization, course and user ids come from other domains (no foreign keys).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.course_owners import CourseOwnerMixin
from subgraphs.core.db import UUIDPrimaryKey, domain_base
from subgraphs.core.events import OutboxMixin
from subgraphs.core.leased_jobs import LeasedJobMixin
from subgraphs.core.live import StreamEventMixin

Base = domain_base("generator")


class GenerationJob(UUIDPrimaryKey, LeasedJobMixin, Base):
    __tablename__ = "generation_job"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    module_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The principal's subject: a user id, or an API client's id.
    requested_by: Mapped[str] = mapped_column(String(64), index=True)
    requested_by_kind: Mapped[str] = mapped_column(String(16))  # "user" | "client"
    kind: Mapped[str] = mapped_column(String(16))  # contracts.generation.Kind
    status: Mapped[str] = mapped_column(String(16))  # service.JobStatus
    input: Mapped[dict[str, Any]] = mapped_column(JSONB)
    prompt_version: Mapped[str] = mapped_column(String(32))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(100))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    applied_by: Mapped[str | None] = mapped_column(String(64))


class GenerationEvent(StreamEventMixin, Base):
    """Live progress of a job (stream_id = job id)."""

    __tablename__ = "generation_event"


class OrganizationBudget(Base):
    """The generator's projection of each organization's `generation_daily_token_budget` setting (fed by
    `organizations.organization.created|updated`; null: the platform default). An event older than the row
    (`as_of`) changes nothing."""

    __tablename__ = "organization_budget"

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    daily_token_budget: Mapped[int | None] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CourseOwner(CourseOwnerMixin, Base):
    """Course -> owning organization, from `events.courses` (core.course_owners); never the courses tables."""


class Outbox(OutboxMixin, Base):
    pass


Index(
    "ix_generator_job_org_created", GenerationJob.organization_id, GenerationJob.created_at, GenerationJob.id
)
Index("ix_generator_job_org_finished", GenerationJob.organization_id, GenerationJob.finished_at)
Index(
    "ix_generator_job_running_lease",
    GenerationJob.lease_expires_at,
    postgresql_where=text("status = 'RUNNING'"),
)

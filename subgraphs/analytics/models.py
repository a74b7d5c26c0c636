"""Tables of the analytics domain, in the `analytics` pg schema. All of them are fed by events (consumer.py);
analytics never reads another domain's tables.

- `activity_event`: every ingested event, raw, PARTITIONED BY RANGE (occurred_at), one partition per UTC
  month (`analytics.ensure_activity_partition(ts)`, created by the migration, makes one on demand; the
  consumer calls it once per month per process). The primary key must contain the partition key, so it is
  (id, occurred_at): a redelivered event carries the same id AND the same occurred_at (the envelope is
  relayed verbatim), so `INSERT ... ON CONFLICT DO NOTHING` on that key IS the dedupe, in the very
  transaction that applies the event — no separate processed-event table. (Dropping an old month's
  partition forgets those ids too; events that old are far past the streams' retention.)
- `course`, `learner`: projections — course → organization, instructor, title, status; (course, student)
  → enrollment and the running aggregates the metrics read (last activity, lessons, progress, quiz and
  lab counters, the stored risk level that alerts compare against).
- `learner_day`, `course_day`: per-day rollups for frequency and the report time series.
- `user_activity`: sign-ins (not tied to a course).
- `risk_alert`: persisted alerts, a per-course `seq` (core.live) so `riskAlerts` can resume with `after`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Float, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.db import domain_base, utcnow
from subgraphs.core.events import OutboxMixin
from subgraphs.core.live import StreamEventMixin

Base = domain_base("analytics")


class ActivityEvent(Base):
    __tablename__ = "activity_event"
    __table_args__ = (
        PrimaryKeyConstraint("id", "occurred_at"),
        Index("ix_analytics_activity_event_course", "course_id", "occurred_at"),
        Index("ix_analytics_activity_event_user", "user_id", "occurred_at"),
        Index("ix_analytics_activity_event_org", "organization_id", "occurred_at"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Course(Base):
    __tablename__ = "course"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    instructor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # DRAFT | PUBLISHED | ARCHIVED | DELETED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Learner(Base):
    """One student in one course: the enrollment and every counter the metrics read."""

    __tablename__ = "learner"
    __table_args__ = (
        PrimaryKeyConstraint("course_id", "user_id"),
        Index("ix_analytics_learner_enrollment", "enrollment_id", unique=True),
        Index("ix_analytics_learner_user", "user_id"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    enrollment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")  # ACTIVE | COMPLETED | DROPPED
    status_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    events: Mapped[int] = mapped_column(Integer, default=0)
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    progress_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quiz_attempts: Mapped[int] = mapped_column(Integer, default=0)  # submitted
    quiz_percent_sum: Mapped[float] = mapped_column(Float, default=0.0)
    quizzes_passed: Mapped[int] = mapped_column(Integer, default=0)
    lab_sessions: Mapped[int] = mapped_column(Integer, default=0)  # started
    lab_sessions_ended: Mapped[int] = mapped_column(Integer, default=0)  # stopped + failed
    lab_sessions_failed: Mapped[int] = mapped_column(Integer, default=0)
    lab_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    risk_level: Mapped[str] = mapped_column(String(8), default="LOW")  # as last evaluated by the consumer
    risk_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LearnerDay(Base):
    __tablename__ = "learner_day"
    __table_args__ = (PrimaryKeyConstraint("course_id", "user_id", "day"),)

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    day: Mapped[date] = mapped_column(Date)


class CourseDay(Base):
    __tablename__ = "course_day"
    __table_args__ = (PrimaryKeyConstraint("course_id", "day"),)

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    day: Mapped[date] = mapped_column(Date)
    active_students: Mapped[int] = mapped_column(Integer, default=0)
    lesson_completions: Mapped[int] = mapped_column(Integer, default=0)
    quiz_submissions: Mapped[int] = mapped_column(Integer, default=0)
    lab_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(Integer, default=0)


class UserActivity(Base):
    __tablename__ = "user_activity"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    logins: Mapped[int] = mapped_column(Integer, default=0)


class RiskAlert(StreamEventMixin, Base):
    """stream_id = the course id; data = {user_id, enrollment_id, level, previous_level, indicators}."""

    __tablename__ = "risk_alert"


class Outbox(OutboxMixin, Base):
    pass

"""Tables of the courses domain, in the `courses` pg schema.

User and organization ids come from other domains (no cross-schema foreign keys). Full-text search runs on
`course.search`, a generated `tsvector` of title (weight A) and description (weight B) with a GIN index.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.consumers import ProcessedEventMixin
from subgraphs.core.db import Timestamps, UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin

Base = domain_base("courses")


class CourseStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class Visibility(StrEnum):
    ORGANIZATION = "ORGANIZATION"  # members of the course's organization
    PUBLIC = "PUBLIC"  # every signed-in user


class EnrollmentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    DROPPED = "DROPPED"


SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)


class Course(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "course"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint("enrollment_cap IS NULL OR enrollment_cap > 0", name="enrollment_cap_positive"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    instructor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    difficulty: Mapped[str] = mapped_column(String(16))  # contracts.vocabulary.Difficulty
    estimated_duration_hours: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # CourseStatus
    visibility: Mapped[str] = mapped_column(String(16))  # Visibility
    enrollment_cap: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True))


class Module(UUIDPrimaryKey, Base):
    __tablename__ = "module"

    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    # False: a draft (e.g. applied generated content) that only the course's editors see until published.
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lesson(UUIDPrimaryKey, Base):
    __tablename__ = "lesson"

    module_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("module.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    position: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Exercise(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "exercise"

    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")  # Markdown
    language: Mapped[str] = mapped_column(String(32))
    # [{"path": ..., "content": ...}] for both
    starter_files: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    tests: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    ide: Mapped[str] = mapped_column(String(16))  # contracts.vocabulary.LabIde


class Enrollment(UUIDPrimaryKey, Base):
    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id"),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="progress_range"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))  # EnrollmentStatus
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LessonCompletion(Base):
    """A lesson a student finished (once per enrollment and lesson)."""

    __tablename__ = "lesson_completion"

    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("enrollment.id", ondelete="CASCADE"), primary_key=True
    )
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True
    )
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CourseFeedback(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "course_feedback"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class ProcessedEvent(ProcessedEventMixin, Base):
    """Events of other domains this domain applied (deduped by id in the applying transaction)."""


class AppliedGeneration(Base):
    """A generator result applied to a course: one row per generation job, written with the content it
    created. It makes applying idempotent and answers `GenerationJob.appliedCourse`."""

    __tablename__ = "applied_generation"

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # SYLLABUS | SLIDES | EXERCISES
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Outbox(OutboxMixin, Base):
    pass


Index("ix_courses_course_search", Course.search, postgresql_using="gin")
Index("ix_courses_course_org_created", Course.organization_id, Course.created_at, Course.id)
Index("ix_courses_enrollment_user", Enrollment.user_id, Enrollment.enrolled_at, Enrollment.id)
Index("ix_courses_enrollment_course", Enrollment.course_id, Enrollment.enrolled_at, Enrollment.id)
Index("ix_courses_feedback_course", CourseFeedback.course_id, CourseFeedback.created_at, CourseFeedback.id)

"""Tables of the quizzes domain, in the `quizzes` pg schema.

The quizzes domain never reads the courses tables: `course_projection` and `enrollment_projection` are
its own copies, fed by `projection.CoursesProjectionConsumer` from the `events.courses` stream (deduped by
event id in `processed_event`, in the transaction that applies the event; an older event never overwrites
a newer state).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.consumers import ProcessedEventMixin
from subgraphs.core.db import Timestamps, UUIDPrimaryKey, domain_base, utcnow
from subgraphs.core.events import OutboxMixin

Base = domain_base("quizzes")


class CourseProjection(Base):
    __tablename__ = "course_projection"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    instructor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))  # DRAFT | PUBLISHED | ARCHIVED | DELETED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # occurred_at of the applied event


class EnrollmentProjection(Base):
    __tablename__ = "enrollment_projection"

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE | COMPLETED | DROPPED
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class Quiz(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "quiz"
    __table_args__ = (
        CheckConstraint("attempts_allowed IS NULL OR attempts_allowed > 0", name="attempts_positive"),
        CheckConstraint("time_limit_seconds IS NULL OR time_limit_seconds > 0", name="time_limit_positive"),
        CheckConstraint("passing_score BETWEEN 0 AND 100", name="passing_score_range"),
    )

    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer)
    attempts_allowed: Mapped[int | None] = mapped_column(Integer)
    passing_score: Mapped[int] = mapped_column(Integer, default=60)  # percent
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=False)
    # NEVER | AFTER_LAST_ATTEMPT | AFTER_EACH_ATTEMPT (service.ShowCorrectAnswers)
    show_correct_answers: Mapped[str] = mapped_column(
        String(24), default="AFTER_LAST_ATTEMPT", server_default="AFTER_LAST_ATTEMPT"
    )
    status: Mapped[str] = mapped_column(String(16))  # DRAFT | PUBLISHED


class Question(UUIDPrimaryKey, Base):
    __tablename__ = "question"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)

    quiz_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quiz.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(24))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # SINGLE/MULTIPLE_CHOICE: [option indices]; TRUE_FALSE: [bool]; SHORT_ANSWER: [accepted texts];
    # NUMERIC: [value, tolerance]
    correct: Mapped[list[Any]] = mapped_column(JSONB)
    points: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)


class QuizAttempt(UUIDPrimaryKey, Base):
    __tablename__ = "quiz_attempt"
    __table_args__ = (UniqueConstraint("quiz_id", "user_id", "number"),)

    quiz_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("quiz.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    course_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class AttemptAnswer(Base):
    __tablename__ = "attempt_answer"

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quiz_attempt.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("question.id", ondelete="CASCADE"), primary_key=True
    )
    answer: Mapped[list[Any]] = mapped_column(JSONB)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    points_awarded: Mapped[float | None] = mapped_column(Float)


class AppliedGeneration(Base):
    """A generated quiz draft applied: one row per generation job (applying twice creates nothing twice)."""

    __tablename__ = "applied_generation"

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    quiz_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Outbox(OutboxMixin, Base):
    pass


Index("ix_quizzes_attempt_user", QuizAttempt.user_id, QuizAttempt.started_at, QuizAttempt.id)
Index("ix_quizzes_attempt_quiz", QuizAttempt.quiz_id, QuizAttempt.started_at, QuizAttempt.id)

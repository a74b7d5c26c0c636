"""courses, quizzes, generator: applied generation results, processed events, organization budgets

Revision ID: 5b7c1e2d9a10
Revises: 4a6d59053392
Create Date: 2026-11-24 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7c1e2d9a10"
down_revision: str | None = "4a6d59053392"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_event",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_event")),
        schema="courses",
    )
    op.create_table(
        "applied_generation",
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_applied_generation")),
        schema="courses",
    )
    op.create_index(
        op.f("ix_courses_applied_generation_course_id"),
        "applied_generation",
        ["course_id"],
        unique=False,
        schema="courses",
    )
    op.create_table(
        "applied_generation",
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("quiz_id", sa.UUID(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_applied_generation")),
        schema="quizzes",
    )
    op.create_table(
        "organization_budget",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("daily_token_budget", sa.BigInteger(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organization_budget")),
        schema="generator",
    )


def downgrade() -> None:
    op.drop_table("organization_budget", schema="generator")
    op.drop_table("applied_generation", schema="quizzes")
    op.drop_index(
        op.f("ix_courses_applied_generation_course_id"), table_name="applied_generation", schema="courses"
    )
    op.drop_table("applied_generation", schema="courses")
    op.drop_table("processed_event", schema="courses")

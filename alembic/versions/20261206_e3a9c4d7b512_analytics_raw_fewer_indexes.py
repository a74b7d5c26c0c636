"""analytics: the raw events' course and user indexes dropped (no query reads by them; each cost every insert)

Revision ID: e3a9c4d7b512
Revises: c5d2e8f1a347
Create Date: 2026-12-06 06:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e3a9c4d7b512"
down_revision: str | None = "c5d2e8f1a347"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On the partitioned table: PostgreSQL drops each partition's index with it.
    op.drop_index("ix_analytics_activity_event_user", table_name="activity_event", schema="analytics")
    op.drop_index("ix_analytics_activity_event_course", table_name="activity_event", schema="analytics")


def downgrade() -> None:
    op.create_index(
        "ix_analytics_activity_event_course",
        "activity_event",
        ["course_id", "occurred_at"],
        unique=False,
        schema="analytics",
    )
    op.create_index(
        "ix_analytics_activity_event_user",
        "activity_event",
        ["user_id", "occurred_at"],
        unique=False,
        schema="analytics",
    )

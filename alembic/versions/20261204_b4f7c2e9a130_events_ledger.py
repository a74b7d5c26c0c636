"""events: consumer groups and what they consumed, in PostgreSQL (issue 16: Redis can be lost)

Revision ID: b4f7c2e9a130
Revises: 3f8a2c6e1d90
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4f7c2e9a130"
down_revision: str | None = "3f8a2c6e1d90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('CREATE SCHEMA IF NOT EXISTS "events"')
    op.create_table(
        "consumer_group",
        sa.Column("stream", sa.String(length=120), nullable=False),
        sa.Column("group_name", sa.String(length=120), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", "group_name", name=op.f("pk_consumer_group")),
        schema="events",
    )
    op.create_table(
        "consumed_event",
        sa.Column("group_name", sa.String(length=120), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "event_id", name=op.f("pk_consumed_event")),
        schema="events",
    )
    op.create_index(
        op.f("ix_events_consumed_event_consumed_at"),
        "consumed_event",
        ["consumed_at"],
        unique=False,
        schema="events",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_events_consumed_event_consumed_at"), table_name="consumed_event", schema="events")
    op.drop_table("consumed_event", schema="events")
    op.drop_table("consumer_group", schema="events")
    op.execute('DROP SCHEMA IF EXISTS "events"')

"""courses: draft modules and lessons (`published`); quizzes: `show_correct_answers` per quiz;
generator: its projection of course statuses (archived courses are read-only)

Revision ID: 7d3e9a1c5b20
Revises: 43811bb9a489
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3e9a1c5b20"
down_revision: str | None = "43811bb9a489"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing modules and lessons stay visible: only applied generated content arrives as a draft.
    for table in ("module", "lesson"):
        op.add_column(
            table,
            sa.Column("published", sa.Boolean(), server_default=sa.true(), nullable=False),
            schema="courses",
        )
    op.add_column(
        "quiz",
        sa.Column(
            "show_correct_answers", sa.String(length=24), server_default="AFTER_LAST_ATTEMPT", nullable=False
        ),
        schema="quizzes",
    )


def downgrade() -> None:
    op.drop_column("quiz", "show_correct_answers", schema="quizzes")
    for table in ("lesson", "module"):
        op.drop_column(table, "published", schema="courses")

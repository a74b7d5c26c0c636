"""content: Common Cartridge import jobs

Revision ID: c5d2e8f1a347
Revises: b7e4c2a9d615
Create Date: 2026-12-04 23:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5d2e8f1a347"
down_revision: str | None = "b7e4c2a9d615"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("version_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("quizzes_expected", sa.Integer(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("course_applied", sa.Boolean(), nullable=False),
        sa.Column("quizzes_applied", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
        schema="content",
    )
    op.create_index("ix_content_import_job_course", "import_job", ["course_id"], schema="content")
    op.create_index(
        "ix_content_import_job_running_lease",
        "import_job",
        ["lease_expires_at"],
        schema="content",
        postgresql_where=sa.text("status = 'RUNNING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_content_import_job_running_lease", table_name="import_job", schema="content")
    op.drop_index("ix_content_import_job_course", table_name="import_job", schema="content")
    op.drop_table("import_job", schema="content")

"""content schema

Revision ID: 3f8a2c6e1d90
Revises: 9d3e5a7c1b20
Create Date: 2026-12-04 22:04:51.015473
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f8a2c6e1d90"
down_revision: str | None = "9d3e5a7c1b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_event",
        sa.Column("stream_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", "seq", name=op.f("pk_export_event")),
        schema="content",
    )
    op.create_table(
        "export_job",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=True),
        sa.Column("version_id", sa.UUID(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
        schema="content",
    )
    op.create_index(
        "ix_content_export_job_course_created",
        "export_job",
        ["course_id", "created_at", "id"],
        unique=False,
        schema="content",
    )
    op.create_index(
        "ix_content_export_job_running_lease",
        "export_job",
        ["lease_expires_at"],
        unique=False,
        schema="content",
        postgresql_where=sa.text("status = 'RUNNING'"),
    )
    op.create_table(
        "blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob")),
        schema="content",
    )
    op.create_table(
        "content_item",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("lesson_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("export_format", sa.String(length=32), nullable=True),
        sa.Column("current_version_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_item")),
        schema="content",
    )
    op.create_index(
        "ix_content_item_course",
        "content_item",
        ["course_id", "created_at", "id"],
        unique=False,
        schema="content",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_content_item_lesson",
        "content_item",
        ["lesson_id", "created_at", "id"],
        unique=False,
        schema="content",
        postgresql_where=sa.text("deleted_at IS NULL AND lesson_id IS NOT NULL"),
    )
    op.create_index(
        "ix_content_item_org", "content_item", ["organization_id"], unique=False, schema="content"
    )
    op.create_table(
        "course_owner",
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_course_owner")),
        schema="content",
    )
    op.create_index(
        op.f("ix_content_course_owner_organization_id"),
        "course_owner",
        ["organization_id"],
        unique=False,
        schema="content",
    )
    op.create_table(
        "lesson_owner",
        sa.Column("lesson_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lesson_id", name=op.f("pk_lesson_owner")),
        schema="content",
    )
    op.create_table(
        "organization_quota",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organization_quota")),
        schema="content",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("position", name=op.f("uq_outbox_position")),
        schema="content",
    )
    op.create_index(
        "ix_content_outbox_unpublished",
        "outbox",
        ["position"],
        unique=False,
        schema="content",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "upload",
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("lesson_id", sa.UUID(), nullable=True),
        sa.Column("item_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_size", sa.BigInteger(), nullable=True),
        sa.Column("received_sha256", sa.String(length=64), nullable=True),
        sa.Column("staged_key", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
        schema="content",
    )
    op.create_table(
        "content_version",
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime_type", sa.String(length=127), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["content.content_item.id"],
            name=op.f("fk_content_version_item_id_content_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
        schema="content",
    )
    op.create_index(
        "ix_content_version_sha256", "content_version", ["sha256"], unique=False, schema="content"
    )
    op.create_index(
        "uq_content_version_item_number",
        "content_version",
        ["item_id", "number"],
        unique=True,
        schema="content",
    )


def downgrade() -> None:
    op.drop_index("uq_content_version_item_number", table_name="content_version", schema="content")
    op.drop_index("ix_content_version_sha256", table_name="content_version", schema="content")
    op.drop_table("content_version", schema="content")
    op.drop_table("upload", schema="content")
    op.drop_index(
        "ix_content_outbox_unpublished",
        table_name="outbox",
        schema="content",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="content")
    op.drop_table("organization_quota", schema="content")
    op.drop_table("lesson_owner", schema="content")
    op.drop_index(
        op.f("ix_content_course_owner_organization_id"), table_name="course_owner", schema="content"
    )
    op.drop_table("course_owner", schema="content")
    op.drop_index("ix_content_item_org", table_name="content_item", schema="content")
    op.drop_index(
        "ix_content_item_lesson",
        table_name="content_item",
        schema="content",
        postgresql_where=sa.text("deleted_at IS NULL AND lesson_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_content_item_course",
        table_name="content_item",
        schema="content",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("content_item", schema="content")
    op.drop_table("blob", schema="content")
    op.drop_index(
        "ix_content_export_job_running_lease",
        table_name="export_job",
        schema="content",
        postgresql_where=sa.text("status = 'RUNNING'"),
    )
    op.drop_index("ix_content_export_job_course_created", table_name="export_job", schema="content")
    op.drop_table("export_job", schema="content")
    op.drop_table("export_event", schema="content")

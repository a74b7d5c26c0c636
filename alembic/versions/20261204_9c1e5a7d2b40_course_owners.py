"""generator, organizations: course_owner projections (issue 13 item 13)

Revision ID: 9c1e5a7d2b40
Revises: 43811bb9a489
Create Date: 2026-12-04 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c1e5a7d2b40"
down_revision: str | None = "7d3e9a1c5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("generator", "organizations")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.create_table(
            "course_owner",
            sa.Column("course_id", sa.UUID(), nullable=False),
            sa.Column("organization_id", sa.UUID(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("course_id", name=op.f("pk_course_owner")),
            schema=schema,
        )
        op.create_index(
            op.f(f"ix_{schema}_course_owner_organization_id"),
            "course_owner",
            ["organization_id"],
            unique=False,
            schema=schema,
        )


def downgrade() -> None:
    for schema in SCHEMAS:
        op.drop_index(
            op.f(f"ix_{schema}_course_owner_organization_id"), table_name="course_owner", schema=schema
        )
        op.drop_table("course_owner", schema=schema)

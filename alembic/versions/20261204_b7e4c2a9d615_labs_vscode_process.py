"""labs: VS Code on the process runtime (code-server installed by `make vscode`, infra/lab-images/vscode)

The VSCODE template gets a process command: code-server on the lab's port, no auth of its own (the proxy
authenticates), its settings and extensions under the workspace's `.local` (HOME of a process lab). It is
offered only where `code-server` is installed (`labTemplates` asks the runtime). code-server uses relative
URLs, so it keeps a stripped prefix (serves_base_url false) and answers `/healthz`.

Revision ID: b7e4c2a9d615
Revises: b4f7c2e9a130
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e4c2a9d615"
down_revision: str | None = "b4f7c2e9a130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VSCODE = [
    "code-server",
    "--bind-addr=127.0.0.1:{port}",
    "--auth=none",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    # Its /proxy/<port> routes would reach ports beside it: a sandboxed lab has none, an unsandboxed one
    # would reach the host's.
    "--disable-proxy",
    "--user-data-dir={workspace}/.local/share/code-server",
    "{workspace}",
]

templates = sa.table(
    "lab_template",
    sa.column("ide", sa.String()),
    sa.column("command", postgresql.JSONB()),
    schema="labs",
)


def upgrade() -> None:
    op.execute(templates.update().where(templates.c.ide == "VSCODE").values(command=VSCODE))


def downgrade() -> None:
    op.execute(templates.update().where(templates.c.ide == "VSCODE").values(command=None))

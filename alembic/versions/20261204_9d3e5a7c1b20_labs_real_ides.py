"""labs: real IDEs on the process runtime, served under their public base URL; exercises' starter files

The process runtime's templates run JupyterLab and a web terminal (Jupyter Notebook's terminal page)
instead of the stand-in IDE; VS Code's command is NULL (its template is offered only where the runtime has
code-server or its image). `serves_base_url`: the IDE is told its public base URL `/labs/<session id>/`
and served under it, so the proxy forwards the whole path (JupyterHub's single-user servers do the same).

Revision ID: 9d3e5a7c1b20
Revises: 43811bb9a489
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9d3e5a7c1b20"
down_revision: str | None = "9c1e5a7d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JUPYTER_SERVER = [
    "--no-browser",
    "--allow-root",
    "--ip=127.0.0.1",
    "--port={port}",
    "--ServerApp.base_url={base_url}",
    "--ServerApp.root_dir={workspace}",
    # The proxy authenticates every request (only the lab's owner passes); the IDE itself asks nothing.
    "--IdentityProvider.token=",
    "--ServerApp.password=",
    # Browsers show the lab's public origin (the proxy's), not the IDE's own address, in Origin/Referer.
    "--ServerApp.allow_origin={origin}",
]
COMMANDS = {
    "JUPYTER": ["{python}", "-m", "jupyterlab", *_JUPYTER_SERVER, "--LabApp.extension_manager=readonly"],
    "TERMINAL": [
        "{python}",
        "-m",
        "notebook",
        *_JUPYTER_SERVER,
        "--JupyterNotebookApp.default_url=/terminals/main",
    ],
    "VSCODE": None,
}


def upgrade() -> None:
    for table in ("lab_template", "lab_session"):
        op.add_column(
            table,
            sa.Column("serves_base_url", sa.Boolean(), server_default=sa.false(), nullable=False),
            schema="labs",
        )
    op.add_column(
        "exercise_projection",
        sa.Column(
            "starter_files",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="labs",
    )
    templates = sa.table(
        "lab_template",
        sa.column("ide", sa.String()),
        sa.column("command", postgresql.JSONB()),
        sa.column("health_path", sa.String()),
        sa.column("serves_base_url", sa.Boolean()),
        schema="labs",
    )
    for ide, command in COMMANDS.items():
        jupyter = command is not None
        op.execute(
            templates.update()
            .where(templates.c.ide == ide)
            .values(
                command=command,
                # Jupyter's is relative to its base URL; code-server answers /healthz.
                health_path="/api/status" if jupyter else "/healthz",
                # code-server uses relative URLs: it works under a prefix the proxy strips.
                serves_base_url=jupyter,
            )
        )


def downgrade() -> None:
    op.drop_column("exercise_projection", "starter_files", schema="labs")
    for table in ("lab_session", "lab_template"):
        op.drop_column(table, "serves_base_url", schema="labs")
    op.execute("UPDATE labs.lab_template SET command = NULL, health_path = '/health'")

"""Alembic migrations (alembic/), applied by `coursegraph migrate`, `coursegraph dev` and the tests."""

from __future__ import annotations

from subgraphs.tooling.paths import ROOT


def migrate_database(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    if database_url:  # another database than the settings' (alembic/env.py); the settings stay as they are
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")

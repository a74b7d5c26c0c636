"""Alembic runs on the platform's async engine against every domain's metadata."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from subgraphs.core.db import ALL_METADATA, create_engine
from subgraphs.core.domains import import_models
from subgraphs.core.settings import get_settings, normalize_database_url

import_models()
SCHEMAS = sorted({m.schema for m in ALL_METADATA if m.schema})


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=ALL_METADATA,
        include_schemas=True,
        include_name=lambda name, type_, _parent: type_ != "schema" or name in SCHEMAS,
        version_table_schema="public",
        compare_type=True,
    )


def _run(connection: Connection) -> None:
    for schema in SCHEMAS:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    settings = get_settings()
    if url := context.config.attributes.get("database_url"):  # migrate_database(url)
        settings = settings.model_copy(deep=True)
        settings.database.url = normalize_database_url(url)
    engine = create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `coursegraph migrate`")
asyncio.run(_main())

"""Database kernel: one async engine per process, one pg schema per domain.

Each domain declares `Base = domain_base("users")`; its tables land in that pg schema. Domains never
reference each other's tables (no cross-schema foreign keys): data crosses domains as events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subgraphs.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every domain's metadata registers here so Alembic sees one history for the whole platform.
ALL_METADATA: list[MetaData] = []


def domain_base(schema: str) -> type[DeclarativeBase]:
    metadata = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)
    ALL_METADATA.append(metadata)
    return type(f"{schema.title()}Base", (DeclarativeBase,), {"metadata": metadata, "__abstract__": True})


def utcnow() -> datetime:
    return datetime.now(UTC)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def create_engine(settings: Settings) -> AsyncEngine:
    db = settings.database
    return create_async_engine(
        db.url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_pre_ping=True,
        echo=db.echo,
        connect_args={
            "server_settings": {
                "statement_timeout": str(db.statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(db.idle_in_transaction_timeout_ms),
                "application_name": "coursegraph",
            }
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together (domain change + outbox row) or not at all."""
    async with sessionmaker() as session, session.begin():
        yield session

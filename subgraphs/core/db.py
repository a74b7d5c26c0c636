"""Database kernel: one async engine per process, one pg schema per domain.

Each domain declares `Base = domain_base("users")`; its tables land in that pg schema. Domains never
reference each other's tables (no cross-schema foreign keys): data crosses domains as events.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import DateTime, MetaData, Select, Table, Text, bindparam, cast, event, exc, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

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


@cache
def reads_as_row(model: type) -> bool:
    """Whether a Core row of the model's table reads exactly like the model, so loaders can return rows
    instead of ORM instances (no instance state, identity map or attribute instrumentation to build):
    its attribute names are its column names, and it has no relationships, methods or properties (e.g.
    `StreamEventMixin.as_message`)."""
    mapper = sa_inspect(model)
    if mapper.relationships or any(a.key != a.columns[0].key for a in mapper.column_attrs):
        return False
    mapped = set(mapper.all_orm_descriptors.keys())
    for cls in model.__mro__:
        if cls is object or cls.__module__.startswith("sqlalchemy"):
            continue
        for name, value in vars(cls).items():
            if name.startswith("_") or name in mapped:
                continue
            if callable(value) or isinstance(value, property | classmethod | staticmethod):
                return False
    return True


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
    """The process's engine. The pool keeps `pool_size` connections open and opens no overflow ones by
    default (an overflow connection is closed on return: under load that is a new connection, TLS and
    authentication included, every few requests); callers beyond the pool wait for a connection.
    A connection is checked before use only when it sat idle in the pool longer than `ping_after_idle_seconds`
    (a database restart or an idle timeout ends connections while they wait; one in use a moment ago is
    alive): a ping per checkout cost a round trip per short transaction."""
    db = settings.database
    engine = create_async_engine(
        db.url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_pre_ping=False,  # see ping_when_idle
        echo=db.echo,
        connect_args={
            "server_settings": {
                "statement_timeout": str(db.statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(db.idle_in_transaction_timeout_ms),
                "application_name": "coursegraph",
            }
        },
    )
    ping_when_idle(engine, db.ping_after_idle_seconds)
    return engine


CHECKED_IN_AT = "coursegraph_checked_in_at"


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Pre-ping, only for connections idle longer than `idle_seconds`. A dead one raises
    DisconnectionError, upon which the pool discards it and checks out another (a fresh connection)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        record.info[CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: object, record: ConnectionPoolEntry, proxy: object) -> None:
        checked_in = record.info.get(CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in <= idle_seconds:
            return  # new, or used a moment ago
        try:
            dbapi_connection.ping()  # type: ignore[attr-defined]  # the asyncpg adapter's ping; DBAPI has none
        except Exception as error:
            raise exc.DisconnectionError(f"connection lost while idle: {error}") from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads only (DataLoaders): autocommit, so a loader's one statement is one round trip
    instead of BEGIN + statement + COMMIT. Each statement still sees one consistent snapshot; two
    statements of one read session do not (use a transaction where that matters)."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False, autoflush=False
    )


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together (domain change + outbox row) or not at all."""
    async with sessionmaker() as session, session.begin():
        yield session


def from_arrays(table: Table, columns: Sequence[str]) -> Select:
    """`SELECT unnest(:col1), unnest(:col2), ...`: rows passed as one array per column (`arrays(rows,
    columns)`), for `insert(table).from_select(columns, ...)` of a batch. Whatever the batch's size it is
    one statement text, prepared once per connection, its arrays encoded by asyncpg in C; a multi-row
    VALUES is a new statement per size and SQLAlchemy processes every value in Python. A JSONB column
    travels as text (the rows hold JSON text) and is cast in the database."""
    selected = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, JSONB):
            selected.append(cast(func.unnest(bindparam(name, type_=ARRAY(Text))), JSONB).label(name))
        else:
            selected.append(func.unnest(bindparam(name, type_=ARRAY(column_type))).label(name))
    return select(*selected)


def arrays(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """The parameters of `from_arrays`: one list per column."""
    out: dict[str, list[Any]] = {name: [] for name in columns}
    for row in rows:
        for name in columns:
            out[name].append(row[name])
    return out

"""The engine's pool: reads without BEGIN/COMMIT, and a connection that died while idle is replaced."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from subgraphs.core.db import create_engine, create_read_sessionmaker, create_sessionmaker
from subgraphs.core.settings import Settings
from tests.waiting import eventually


def _engine(settings: Settings, *, idle_seconds: float):
    tuned = settings.model_copy(deep=True)
    tuned.database.pool_size = 1
    tuned.database.ping_after_idle_seconds = idle_seconds
    return create_engine(tuned)


async def test_reads_run_each_statement_on_its_own(settings: Settings) -> None:
    engine = _engine(settings, idle_seconds=5)
    try:
        xid = text("SELECT txid_current()")
        async with create_read_sessionmaker(engine)() as session:
            first, second = await session.scalar(xid), await session.scalar(xid)
            assert first != second  # autocommit: every statement is its own transaction
        async with create_sessionmaker(engine)() as session, session.begin():
            first, second = await session.scalar(xid), await session.scalar(xid)
            assert first == second
    finally:
        await engine.dispose()


async def test_a_connection_that_died_while_idle_is_replaced(settings: Settings) -> None:
    engine = _engine(settings, idle_seconds=0)  # every reuse after any idle time is checked
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            first = await session.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(settings, first)
        async with sessions() as session, session.begin():
            second = await session.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(settings: Settings) -> None:
    """The trade-off, shown: no round trip before reusing a connection that was fine a moment ago, so a
    connection killed in that moment fails its next statement (and is then discarded) instead."""
    engine = _engine(settings, idle_seconds=60)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            first = await session.scalar(text("SELECT pg_backend_pid()"))
        await _terminate(settings, first)
        with pytest.raises(DBAPIError):
            async with sessions() as session, session.begin():
                await session.scalar(text("SELECT 1"))
        async with sessions() as session, session.begin():  # the dead connection was discarded
            assert await session.scalar(text("SELECT pg_backend_pid()")) != first
    finally:
        await engine.dispose()


async def _terminate(settings: Settings, pid: int) -> None:
    admin = await asyncpg.connect(settings.database.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def gone() -> bool:
            return not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)

        await eventually(gone, what=f"backend {pid} gone")
    finally:
        await admin.close()

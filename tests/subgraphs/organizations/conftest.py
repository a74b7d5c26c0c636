"""Fixtures of the organizations subgraph: its ASGI app (tokens verified with the signing keys file, as the
users subgraph signs them), a GraphQL client, statement counting on ITS engine, and a set of principals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, QueryCounter
from tests.subgraphs.organizations.factories import Minter


@pytest.fixture(scope="session")
async def organizations_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    from subgraphs.organizations.app import create_app
    from subgraphs.users.keys import SigningKeys

    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def org_runtime(organizations_app: Any) -> Any:
    return organizations_app.state.runtime


@pytest.fixture
async def org_http(organizations_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=organizations_app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://organizations.test") as client:
        yield client


@pytest.fixture
def org_gql(org_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(org_http)


@pytest.fixture(scope="session")
def minter(settings: Settings, organizations_app: Any) -> Minter:
    return Minter(settings, organizations_app.state.runtime)


@pytest.fixture
def org_count_queries(org_runtime: Any) -> Any:
    """Counts the SQL statements the organizations app executes."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(org_runtime.engine.sync_engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(org_runtime.engine.sync_engine, "before_cursor_execute", counter)

    return counting

"""Fixtures of the organizations subgraph: its ASGI app (tokens verified with the signing keys file, as the
users subgraph signs them), a GraphQL client, statement counting on ITS engine, and a set of principals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.subgraphs.organizations.factories import Minter


@pytest.fixture(scope="session")
async def organizations_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("organizations", settings) as app:
        yield app


@pytest.fixture(scope="session")
def org_runtime(organizations_app: Any) -> Any:
    return organizations_app.state.runtime


@pytest.fixture
async def org_http(organizations_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(organizations_app, "organizations") as client:
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
    return statement_counter(org_runtime)

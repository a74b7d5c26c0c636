"""Fixtures of the courses subgraph: its ASGI app (tokens verified with the signing keys file), a GraphQL
client, statement counting on ITS engine, and principals/organizations made through the organizations
domain (tests/subgraphs/organizations/factories.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.subgraphs.courses.factories import CourseFactory
from tests.subgraphs.generator.conftest import gen_runtime, generator_app, worker_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
async def courses_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("courses", settings) as app:
        yield app


@pytest.fixture(scope="session")
def courses_runtime(courses_app: Any) -> Any:
    return courses_app.state.runtime


@pytest.fixture
async def courses_http(courses_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(courses_app, "courses") as client:
        yield client


@pytest.fixture
def courses_gql(courses_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(courses_http)


@pytest.fixture
def courses(courses_runtime: Any, minter: Any) -> CourseFactory:  # noqa: F811
    return CourseFactory(courses_runtime, minter)


@pytest.fixture
def courses_count_queries(courses_runtime: Any) -> Any:
    """Counts the SQL statements the courses app executes."""
    return statement_counter(courses_runtime)


@pytest.fixture
def generation(gen_runtime: Any, worker_runtime: Any) -> Any:  # noqa: F811
    """Real generator jobs applied through the generator service (tests/subgraphs/courses/generation.py)."""
    from tests.subgraphs.courses.generation import Generation

    return Generation(gen_runtime, worker_runtime)

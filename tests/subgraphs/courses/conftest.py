"""Fixtures of the courses subgraph: its ASGI app (tokens verified with the signing keys file), a GraphQL
client, statement counting on ITS engine, and principals/organizations made through the organizations
domain (tests/subgraphs/organizations/factories.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, QueryCounter
from tests.subgraphs.courses.factories import CourseFactory
from tests.subgraphs.generator.conftest import gen_runtime, generator_app, worker_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
async def courses_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    from subgraphs.courses.app import create_app
    from subgraphs.users.keys import SigningKeys

    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def courses_runtime(courses_app: Any) -> Any:
    return courses_app.state.runtime


@pytest.fixture
async def courses_http(courses_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=courses_app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="http://courses.test") as client:
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

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(courses_runtime.engine.sync_engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(courses_runtime.engine.sync_engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def generation(gen_runtime: Any, worker_runtime: Any) -> Any:  # noqa: F811
    """Real generator jobs applied through the generator service (tests/subgraphs/courses/generation.py)."""
    from tests.subgraphs.courses.generation import Generation

    return Generation(gen_runtime, worker_runtime)

"""Fixtures of the generator subgraph: its ASGI app, a GraphQL client, statement counting on its engine,
an organization with members of every role (tests/subgraphs/organizations/factories.py), the fake
Anthropic server, and an in-process worker runtime."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from subgraphs.core.context import WorkerRuntime
from subgraphs.core.live import LiveHub
from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.contracts.conftest import anthropic_server, anthropic_server_session  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.organizations.factories import Caller, Minter


@pytest.fixture(scope="session")
async def generator_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("generator", settings) as app:
        yield app


@pytest.fixture(scope="session")
def gen_runtime(generator_app: Any) -> Any:
    return generator_app.state.runtime


@pytest.fixture
async def gen_http(generator_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(generator_app, "generator") as client:
        yield client


@pytest.fixture
def gen_gql(gen_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(gen_http)


@pytest.fixture
def gen_count_queries(gen_runtime: Any) -> Any:
    return statement_counter(gen_runtime)


@dataclass
class School:
    org: str
    admin: Caller
    instructor: Caller
    instructor2: Caller
    student: Caller
    outsider: Caller  # admin of another organization
    site_admin: Caller


@pytest.fixture
async def school(minter: Minter) -> School:  # noqa: F811
    admin = await minter.user("student")
    org = await minter.organization(admin, name="Generation School")
    other_admin = await minter.user("student")
    await minter.organization(other_admin, name="Other School")
    return School(
        org=org,
        admin=admin,
        instructor=await minter.member(org, "instructor"),
        instructor2=await minter.member(org, "instructor"),
        student=await minter.member(org, "student", platform_role="instructor"),
        outsider=other_admin,
        site_admin=await minter.user("site_admin"),
    )


@pytest.fixture
def worker_runtime(gen_runtime: Any, settings: Settings) -> Any:
    """A worker-side runtime (what `coursegraph worker` builds), with generator settings overridable."""

    def make(**generator: Any) -> WorkerRuntime:
        tuned = settings.model_copy(update={"generator": settings.generator.model_copy(update=generator)})
        return WorkerRuntime(tuned, gen_runtime.sessionmaker, gen_runtime.redis, LiveHub(gen_runtime.redis))

    return make


@pytest.fixture
def title() -> str:
    """A course title no other test uses (results are cached by normalized input)."""
    return f"Course {uuid.uuid4().hex[:8]}"

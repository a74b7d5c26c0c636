"""Fixtures of the content subgraph: its ASGI app, a GraphQL client, statement counting on its engine, an
organization with members of every role, and helpers that feed its projections as the worker would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.organizations.factories import Caller, Minter


@pytest.fixture(scope="session")
async def content_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("content", settings) as app:
        yield app


@pytest.fixture(scope="session")
def content_runtime(content_app: Any) -> Any:
    return content_app.state.runtime


@pytest.fixture
async def content_http(content_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(content_app, "content") as client:
        yield client


@pytest.fixture
def content_gql(content_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(content_http)


@pytest.fixture
def content_count_queries(content_runtime: Any) -> Any:
    return statement_counter(content_runtime)


@dataclass
class School:
    org: str
    admin: Caller
    instructor: Caller
    student: Caller
    outsider: Caller  # admin of another organization
    outsider_org: str
    site_admin: Caller
    course: str  # a PUBLISHED course of `org`
    lesson: str  # a lesson of `course`
    draft_course: str


@pytest.fixture
async def school(minter: Minter, content_runtime: Any) -> School:  # noqa: F811
    from tests.subgraphs.content.helpers import announce_course, announce_lesson

    admin = await minter.user("student")
    org = await minter.organization(admin, name="Content School")
    other_admin = await minter.user("student")
    other_org = await minter.organization(other_admin, name="Other School")
    course = await announce_course(content_runtime, org, status="PUBLISHED")
    return School(
        org=org,
        admin=admin,
        instructor=await minter.member(org, "instructor"),
        student=await minter.member(org, "student"),
        outsider=other_admin,
        outsider_org=other_org,
        site_admin=await minter.user("site_admin"),
        course=course,
        lesson=await announce_lesson(content_runtime, course, str(uuid.uuid4())),
        draft_course=await announce_course(content_runtime, org, status="DRAFT"),
    )

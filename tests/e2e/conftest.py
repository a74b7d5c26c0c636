"""The end-to-end tests' platform (tests/platform.py), shared by the package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.fakes.anthropic_server import FakeAnthropic
from tests.platform import Platform, running_platform


# Package scope: the platform (its worker included) stops when the e2e tests are done, so its worker never
# races in-process tests of later packages for the same jobs and events.
@pytest.fixture(scope="package")
async def platform(database: None, fake_anthropic: FakeAnthropic) -> AsyncIterator[Platform]:
    async with running_platform(fake_anthropic.url) as started:
        yield started


@pytest.fixture
async def router_http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with platform.client() as client:
        yield client


@pytest.fixture
def router_gql(router_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(router_http)

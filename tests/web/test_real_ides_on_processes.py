"""The real-IDE tests through the router (tests/e2e/test_real_ides_through_router.py) on the platform as
`make run` starts it where no lab image is built: labs as sandboxed local processes (the web app's
platform, `demo_labs`). The e2e package runs the same tests on Docker where an engine answers, so both
runtimes are exercised through the router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import GraphQLClient, running_subgraph
from tests.e2e.test_real_ides_through_router import (  # noqa: F401 - collected here, on this platform
    test_a_terminal_through_the_router,
    test_jupyterlab_through_the_router,
)
from tests.platform import OwnServices, Platform
from tests.subgraphs.courses.conftest import courses  # noqa: F401 - fixtures
from tests.subgraphs.organizations.factories import Minter


# The tests' courses and organizations are made in-process on the web platform's own database and Redis.
@pytest.fixture(scope="module")
async def organizations_app(web_services: OwnServices) -> AsyncIterator[Any]:
    async with running_subgraph("organizations", web_services.settings) as app:
        yield app


@pytest.fixture(scope="module")
async def courses_app(web_services: OwnServices) -> AsyncIterator[Any]:
    async with running_subgraph("courses", web_services.settings) as app:
        yield app


@pytest.fixture(scope="module")
def courses_runtime(courses_app: Any) -> Any:
    return courses_app.state.runtime


@pytest.fixture(scope="module")
def minter(web_services: OwnServices, organizations_app: Any) -> Minter:
    return Minter(web_services.settings, organizations_app.state.runtime)


@pytest.fixture
def platform(web_platform: Platform) -> Platform:
    return web_platform


@pytest.fixture
async def router_gql(web_platform: Platform) -> AsyncIterator[GraphQLClient]:
    async with web_platform.client() as client:
        yield GraphQLClient(client)


@pytest.fixture
def real_images() -> None:
    """Local processes run JupyterLab from the project's own environment: no image needed."""

"""Fixtures of the analytics subgraph: its ASGI app, a GraphQL client, statement counting on its engine, and
`Pipeline`, which moves committed events of every domain into analytics (relay + the analytics consumer,
in-process) until the expected state is there. Labs events are published to `events.labs` with the relay's
own serialization (core.events.stream_fields): the labs domain is not on this branch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from subgraphs.core.events import Event, stream_fields, stream_name
from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.quizzes.conftest import projector, quizzes_app, quizzes_runtime  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
async def analytics_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("analytics", settings) as app:
        yield app


@pytest.fixture(scope="session")
def analytics_runtime(analytics_app: Any) -> Any:
    return analytics_app.state.runtime


@pytest.fixture
async def analytics_http(analytics_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(analytics_app, "analytics") as client:
        yield client


@pytest.fixture
def analytics_gql(analytics_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(analytics_http)


@pytest.fixture
def analytics_count_queries(analytics_runtime: Any) -> Any:
    return statement_counter(analytics_runtime)


class Pipeline:
    """Relays every outbox and runs the analytics consumer in-process. Another consumer of the same group
    (the e2e worker) may take some messages first; `until` therefore waits for the STATE."""

    def __init__(self, runtime: Any) -> None:
        from subgraphs.analytics.ingest import AnalyticsConsumer
        from subgraphs.core.domains import outboxes
        from subgraphs.core.events import OutboxRelay

        self.runtime = runtime
        self.relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
        self.consumer = AnalyticsConsumer(runtime.redis, runtime.sessionmaker, name="tests", block_ms=10)

    async def run(self) -> None:
        await self.consumer.ensure_groups()
        while await self.relay.relay_once():
            pass
        while await self.consumer.consume_once(block_ms=10):
            pass

    async def until(self, check: Callable[[Any], Any], timeout: float = 20) -> Any:
        """Deliver until `check(session)` (async) returns something truthy; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            await self.run()
            async with self.runtime.transaction() as session:
                found = await check(session)
            if found:
                return found
            assert time.monotonic() < deadline, "analytics did not reach the expected state"

    async def publish_lab_event(self, event: Event) -> None:
        """What the labs domain's relay will do: one entry on events.labs, serialized by the relay's code."""
        await self.runtime.redis.xadd(stream_name("labs"), stream_fields(event))


@pytest.fixture
def pipeline(analytics_runtime: Any) -> Pipeline:
    return Pipeline(analytics_runtime)

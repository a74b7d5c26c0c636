"""Fixtures of the quizzes subgraph: its ASGI app, a GraphQL client, statement counting on its engine, and
`sync`, which moves committed courses events into the quizzes projections (relay + the projection
consumer, in-process) until the expected state is there."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from subgraphs.core.settings import Settings
from tests.conftest import GraphQLClient, asgi_client, running_subgraph, statement_counter
from tests.subgraphs.courses.conftest import (  # noqa: F401 - fixtures
    courses,
    courses_app,
    courses_runtime,
    gen_runtime,
    generation,
    generator_app,
    worker_runtime,
)
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
async def quizzes_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    async with running_subgraph("quizzes", settings) as app:
        yield app


@pytest.fixture(scope="session")
def quizzes_runtime(quizzes_app: Any) -> Any:
    return quizzes_app.state.runtime


@pytest.fixture
async def quizzes_gql(quizzes_app: Any) -> AsyncIterator[GraphQLClient]:
    async with asgi_client(quizzes_app, "quizzes") as client:
        yield GraphQLClient(client)


@pytest.fixture
def quizzes_count_queries(quizzes_runtime: Any) -> Any:
    return statement_counter(quizzes_runtime)


class Projector:
    """Relays outbox events and runs the quizzes projection consumer in-process. Another consumer of the
    same group (the e2e worker) may take some messages first; `sync` therefore waits for the STATE."""

    def __init__(self, runtime: Any) -> None:
        from subgraphs.core.domains import outboxes
        from subgraphs.core.events import OutboxRelay
        from subgraphs.quizzes.projection import CoursesProjectionConsumer

        self.runtime = runtime
        self.relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
        self.consumer = CoursesProjectionConsumer(
            runtime.redis, runtime.sessionmaker, name="tests", block_ms=10
        )

    async def sync(
        self,
        *,
        courses: dict[Any, str] | None = None,  # noqa: F811
        enrollments: dict[tuple[Any, Any], str] | None = None,
    ) -> None:
        """Until every course id has its status and every (course id, user id) its enrollment status."""
        from subgraphs.quizzes.models import CourseProjection, EnrollmentProjection

        await self.consumer.ensure_groups()
        # The streams hold every event the run emitted before this test: catching up can take a while.
        deadline = time.monotonic() + 60
        while True:
            while await self.relay.relay_once():
                pass
            await self.consumer.consume_once(block_ms=10)
            async with self.runtime.transaction() as session:
                ok = True
                for course_id, status in (courses or {}).items():
                    row = await session.get(CourseProjection, uuid.UUID(str(course_id)))
                    ok = ok and row is not None and row.status == status
                for (course_id, user_id), status in (enrollments or {}).items():
                    row = await session.get(
                        EnrollmentProjection, (uuid.UUID(str(course_id)), uuid.UUID(str(user_id)))
                    )
                    ok = ok and row is not None and row.status == status
            if ok:
                return
            assert time.monotonic() < deadline, f"projection not reached: {courses} {enrollments}"


@pytest.fixture
def projector(quizzes_runtime: Any) -> Projector:
    return Projector(quizzes_runtime)

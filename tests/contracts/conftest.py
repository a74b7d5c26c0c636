"""The fake Anthropic server (a real HTTP server on 127.0.0.1) for the provider contract suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic


@pytest.fixture(scope="session")
def anthropic_server_session() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def anthropic_server(anthropic_server_session: FakeAnthropic) -> Iterator[FakeAnthropic]:
    anthropic_server_session.reset()
    yield anthropic_server_session
    anthropic_server_session.reset()

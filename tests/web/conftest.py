"""The platform serving the built web app, with the demo data `make run` seeds, for the browser journeys."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.platform import OwnServices, Platform, own_services, running_platform
from tests.services import in_ci

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture(scope="package")
def chromium() -> str:
    """Debian's Chromium (no browser can be downloaded here); `.ci/run` installs it."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        message = "Chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="package")
async def web_services(database: None, tmp_path_factory) -> AsyncIterator[OwnServices]:  # noqa: ANN001
    """The journeys' platform runs on a database and a Redis of its own, seeded as `make run` seeds."""
    from subgraphs.tooling.seed_runner import seed_demo

    async with own_services("web", tmp_path_factory.mktemp("web-platform-redis")) as services:
        await seed_demo(services.settings)
        yield services


@pytest.fixture(scope="package")
async def web_platform(web_services: OwnServices, fake_anthropic, chromium: str) -> AsyncIterator[Platform]:  # noqa: ANN001
    dist = WEB_DIR / "dist"
    if not (dist / "index.html").exists() or not (WEB_DIR / "node_modules" / ".bin" / "playwright").exists():
        pytest.fail("the web app is not built: `make test` builds it (or npm run --prefix web build)")
    from tests.fakes.anthropic_server import syllabus_for

    # Every syllabus asked for in the journeys, written slowly enough that its progress can be watched.
    fake_anthropic.default = lambda body: syllabus_for(body, seconds_per_chunk=0.15)
    try:
        async with running_platform(
            fake_anthropic.url, services=web_services, web_dir=dist, public_origin=True, demo_labs=True
        ) as platform:
            yield platform
    finally:
        fake_anthropic.reset()

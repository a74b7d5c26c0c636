"""The web app's journeys in real Chromium (Playwright, web/e2e/*.spec.ts) against the running platform.

Each spec file is one test here, so a failing journey is named in the summary with Playwright's report.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from subgraphs.core.settings import get_settings
from tests.platform import Platform
from tests.web.conftest import WEB_DIR

SPECS = sorted(path.name for path in (WEB_DIR / "e2e").glob("*.spec.ts"))
# A journey is a few dozen page steps; on a loaded 2-core machine one takes up to a few minutes.
JOURNEY_TIMEOUT_SECONDS = 420


@pytest.mark.e2e
@pytest.mark.timeout(JOURNEY_TIMEOUT_SECONDS + 30)
@pytest.mark.parametrize("spec", SPECS)
async def test_browser_journey(web_platform: Platform, chromium: str, spec: str) -> None:
    env = {
        **os.environ,
        "COURSEGRAPH_WEB_URL": web_platform.router_url,
        "COURSEGRAPH_MAIL_DIR": str(get_settings().mail.directory),
        "CHROMIUM_PATH": chromium,
    }
    # Each journey's failure artifacts in a folder of its own: the next journey's run does not wipe them.
    results = WEB_DIR / "test-results" / spec.removesuffix(".spec.ts")
    process = await asyncio.create_subprocess_exec(
        str(WEB_DIR / "node_modules" / ".bin" / "playwright"),
        "test",
        f"e2e/{spec}",
        f"--output={results}",
        cwd=WEB_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), JOURNEY_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        log = output.decode(errors="replace")
        pytest.fail(f"{spec} did not finish in {JOURNEY_TIMEOUT_SECONDS} s:\n{log}")
    assert process.returncode == 0, output.decode(errors="replace") + what_the_page_showed(results)


def what_the_page_showed(results: Path) -> str:
    """Playwright's error context of each failed test (the page's accessibility snapshot when it failed):
    in the CI log, where the screenshots next to it cannot be seen."""
    return "".join(
        f"\n--- {path}\n{path.read_text(errors='replace')}" for path in results.rglob("error-context.md")
    )

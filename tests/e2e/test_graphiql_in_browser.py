"""GraphiQL still works under its Content-Security-Policy, in a real Chromium (Debian's `chromium`, driven
over the DevTools protocol: no browser download). The page is bundled inline, so a policy that forgot one
of its scripts, its editor workers or its styles would leave a blank or broken page."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from tests.services import free_port, in_ci
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


class Page:
    """A Chromium tab over the DevTools protocol; keeps every console/log entry it reports."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.replies: dict[int, asyncio.Future] = {}
        self.problems: list[str] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.replies:
                self.replies.pop(message["id"]).set_result(message)
            elif message.get("method") == "Log.entryAdded" and message["params"]["entry"]["level"] == "error":
                self.problems.append(message["params"]["entry"]["text"])
            elif message.get("method") == "Runtime.exceptionThrown":
                self.problems.append(json.dumps(message["params"]["exceptionDetails"])[:500])

    async def call(self, method: str, **params: Any) -> dict:
        key = next(self.ids)
        self.replies[key] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"id": key, "method": method, "params": params}))
        return (await asyncio.wait_for(self.replies[key], 30)).get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


@pytest.fixture
async def browser_page(tmp_path) -> AsyncIterator[Page]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if in_ci():
            pytest.fail("Chromium is missing (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={tmp_path / 'profile'}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:

            async def page_target() -> str | None:
                targets = (await http.get(f"http://127.0.0.1:{port}/json")).json()
                return next((t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"), None)

            url = await eventually(page_target, timeout=30, what="Chromium's DevTools endpoint")
        async with websockets.connect(url, max_size=None) as ws:
            page = Page(ws)
            for domain in ("Runtime", "Log", "Page"):
                await page.call(f"{domain}.enable")
            yield page
            page.reader.cancel()
            with contextlib.suppress(BaseException):
                await page.reader
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_graphiql_loads_and_runs_a_query_under_its_csp(platform, browser_page):
    page = browser_page
    await page.call("Page.navigate", url=f"{platform.router_url}/graphql")

    async def ready() -> bool:
        return await page.evaluate("!!document.querySelector('.graphiql-execute-button')")

    await eventually(ready, timeout=60, what="GraphiQL rendered")

    async def answered() -> str | None:
        text = await page.evaluate("(document.querySelector('.result-window') || {}).innerText || ''")
        if "__typename" in text and '"Query"' in text:  # the editor renders spaces as no-break spaces
            return text
        # The button is there before the editor is ready to run: press it until a result shows.
        await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        return None

    await eventually(answered, timeout=60, interval=2, what=f"the default query's result ({page.problems})")
    await page.evaluate("document.getElementById('cg-auth-toggle').click()")  # the sign-in panel's script
    assert await eventually(lambda: page.evaluate("!document.getElementById('cg-auth-panel').hidden"))
    assert page.problems == [], page.problems

    # The policy is enforced, not merely sent: a script injected into the page does not run.
    await page.evaluate(
        "var s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        "document.head.appendChild(s)"
    )
    assert await page.evaluate("window.injected === undefined")

    async def refusal_reported() -> bool:
        return any("Content Security Policy" in problem for problem in page.problems)

    await eventually(refusal_reported, what="the refused script reported")

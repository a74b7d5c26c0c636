"""What a browser does with a real lab IDE behind the platform's proxy (JupyterLab, the web terminal): the
labs tests (tests/subgraphs/labs/test_real_ides.py) and the end-to-end ones through the router share it."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
import websockets

# An exercise's starter files.
STARTER = [
    {"path": "fizzbuzz.py", "content": "def fizzbuzz(n):\n    ...\n"},
    {"path": "data/words.txt", "content": "alpha\nbeta\n"},
]


class Browser:
    """What a browser does with a lab: the first visit carries the token, then the proxy's cookie and the
    IDE's own cookies (scoped to the lab's path) do; writes carry Jupyter's XSRF header and our Origin."""

    def __init__(self, access_url: str, origin: str) -> None:
        self.base = access_url
        self.origin = origin.rstrip("/")
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=60)

    async def open(self, token: str, page: str) -> httpx.Response:
        response = await self.http.get(self.base + page, params={"token": token})
        assert response.status_code == 200, response.text[:500]
        assert "token=" not in str(response.url), "the token left the address bar"
        return response

    def _xsrf(self) -> dict[str, str]:
        return {"X-XSRFToken": self.http.cookies.get("_xsrf", ""), "Origin": self.origin}

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, self.base + path, json=body, headers=self._xsrf())
        assert response.status_code < 300, (method, path, response.status_code, response.text[:300])
        return response.json() if response.content else None

    def ws(self, path: str) -> Any:
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)
        url = self.base.replace("http", "ws", 1) + path
        return websockets.connect(url, additional_headers={"Cookie": cookie}, origin=self.origin)

    async def assets_load(self, html: str) -> None:
        """The page's scripts come through the proxy under the lab's prefix."""
        prefix = httpx.URL(self.base).path
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert scripts and all(src.startswith(prefix) for src in scripts), scripts
        asset = await self.http.get(httpx.URL(self.base).join(scripts[0]))
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]

    async def close(self) -> None:
        await self.http.aclose()


async def run_in_kernel(browser: Browser, kernel_id: str, code: str) -> str:
    session = uuid.uuid4().hex
    msg_id = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id,
            "username": "student",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}},
        "channel": "shell",
        "buffers": [],
    }
    async with browser.ws(f"api/kernels/{kernel_id}/channels?session_id={session}") as ws:
        await ws.send(json.dumps(request))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "execute_result":
                return message["content"]["data"]["text/plain"]
            assert message["msg_type"] != "error", message["content"]


ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07)")


async def run_in_terminal(browser: Browser, name: str, command: str, expect: str) -> str:
    """Types the command; returns the terminal's output once a line of it is exactly `expect` (the echo of
    the command line itself is not: it carries the prompt and the command)."""
    seen = ""
    async with browser.ws(f"terminals/websocket/{name}") as ws:
        await ws.send(json.dumps(["stdin", command + "\r"]))
        while expect not in re.split(r"[\r\n]+", ANSI.sub("", seen)):
            kind, *data = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if kind == "stdout":
                seen += data[0]
    return seen

"""Real IDEs: the labs API, its worker (in-process, LabWorld) and the proxy served by a real uvicorn, with
labs on the process runtime — sandboxed with bubblewrap where it works — running what `make run` runs:
JupyterLab and the web terminal (Jupyter Notebook's terminal page), from the project's own environment.
A student starts a lab, opens it through the authenticated proxy like a browser (token → cookie, the
IDE's XSRF cookie and header, our Origin), and uses it: JupyterLab creates a notebook and runs `1 + 1`
over the kernel WebSocket; the terminal runs `echo $((6*7))` over its WebSocket. The exercise's starter
files are in the new workspace, and a second start (from the stopped lab's page) keeps the student's
edits and deletions.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from subgraphs.courses import service as courses_service
from subgraphs.labs.runtimes import sandbox
from subgraphs.labs.runtimes.process import ProcessRuntime
from tests.subgraphs.labs.conftest import serve_proxy
from tests.subgraphs.labs.queries import STOP, start
from tests.waiting import eventually

TEMPLATES = "{ labTemplates { ide } }"
STARTER = [
    {"path": "fizzbuzz.py", "content": "def fizzbuzz(n):\n    ...\n"},
    {"path": "data/words.txt", "content": "alpha\nbeta\n"},
]


@pytest.fixture
async def ides(world, settings) -> AsyncIterator[str]:
    """The world on the platform's templates and a sandboxed runtime; yields the proxy's URL."""
    mode = "bubblewrap" if sandbox.works() is None else "none"
    await world.kill()
    # JupyterLab takes seconds to answer, more on a loaded machine: the platform's own start timeout.
    labs = world.settings.labs.model_copy(update={"start_timeout_seconds": 120.0})
    world.settings = world.settings.model_copy(update={"labs": labs})
    world.new_runtime = lambda: ProcessRuntime(world.root, sandbox=mode)
    await world.start(labs=world.new_runtime())
    await world.use_real_ides("JUPYTER", "TERMINAL")
    async with serve_proxy(settings, read_timeout=60.0) as url:
        yield url


async def _exercise(world, minter, ide: str):
    room = await world.classroom(minter, ide=ide)
    exercise = await courses_service.create_exercise(
        world.courses.runtime,
        room.school.instructor.meta,
        course_id=room.course_id,
        title=f"{ide} exercise",
        ide=ide,
        starter_files=STARTER,
    )

    async def projected():
        from subgraphs.labs.models import ExerciseProjection

        async with world.api.transaction() as session:
            row = await session.get(ExerciseProjection, exercise.id)
        return row is not None and row.starter_files == STARTER

    await eventually(projected, what="the exercise and its starter files projected")
    return room.school.student, exercise.id


async def _started(labs_gql, world, student, exercise_id) -> tuple[dict[str, Any], float]:
    async def accepted():  # the worker's next report lists the real templates
        result = await start(labs_gql, student, exercise_id)
        return result if result["__typename"] == "LabSessionSuccess" else None

    asked = time.monotonic()
    lab = (await eventually(accepted, timeout=30, what="startLab accepted"))["session"]
    row = await world.status_becomes(lab["id"], "RUNNING", "FAILED", timeout=130)
    assert row.status == "RUNNING", row.failure_reason
    return lab, time.monotonic() - asked


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


async def _run_in_kernel(browser: Browser, kernel_id: str, code: str) -> str:
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


async def _run_in_terminal(browser: Browser, name: str, command: str, expect: str) -> str:
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


async def test_jupyterlab_runs_code_and_keeps_the_students_work(ides, world, labs_gql, minter, settings):
    student, exercise_id = await _exercise(world, minter, "JUPYTER")
    origin = settings.labs.public_url
    offered = (await labs_gql(TEMPLATES, token=student.token))["data"]["labTemplates"]
    assert {"JUPYTER", "TERMINAL"} <= {t["ide"] for t in offered}

    lab, took = await _started(labs_gql, world, student, exercise_id)
    print(f"\nJupyterLab startLab -> RUNNING: {took:.2f} s")
    browser = Browser(f"{ides}/labs/{lab['id']}/", origin)
    try:
        page = await browser.open(student.token, "lab")
        assert "JupyterLab" in page.text
        await browser.assets_load(page.text)

        # The starter files are in the new workspace.
        listing = await browser.api("GET", "api/contents")
        assert {"fizzbuzz.py", "data"} <= {item["name"] for item in listing["content"]}
        starter = await browser.api("GET", "api/contents/fizzbuzz.py")
        assert starter["content"] == STARTER[0]["content"]

        # A new notebook, its kernel, and `1 + 1` over the kernel's WebSocket.
        notebook = await browser.api("POST", "api/contents", {"type": "notebook"})
        session = await browser.api(
            "POST",
            "api/sessions",
            {"path": notebook["path"], "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        )
        assert await _run_in_kernel(browser, session["kernel"]["id"], "1 + 1") == "2"

        # The student edits a starter file and deletes another; an upload and a download pass too.
        edited = "def fizzbuzz(n):\n    return 'mine'\n"
        body = {"type": "file", "format": "text", "content": edited}
        await browser.api("PUT", "api/contents/fizzbuzz.py", body)
        await browser.api("DELETE", "api/contents/data/words.txt")
        lab_page = f"{browser.origin}/labs/{lab['id']}/lab"  # where a browser clicks "Download"
        download = await browser.http.get(
            browser.base + "files/fizzbuzz.py", params={"download": "1"}, headers={"Referer": lab_page}
        )
        assert download.status_code == 200 and download.text == edited
    finally:
        await browser.close()
    await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "STOPPED")

    # The stopped lab's URL: a page saying so, whose button starts a new lab of the exercise.
    access = f"{ides}/labs/{lab['id']}/"
    async with httpx.AsyncClient(timeout=30) as visitor:
        opened = await visitor.get(access, params={"token": student.token})
        assert opened.status_code == 303, "the token still opens a stopped lab's URL (for its page)"
        page = await visitor.get(access, headers={"Accept": "text/html"})
        assert page.status_code == 409 and "This lab is stopped" in page.text
        again = await visitor.post(access + ".coursegraph/start", headers={"Origin": origin})
        assert again.status_code == 303
    second_id = again.headers["location"].split("/")[2]
    assert second_id != lab["id"]
    second = await world.status_becomes(second_id, "RUNNING", "FAILED", timeout=130)
    assert second.status == "RUNNING", second.failure_reason
    browser = Browser(f"{ides}/labs/{second_id}/", origin)
    try:
        await browser.open(student.token, "lab")
        kept = await browser.api("GET", "api/contents/fizzbuzz.py")
        assert kept["content"] == edited, "a second start keeps the student's edits"
        names = {item["name"] for item in (await browser.api("GET", "api/contents/data"))["content"]}
        assert "words.txt" not in names, "and never brings back what they deleted"
    finally:
        await browser.close()
    await labs_gql(STOP, {"id": second_id}, token=student.token)
    await world.status_becomes(second_id, "STOPPED")


async def test_the_web_terminal_runs_a_shell(ides, world, labs_gql, minter, settings):
    student, exercise_id = await _exercise(world, minter, "TERMINAL")
    lab, _took = await _started(labs_gql, world, student, exercise_id)
    browser = Browser(f"{ides}/labs/{lab['id']}/", settings.labs.public_url)
    try:
        page = await browser.open(student.token, "")  # the lab's root opens the terminal page
        assert str(page.url).endswith("/terminals/main") and "Terminal" in page.text
        await browser.assets_load(page.text)
        terminal = await browser.api("POST", "api/terminals")
        output = await _run_in_terminal(browser, terminal["name"], "echo $((6*7))", "42")
        assert "42" in output
        # The shell runs in the workspace, with the starter files.
        await _run_in_terminal(browser, terminal["name"], "ls fizzbuzz.py", "fizzbuzz.py")
    finally:
        await browser.close()
    await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "STOPPED")

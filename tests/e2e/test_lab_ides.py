"""Real IDEs end to end: every subgraph, the worker and the router as processes; labs on the process
runtime (the embedded default) running what `make run` runs — JupyterLab and the web terminal (Jupyter
Notebook's terminal page), from the project's own environment. A student starts a lab through the router,
opens it through the authenticated proxy like a browser (token → cookie, the IDE's XSRF cookie and header),
and uses it: JupyterLab creates a notebook and runs `1 + 1` over the kernel WebSocket; the terminal runs
`echo $((6*7))` over its WebSocket. The exercise's starter files are in the new workspace, and a second
start keeps the student's edits. A stopped lab's URL shows a page that starts it again.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
import websockets

from subgraphs.courses import service as courses_service
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

START = """mutation($input: StartLabInput!) { startLab(input: $input) {
  __typename ... on LabSessionSuccess { session { id status accessUrl } } ... on Error { code message } } }"""
LAB = "query($id: ID!) { labSession(id: $id) { id status failureReason } }"
STOP = "mutation($id: ID!) { stopLab(input: {sessionId: $id}) { __typename ... on Error { code } } }"
TEMPLATES = "{ labTemplates { ide } }"
STARTER = [
    {"path": "fizzbuzz.py", "content": "def fizzbuzz(n):\n    ...\n"},
    {"path": "data/words.txt", "content": "alpha\nbeta\n"},
]


async def _start(router_gql, token: str, exercise_id: uuid.UUID) -> dict[str, Any]:
    async def accepted():  # the worker projects the course events first
        body = await router_gql(START, {"input": {"exerciseId": str(exercise_id)}}, token=token)
        result = body["data"]["startLab"]
        return result if result["__typename"] == "LabSessionSuccess" else None

    return (await eventually(accepted, timeout=30, what="startLab accepted"))["session"]


async def _running(router_gql, token: str, lab_id: str) -> float:
    """Waits for RUNNING; returns when it was seen (time.monotonic)."""

    async def running():
        lab = (await router_gql(LAB, {"id": lab_id}, token=token))["data"]["labSession"]
        assert lab["status"] != "FAILED", lab["failureReason"]
        return time.monotonic() if lab["status"] == "RUNNING" else None

    return await eventually(running, timeout=90, interval=0.1, what=f"lab {lab_id} RUNNING")


async def _stop(router_gql, token: str, lab_id: str) -> None:
    await router_gql(STOP, {"id": lab_id}, token=token)

    async def stopped():
        lab = (await router_gql(LAB, {"id": lab_id}, token=token))["data"]["labSession"]
        return lab["status"] == "STOPPED"

    await eventually(stopped, timeout=30, what=f"lab {lab_id} STOPPED")


class Browser:
    """What a browser does with a lab: the first visit carries the token, then the proxy's cookie and the
    IDE's own cookies (scoped to the lab's path) do; writes carry Jupyter's XSRF header and our Origin."""

    def __init__(self, access_url: str) -> None:
        self.base = access_url
        parts = httpx.URL(access_url)
        self.origin = f"{parts.scheme}://{parts.netloc.decode()}"
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=30)

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
        asset = await self.http.get(self.origin + scripts[0])
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


async def _exercise(courses, courses_runtime, ide: str):  # noqa: F811
    school = await courses.school()
    course = await courses.course(school)
    exercise = await courses_service.create_exercise(
        courses_runtime,
        school.instructor.meta,
        course_id=course.id,
        title=f"{ide} exercise",
        ide=ide,
        starter_files=STARTER,
    )
    await courses_service.enroll(courses_runtime, school.student.meta, course_id=course.id)
    return school, exercise


async def test_jupyterlab_runs_code_and_keeps_the_students_work(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school, exercise = await _exercise(courses, courses_runtime, "JUPYTER")
    token = school.student.token
    offered = (await router_gql(TEMPLATES, token=token))["data"]["labTemplates"]
    assert {"JUPYTER", "TERMINAL"} <= {t["ide"] for t in offered}
    assert "VSCODE" not in {t["ide"] for t in offered}, "no code-server here: VS Code is not offered"

    asked = time.monotonic()
    lab = await _start(router_gql, token, exercise.id)
    print(f"\nJupyterLab lab start -> RUNNING: {await _running(router_gql, token, lab['id']) - asked:.2f} s")
    browser = Browser(lab["accessUrl"])
    try:
        page = await browser.open(token, "lab")
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

        # The student edits a starter file and deletes another.
        edited = "def fizzbuzz(n):\n    return 'mine'\n"
        await browser.api(
            "PUT", "api/contents/fizzbuzz.py", {"type": "file", "format": "text", "content": edited}
        )
        await browser.api("DELETE", "api/contents/data/words.txt")
    finally:
        await browser.close()
    await _stop(router_gql, token, lab["id"])

    # The stopped lab's URL: a page saying so, whose button starts a new lab of the exercise.
    async with httpx.AsyncClient(timeout=30) as visitor:
        opened = await visitor.get(lab["accessUrl"], params={"token": token})
        assert opened.status_code == 303, "the token still opens a stopped lab's URL (for its page)"
        page = await visitor.get(lab["accessUrl"], headers={"Accept": "text/html"})
        assert page.status_code == 409 and page.headers["content-type"].startswith("text/html")
        assert "This lab is stopped" in page.text and "Start again" in page.text
        again = await visitor.post(
            lab["accessUrl"] + ".coursegraph/start", headers={"Origin": browser.origin}
        )
        assert again.status_code == 303
        second_url = httpx.URL(lab["accessUrl"]).join(again.headers["location"])
    second_id = second_url.path.split("/")[2]
    assert second_id != lab["id"]
    await _running(router_gql, token, second_id)
    browser = Browser(str(second_url))
    try:
        await browser.open(token, "lab")
        kept = await browser.api("GET", "api/contents/fizzbuzz.py")
        assert kept["content"] == edited, "a second start keeps the student's edits"
        names = {item["name"] for item in (await browser.api("GET", "api/contents/data"))["content"]}
        assert "words.txt" not in names, "and never brings back what they deleted"
    finally:
        await browser.close()
    await _stop(router_gql, token, second_id)


async def test_the_web_terminal_runs_a_shell(
    platform,
    router_gql,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    school, exercise = await _exercise(courses, courses_runtime, "TERMINAL")
    token = school.student.token
    lab = await _start(router_gql, token, exercise.id)
    await _running(router_gql, token, lab["id"])
    browser = Browser(lab["accessUrl"])
    try:
        page = await browser.open(token, "")  # the lab's root opens the terminal page
        assert str(page.url).endswith("/terminals/main") and "Terminal" in page.text
        await browser.assets_load(page.text)
        terminal = await browser.api("POST", "api/terminals")
        output = await _run_in_terminal(browser, terminal["name"], "echo $((6*7))", "42")
        assert "42" in output
        # The shell runs in the workspace, with the starter files.
        listing = await _run_in_terminal(browser, terminal["name"], "ls fizzbuzz.py", "fizzbuzz.py")
        assert "No such file" not in listing
    finally:
        await browser.close()
    await _stop(router_gql, token, lab["id"])

"""Real IDEs: the labs API, its worker (in-process, LabWorld) and the proxy served by a real uvicorn, on
both runtimes, running what the platform runs: local processes — sandboxed with bubblewrap where it works —
start JupyterLab and the web terminal (Jupyter Notebook's terminal page) from the project's own environment;
Docker starts the images `coursegraph labs build-images` makes (they must be built: CI's .ci/run builds them,
elsewhere the Docker case skips saying so). A student starts a lab, opens it through the authenticated proxy
like a browser (token → cookie, the IDE's XSRF cookie and header, our Origin), and uses it: JupyterLab creates
a notebook and runs `1 + 1` over the kernel WebSocket; the terminal runs `echo $((6*7))` over its WebSocket.
The exercise's starter files are in the new workspace, and a second start (from the stopped lab's page)
keeps the student's edits and deletions.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from subgraphs.courses.exercises import create_exercise
from subgraphs.labs.runtimes import sandbox
from subgraphs.labs.runtimes.docker import DockerRuntime, container_name
from subgraphs.labs.runtimes.process import ProcessRuntime, can_run
from tests.lab_ides import STARTER, Browser, run_in_kernel, run_in_terminal
from tests.labs_support import (
    JUPYTER_IMAGES,
    RUN_LABELS,
    VSCODE_IMAGE,
    exec_in,
    remove_run_resources,
    require_lab_images,
)
from tests.services import in_ci
from tests.subgraphs.labs.conftest import serve_proxy
from tests.subgraphs.labs.queries import STOP, start
from tests.waiting import eventually

TEMPLATES = "{ labTemplates { ide } }"


@pytest.fixture(params=["process", "docker"])
async def ides(request, world, settings) -> AsyncIterator[str]:
    """The world on the platform's templates and the runtime of the parameter; yields the proxy's URL."""
    if request.param == "docker":
        docker_client = require_lab_images(list(JUPYTER_IMAGES))
        new_runtime: Any = lambda: DockerRuntime(world.settings.labs, extra_labels=RUN_LABELS)  # noqa: E731
    else:
        mode = "bubblewrap" if sandbox.works() is None else "none"
        new_runtime = lambda: ProcessRuntime(world.root, sandbox=mode)  # noqa: E731
    await world.kill()
    # JupyterLab takes seconds to answer, more on a loaded machine: the platform's own start timeout.
    labs = world.settings.labs.model_copy(update={"start_timeout_seconds": 120.0})
    world.settings = world.settings.model_copy(update={"labs": labs})
    world.new_runtime = new_runtime
    await world.start(labs=world.new_runtime())
    await world.use_real_ides("JUPYTER", "TERMINAL")
    async with serve_proxy(settings, read_timeout=60.0) as url:
        yield url
    if request.param == "docker":
        await world.shutdown()  # its containers, then the workspace volumes of this run
        await asyncio.to_thread(remove_run_resources, docker_client)
        docker_client.close()


async def _exercise(world, minter, ide: str):
    room = await world.classroom(minter, ide=ide)
    exercise = await create_exercise(
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
        assert await run_in_kernel(browser, session["kernel"]["id"], "1 + 1") == "2"

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
        output = await run_in_terminal(browser, terminal["name"], "echo $((6*7))", "42")
        assert "42" in output
        # The shell runs in the workspace, with the starter files.
        await run_in_terminal(browser, terminal["name"], "ls fizzbuzz.py", "fizzbuzz.py")
    finally:
        await browser.close()
    await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "STOPPED")


@pytest.fixture(params=["process", "docker"])
async def vscode(request, world, settings) -> AsyncIterator[tuple[str, Any]]:
    """The world on the platform's VS Code template and the runtime of the parameter: a sandboxed process
    runtime (code-server installed by `make vscode`) or Docker (`coursegraph/lab-vscode:1`); CI has both,
    elsewhere a missing one skips. Yields the proxy's URL and the Docker client (None for processes)."""
    docker_client = None
    if request.param == "docker":
        docker_client = require_lab_images([VSCODE_IMAGE])
        new_runtime: Any = lambda: DockerRuntime(world.settings.labs, extra_labels=RUN_LABELS)  # noqa: E731
    else:
        if not can_run(["code-server"]):
            message = "code-server is not installed (make vscode)"
            if in_ci():
                pytest.fail(f"CI: {message}")
            pytest.skip(message)
        mode = "bubblewrap" if sandbox.works() is None else "none"
        new_runtime = lambda: ProcessRuntime(world.root, sandbox=mode)  # noqa: E731
    await world.kill()
    labs = world.settings.labs.model_copy(update={"start_timeout_seconds": 120.0})
    world.settings = world.settings.model_copy(update={"labs": labs})
    world.new_runtime = new_runtime
    await world.start(labs=world.new_runtime())
    await world.use_real_ides("VSCODE")
    async with serve_proxy(settings, read_timeout=60.0) as url:
        yield url, docker_client
    if docker_client is not None:
        await world.shutdown()
        await asyncio.to_thread(remove_run_resources, docker_client)
        docker_client.close()


async def test_vs_code_serves_its_workbench(vscode, world, labs_gql, minter, settings):
    proxy, docker_client = vscode
    student, exercise_id = await _exercise(world, minter, "VSCODE")
    offered = (await labs_gql(TEMPLATES, token=student.token))["data"]["labTemplates"]
    assert "VSCODE" in {t["ide"] for t in offered}
    lab, took = await _started(labs_gql, world, student, exercise_id)
    print(f"\nVS Code startLab -> RUNNING: {took:.2f} s")
    assert (await world.row(lab["id"])).ide == "VSCODE"
    browser = Browser(f"{proxy}/labs/{lab['id']}/", settings.labs.public_url)
    try:
        page = await browser.open(student.token, "")
        assert 'id="vscode-workbench-web-configuration"' in page.text, page.text[:300]
        # Its assets (the workbench's script and style, the PWA icons) come through the proxy under the
        # lab's prefix: code-server's URLs are relative to the page.
        sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page.text)
        assert any(s.endswith("/workbench.js") for s in sources), sources
        for source in sources:
            url = httpx.URL(str(page.url)).join(source)
            assert url.path.startswith(f"/labs/{lab['id']}/"), url
            asset = await browser.http.get(url)
            assert asset.status_code == 200 and asset.content, (source, asset.status_code)
            if source.endswith(".js"):
                assert "javascript" in asset.headers["content-type"], (source, asset.headers)
        # The workbench's connection to its server: a WebSocket through the proxy (upgraded; the binary
        # protocol that follows is the browser's business).
        query = f"?reconnectionToken={uuid.uuid4()}&reconnection=false&skipWebSocketFrames=false"
        async with browser.ws(query) as ws:
            assert ws.response.status_code == 101
        # The starter files are in the workspace it opened (code-server reads them over its own API).
        if docker_client is None:
            workspace = world.new_runtime().workspace_path((await world.row(lab["id"])).workspace_key)
            starter = workspace.joinpath("fizzbuzz.py").read_text()
        else:
            name = container_name(uuid.UUID(lab["id"]))
            cat = ("cat", "/workspace/fizzbuzz.py")
            _, starter = await asyncio.to_thread(exec_in, docker_client, name, *cat)
        assert starter == STARTER[0]["content"]
    finally:
        await browser.close()
    await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "STOPPED")

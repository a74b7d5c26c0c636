"""Real IDEs end to end: every subgraph, the worker and Hive Gateway as processes; the student's requests go
through the router, the IDE's through the labs proxy. The platform runs labs on Docker when an engine
answers (CI: then the images of `coursegraph labs build-images` must be built — .ci/run builds them), else
on sandboxed local processes. A JupyterLab lab runs `1 + 1` over its kernel's WebSocket; a terminal lab
runs `echo $((6*7))`; starter files are in the workspace and a second start keeps the student's edits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from tests.lab_ides import STARTER, Browser, run_in_kernel, run_in_terminal
from tests.labs_support import JUPYTER_IMAGES, docker_available, remove_run_resources, require_lab_images
from tests.services import RUN_ID
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

START = """mutation($input: StartLabInput!) { startLab(input: $input) {
  __typename ... on LabSessionSuccess { session { id status accessUrl } } ... on Error { code message } } }"""
LAB = "query($id: ID!) { labSession(id: $id) { status failureReason } }"
STOP = "mutation($id: ID!) { stopLab(input: {sessionId: $id}) { __typename ... on Error { code } } }"


@pytest.fixture
def real_images() -> Iterator[None]:
    """On Docker (the e2e platform's runtime where an engine answers) the IDE images must be there; the
    workspace volumes of the platform's labs go at the end."""
    if not docker_available():
        yield
        return
    client = require_lab_images(list(JUPYTER_IMAGES))
    try:
        yield
    finally:
        remove_run_resources(client, {"coursegraph.instance": f"e2e-{RUN_ID}"})
        client.close()


async def _student_with_exercise(courses, courses_runtime, ide: str):  # noqa: F811
    school = await courses.school()
    course = await courses.course(school)
    exercise = await create_exercise(
        courses_runtime,
        school.instructor.meta,
        course_id=course.id,
        title=f"{ide} lab",
        ide=ide,
        starter_files=STARTER,
    )
    await enroll(courses_runtime, school.student.meta, course_id=course.id)
    return school.student, exercise.id


async def _running_lab(router_gql, token: str, exercise_id: uuid.UUID, ide: str) -> dict:
    async def started():  # the worker projects the course events first
        body = await router_gql(START, {"input": {"exerciseId": str(exercise_id), "ide": ide}}, token=token)
        result = body["data"]["startLab"]
        return result if result["__typename"] == "LabSessionSuccess" else None

    lab = (await eventually(started, timeout=60, what="startLab accepted"))["session"]

    async def settled():
        seen = (await router_gql(LAB, {"id": lab["id"]}, token=token))["data"]["labSession"]
        return seen if seen["status"] in ("RUNNING", "FAILED") else None

    seen = await eventually(settled, timeout=150, what=f"{ide} lab running")
    assert seen["status"] == "RUNNING", seen["failureReason"]
    return lab


async def _stop(router_gql, token: str, lab_id: str) -> None:
    stopped = await router_gql(STOP, {"id": lab_id}, token=token)
    assert stopped["data"]["stopLab"]["__typename"] == "LabSessionSuccess", stopped

    async def gone():
        seen = (await router_gql(LAB, {"id": lab_id}, token=token))["data"]["labSession"]
        return seen["status"] == "STOPPED"

    await eventually(gone, timeout=60, what="the lab stopped")


async def test_jupyterlab_through_the_router(
    platform,
    router_gql,
    real_images,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    student, exercise_id = await _student_with_exercise(courses, courses_runtime, "JUPYTER")
    origin = platform.subgraph_urls["labs"]
    lab = await _running_lab(router_gql, student.token, exercise_id, "JUPYTER")
    assert lab["accessUrl"] == f"{origin}/labs/{lab['id']}/"
    edited = "def fizzbuzz(n):\n    return 'mine'\n"
    browser = Browser(lab["accessUrl"], origin)
    try:
        page = await browser.open(student.token, "lab")
        assert "JupyterLab" in page.text
        await browser.assets_load(page.text)
        starter = await browser.api("GET", "api/contents/fizzbuzz.py")
        assert starter["content"] == STARTER[0]["content"], "the starter files are in the workspace"
        notebook = await browser.api("POST", "api/contents", {"type": "notebook"})
        session = await browser.api(
            "POST",
            "api/sessions",
            {"path": notebook["path"], "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        )
        assert await run_in_kernel(browser, session["kernel"]["id"], "1 + 1") == "2"
        body = {"type": "file", "format": "text", "content": edited}
        await browser.api("PUT", "api/contents/fizzbuzz.py", body)
    finally:
        await browser.close()
    await _stop(router_gql, student.token, lab["id"])

    second = await _running_lab(router_gql, student.token, exercise_id, "JUPYTER")
    assert second["id"] != lab["id"]
    browser = Browser(second["accessUrl"], origin)
    try:
        await browser.open(student.token, "lab")
        kept = await browser.api("GET", "api/contents/fizzbuzz.py")
        assert kept["content"] == edited, "a second start keeps the student's edits"
    finally:
        await browser.close()
    await _stop(router_gql, student.token, second["id"])


async def test_a_terminal_through_the_router(
    platform,
    router_gql,
    real_images,
    courses,  # noqa: F811
    courses_runtime,  # noqa: F811
):
    student, exercise_id = await _student_with_exercise(courses, courses_runtime, "TERMINAL")
    lab = await _running_lab(router_gql, student.token, exercise_id, "TERMINAL")
    browser = Browser(lab["accessUrl"], platform.subgraph_urls["labs"])
    try:
        page = await browser.open(student.token, "")
        assert str(page.url).endswith("/terminals/main") and "Terminal" in page.text
        terminal = await browser.api("POST", "api/terminals")
        assert "42" in await run_in_terminal(browser, terminal["name"], "echo $((6*7))", "42")
        await run_in_terminal(browser, terminal["name"], "ls fizzbuzz.py", "fizzbuzz.py")
    finally:
        await browser.close()
    await _stop(router_gql, student.token, lab["id"])

"""A SCORM 2004 (and 1.2) package run in real Chromium against a minimal LMS: a stub page that defines the
SCORM API, records every call, and frames a SCO served over HTTP, as an LMS does."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from subgraphs.content.exports import ExportFormat, render
from tests.services import in_ci

from .conftest import unzip

STUB = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>LMS stub</title><script>
window.calls = [];
function record(name, result) { return function () {
  window.calls.push([name].concat(Array.prototype.slice.call(arguments).map(String))); return result; }; }
window.API_1484_11 = {Initialize: record("Initialize", "true"), Terminate: record("Terminate", "true"),
  SetValue: record("SetValue", "true"), GetValue: record("GetValue", ""), Commit: record("Commit", "true"),
  GetLastError: record("GetLastError", "0"), GetErrorString: record("GetErrorString", ""),
  GetDiagnostic: record("GetDiagnostic", "")};
window.API = {LMSInitialize: record("LMSInitialize", "true"), LMSFinish: record("LMSFinish", "true"),
  LMSSetValue: record("LMSSetValue", "true"), LMSGetValue: record("LMSGetValue", ""),
  LMSCommit: record("LMSCommit", "true"), LMSGetLastError: record("LMSGetLastError", "0"),
  LMSGetErrorString: record("LMSGetErrorString", ""), LMSGetDiagnostic: record("LMSGetDiagnostic", "")};
</script></head><body><iframe id="sco" width="900" height="900"></iframe></body></html>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        message = "Chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def _serve(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def package_site(course, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:  # noqa: ANN001
    fmt = request.param
    for name, content in unzip(render(fmt, course)).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (tmp_path / "lms.html").write_text(STUB)
    yield from _serve(tmp_path)


async def _run(chromium: str, site: str, sco: str, act) -> list[list[str]]:  # noqa: ANN001
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{site}/lms.html")
            await page.evaluate("src => { document.getElementById('sco').src = src; }", f"{site}/{sco}")
            frame = page.frame_locator("#sco")
            await act(frame)
            await page.wait_for_function(
                "() => window.calls.some(c => c[0] === 'Terminate' || c[0] === 'LMSFinish')", timeout=20_000
            )
            return await page.evaluate("window.calls")
        finally:
            await browser.close()


async def _answer_all_right(frame) -> None:  # noqa: ANN001
    await frame.locator('[data-question="0"] input[value="0"]').check()
    await frame.locator('[data-question="1"] input[value="0"]').check()
    await frame.locator('[data-question="1"] input[value="2"]').check()
    await frame.locator('[data-question="2"] input[value="true"]').check()
    await frame.locator('[data-question="3"] input').fill("Zebra-Quokka")
    await frame.locator('[data-question="4"] input').fill("4217.3")
    await frame.get_by_role("button", name="Submit answers").click()
    await frame.get_by_text("Score: 100%").wait_for()


async def _answer_half(frame) -> None:  # noqa: ANN001
    # 2 + 1 points right out of 6: 50 %, under the quiz's 70 %.
    await frame.locator('[data-question="0"] input[value="0"]').check()
    await frame.locator('[data-question="2"] input[value="true"]').check()
    await frame.locator('[data-question="4"] input').fill("12")
    await frame.get_by_role("button", name="Submit answers").click()
    await frame.get_by_text("Score: 50%").wait_for()


@pytest.mark.parametrize("package_site", [ExportFormat.SCORM_2004], indirect=True)
async def test_scorm_2004_quiz_reports_score_in_chromium(chromium: str, package_site: str) -> None:
    calls = await _run(chromium, package_site, "quizzes/Q1/index.html", _answer_all_right)
    names = [call[0] for call in calls]
    assert names[0] == "Initialize" and names[-1] == "Terminate" and names.count("Terminate") == 1
    values = {call[1]: call[2] for call in calls if call[0] == "SetValue"}
    assert values["cmi.score.scaled"] == "1.0000"
    assert values["cmi.score.raw"] == "100"
    assert values["cmi.completion_status"] == "completed"
    assert values["cmi.success_status"] == "passed"
    assert "Commit" in names


@pytest.mark.parametrize("package_site", [ExportFormat.SCORM_2004], indirect=True)
async def test_scorm_2004_failed_quiz_and_lesson_completion_in_chromium(
    chromium: str, package_site: str
) -> None:
    calls = await _run(chromium, package_site, "quizzes/Q1/index.html", _answer_half)
    values = {call[1]: call[2] for call in calls if call[0] == "SetValue"}
    assert values["cmi.score.scaled"] == "0.5000" and values["cmi.success_status"] == "failed"

    async def read_lesson(frame) -> None:  # noqa: ANN001
        await frame.get_by_role("heading", name="Installing Python").wait_for()
        await frame.locator("body").evaluate("() => window.dispatchEvent(new Event('pagehide'))")

    calls = await _run(chromium, package_site, "lessons/L1_1/index.html", read_lesson)
    assert ["SetValue", "cmi.completion_status", "completed"] in calls
    assert [call[0] for call in calls][-1] == "Terminate"


@pytest.mark.parametrize("package_site", [ExportFormat.SCORM_12], indirect=True)
async def test_scorm_12_quiz_reports_score_in_chromium(chromium: str, package_site: str) -> None:
    calls = await _run(chromium, package_site, "quizzes/Q1/index.html", _answer_all_right)
    names = [call[0] for call in calls]
    assert names[0] == "LMSInitialize" and names[-1] == "LMSFinish"
    values = {call[1]: call[2] for call in calls if call[0] == "LMSSetValue"}
    assert values["cmi.core.score.raw"] == "100"
    assert values["cmi.core.lesson_status"] == "passed"

"""The authenticated lab proxy, served by a real uvicorn (HTTP and WebSocket) in front of a real lab
process (tests/subgraphs/labs/ws_ide.py run by the ProcessRuntime): the owner's token opens the lab (a
redirect drops it from the URL and sets a path-scoped HttpOnly SameSite=Strict cookie), the cookie then
works for HTTP and WebSocket, nobody else gets in (no token, another user's token, a forged cookie, a
signed-out session), traffic counts as activity, a stopped lab is not reached."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import stat
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import update

from subgraphs.core.auth import SESSION_KEY
from subgraphs.core.db import utcnow
from subgraphs.labs import proxy
from subgraphs.labs.models import LabSession, LabTemplate
from tests.subgraphs.labs.queries import PAUSE, STOP, start

WS_IDE = ["{python}", str(Path(__file__).with_name("ws_ide.py")), "--port", "{port}"]


@pytest.fixture
async def terminal_lab(labs_gql, world, minter):
    async with world.api.transaction() as session:
        await session.execute(update(LabTemplate).where(LabTemplate.ide == "TERMINAL").values(command=WS_IDE))
    room = await world.classroom(minter, ide="TERMINAL")
    lab = (await start(labs_gql, room.school.student, room.exercise_id))["session"]
    await world.status_becomes(lab["id"], "RUNNING")
    yield room, lab  # the world puts the templates back


async def test_http_through_the_proxy(proxy_url, terminal_lab, world, labs_gql, labs_runtime):
    room, lab = terminal_lab
    student = room.school.student
    base = f"{proxy_url}/labs/{lab['id']}/"
    async with httpx.AsyncClient() as client:
        assert (await client.get(base + "src/main.py")).status_code == 401
        other = await client.get(base + "src/main.py", params={"token": room.school.admin.token})
        assert other.status_code == 404, "an admin of its organization does not enter a student's lab"
        assert (await client.get(base, params={"token": room.outsider.token})).status_code == 404
        assert (
            await client.get(f"{proxy_url}/labs/{uuid.uuid4()}/", params={"token": student.token})
        ).status_code == 404

        opened = await client.get(base + "src/main.py", params={"token": student.token, "x": "1"})
        assert (
            opened.status_code == 303 and opened.headers["location"] == f"/labs/{lab['id']}/src/main.py?x=1"
        )
        cookie = opened.headers["set-cookie"]
        assert f"Path=/labs/{lab['id']}/" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert student.token not in cookie

    # Activity: proxied traffic moves lastActivityAt (the throttle key is cleared to see it now).
    async with world.api.transaction() as session:
        await session.execute(
            update(LabSession)
            .where(LabSession.id == uuid.UUID(lab["id"]))
            .values(last_activity_at=utcnow() - timedelta(minutes=5))
        )
    await labs_runtime.redis.delete(f"labs:activity:{lab['id']}")
    before = (await world.row(lab["id"])).last_activity_at

    async with httpx.AsyncClient(base_url=proxy_url, cookies=opened.cookies) as browser:
        page = await browser.get(f"/labs/{lab['id']}/src/main.py?x=1")
        assert page.status_code == 200 and page.text.startswith("path=/src/main.py?x=1")
        assert page.text.endswith("cookie= auth=\n"), "our credentials never reach the IDE"
        # The IDE's own cookies and redirects stay inside this lab's prefix.
        set_cookie = await browser.get(f"/labs/{lab['id']}/set-cookie")
        assert set_cookie.headers["set-cookie"] == f"ide=1; HttpOnly; Path=/labs/{lab['id']}/"
        moved = await browser.get(f"/labs/{lab['id']}/redirect")
        assert moved.status_code == 302 and moved.headers["location"] == f"/labs/{lab['id']}/elsewhere"
        # An absolute redirect to the IDE's own address neither leaks that address nor leaves the prefix.
        absolute = await browser.get(f"/labs/{lab['id']}/redirect-absolute")
        assert absolute.headers["location"] == f"/labs/{lab['id']}/elsewhere?x=1"
        # The cookie is scoped to this lab: it opens no other path.
        assert (await browser.get(f"/labs/{uuid.uuid4()}/")).status_code == 401
    assert (await world.row(lab["id"])).last_activity_at > before

    async with httpx.AsyncClient() as client:
        with_header = await client.get(base + "h", headers={"Authorization": f"Bearer {student.token}"})
        assert with_header.status_code == 200 and with_header.text.startswith("path=/h")
        # Names reach the IDE as sent: an encoded ?, # or / is part of the name; a CR LF matches no route.
        for sent in ("what%3F%23.py?x=1", "dir%2Fname%20x"):
            named = await client.get(base + sent, headers={"Authorization": f"Bearer {student.token}"})
            assert named.status_code == 200 and named.text.startswith(f"path=/{sent} "), sent
        crlf = await client.get(base + "a%0D%0AX: 1", headers={"Authorization": f"Bearer {student.token}"})
        assert crlf.status_code == 404
        forged = await client.get(base, headers={"Cookie": f"cg_lab={opened.cookies['cg_lab'][:-4]}0000"})
        assert forged.status_code == 401

        # Signing out ends IDE access at once, cookie included.
        await labs_runtime.redis.delete(SESSION_KEY.format(sid=student.principal.session_id))
        cookie = {"Cookie": f"cg_lab={opened.cookies['cg_lab']}"}
        assert (await client.get(base, headers=cookie)).status_code == 401
        assert (await client.get(base, params={"token": student.token})).status_code == 401


async def test_websocket_through_the_proxy_and_a_stopped_lab(proxy_url, terminal_lab, world, labs_gql):
    room, lab = terminal_lab
    student = room.school.student
    ws_base = proxy_url.replace("http", "ws") + f"/labs/{lab['id']}/"
    async with websockets.connect(ws_base + f"term?token={student.token}") as ws:
        await ws.send("hello")
        assert await asyncio.wait_for(ws.recv(), 5) == "echo:hello"
        await ws.send(b"\x00\x01")
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\x01"

    async with httpx.AsyncClient() as client:
        opened = await client.get(proxy_url + f"/labs/{lab['id']}/", params={"token": student.token})
    cookie = f"cg_lab={opened.cookies['cg_lab']}"
    async with websockets.connect(ws_base + "term", additional_headers={"Cookie": cookie}) as ws:
        await ws.send("with cookie")
        assert await asyncio.wait_for(ws.recv(), 5) == "echo:with cookie"

    for url in (ws_base + "term", ws_base + f"term?token={room.school.admin.token}"):
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(url):
                pass

    await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "STOPPED")
    async with httpx.AsyncClient() as client:
        gone = await client.get(
            proxy_url + f"/labs/{lab['id']}/", headers={"Authorization": f"Bearer {student.token}"}
        )
    assert gone.status_code == 409 and "STOPPED" in gone.json()["error"]
    assert sys.executable  # the lab ran under this interpreter ({python})


async def test_a_hostile_or_silent_lab_and_a_foreign_origin(proxy_url, terminal_lab, settings):
    room, lab = terminal_lab
    student = room.school.student
    auth = {"Authorization": f"Bearer {student.token}"}
    base = f"{proxy_url}/labs/{lab['id']}/"
    async with httpx.AsyncClient() as client:
        # The IDE may not overwrite our cookie nor widen its own to other hosts of the domain.
        planted = await client.get(base + "hostile-cookies", headers=auth)
        assert planted.headers.get_list("set-cookie") == [f"wide=1; Path=/labs/{lab['id']}/"]
        # Nor let a service worker of its own control the whole origin (other labs, their ?token= visits).
        assert planted.status_code == 200 and "service-worker-allowed" not in planted.headers
        # No service worker whose scope would cover the lab's root (and the ?token= of its next visit).
        worker = {"Service-Worker": "script", **auth}
        for root_script in ("sw.js", "a%2Fsw.js"):
            assert (await client.get(base + root_script, headers=worker)).status_code == 403, root_script
        deep = await client.get(base + "static/sw.js", headers=worker)
        assert deep.status_code == 200 and deep.text.startswith("path=/static/sw.js")
        # A lab that never answers is cut off after the read timeout (1 s here), not held forever.
        silent = await asyncio.wait_for(client.get(base + "never-answers", headers=auth), 30)
        assert silent.status_code == 504
        assert (await client.get(f"{proxy_url}/labs/not-a-lab")).status_code == 404
        opened = await client.get(base, params={"token": student.token})
    cookie = {"Cookie": f"cg_lab={opened.cookies['cg_lab']}"}
    ws_base = proxy_url.replace("http", "ws") + f"/labs/{lab['id']}/"
    public = settings.labs.public_url.rstrip("/")
    async with httpx.AsyncClient() as client:
        # Cross-origin requests that change things are refused with the cookie (a bearer token is no
        # ambient credential); reads and same-origin writes pass.
        evil = await client.post(base + "x", headers={**cookie, "Origin": "https://evil.test"}, content=b"")
        assert evil.status_code == 403
        ours = await client.post(base + "x", headers={**cookie, "Origin": public}, content=b"")
        assert ours.status_code == 200
        read = await client.get(base + "x", headers={**cookie, "Origin": "https://evil.test"})
        assert read.status_code == 200
    # Cross-site WebSocket hijacking: a page of another origin gets nothing, even with the cookie.
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(
            ws_base + "term", additional_headers=cookie, origin="https://evil.test"
        ):
            pass
    async with websockets.connect(ws_base + "term", additional_headers=cookie, origin=public) as ws:
        await ws.send("same origin")
        assert await asyncio.wait_for(ws.recv(), 5) == "echo:same origin"


async def test_the_server_logs_never_show_a_token(proxy_url, terminal_lab):
    room, lab = terminal_lab
    token = room.school.student.token
    records: list[str] = []
    seen = asyncio.Event()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())
            if "WebSocket" in records[-1] and f"/labs/{lab['id']}/term" in records[-1]:
                seen.set()  # the server runs in this event loop's thread

    loggers = [logging.getLogger("uvicorn.access"), logging.getLogger("uvicorn.error")]
    handler, levels = Keep(), [log.level for log in loggers]
    for log in loggers:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        async with httpx.AsyncClient() as client:
            opened = await client.get(f"{proxy_url}/labs/{lab['id']}/x", params={"a": "1", "token": token})
        assert opened.status_code == 303
        ws_url = proxy_url.replace("http", "ws") + f"/labs/{lab['id']}/term?token={token}&b=2"
        async with websockets.connect(ws_url) as ws:
            await ws.send("hi")
            assert await asyncio.wait_for(ws.recv(), 5) == "echo:hi"
        await asyncio.wait_for(seen.wait(), 10)
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.removeHandler(handler)
            log.setLevel(level)
    http_line = next(r for r in records if f"/labs/{lab['id']}/x" in r)
    assert "token=[redacted]" in http_line and "a=1" in http_line
    ws_line = next(r for r in records if f"/labs/{lab['id']}/term" in r)
    assert "token=[redacted]" in ws_line and "b=2" in ws_line
    assert not [r for r in records if token in r]


async def test_signing_out_closes_an_open_websocket(proxy_url, terminal_lab, labs_runtime):
    room, lab = terminal_lab
    student = room.school.student
    async with httpx.AsyncClient() as client:
        opened = await client.get(f"{proxy_url}/labs/{lab['id']}/", params={"token": student.token})
    ws_url = proxy_url.replace("http", "ws") + f"/labs/{lab['id']}/term"
    headers = {"Cookie": f"cg_lab={opened.cookies['cg_lab']}"}
    async with websockets.connect(ws_url, additional_headers=headers) as ws:
        await ws.send("before")
        assert await asyncio.wait_for(ws.recv(), 5) == "echo:before"
        await labs_runtime.redis.delete(SESSION_KEY.format(sid=student.principal.session_id))
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.wait_closed(), 4 * proxy.WS_RECHECK_SECONDS)
            await ws.recv()


def _cookie(key: bytes, lab_id: str, user_id: str, auth_session: str) -> str:
    """A cookie value built by hand, as an attacker who knows (or guesses) a key would."""
    body = base64.urlsafe_b64encode(
        orjson.dumps({"l": lab_id, "u": user_id, "s": auth_session, "e": int(time.time()) + 600})
    ).decode()
    return f"cg_lab={body}.{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()}"


async def test_a_forged_cookie_opens_no_one_elses_lab(proxy_url, terminal_lab, settings, labs_runtime):
    """Issue 13.1: an instructor who lists a student's lab forged a cookie with their own sign-in and the
    student's user id, keyed from the router's (public dev) secret, and got the student's IDE."""
    room, lab = terminal_lab
    student, instructor = room.school.student, room.school.instructor
    base = f"{proxy_url}/labs/{lab['id']}/"
    router_derived = hashlib.sha256(
        b"coursegraph-lab-proxy-cookie:" + settings.router.shared_secret.encode()
    ).digest()
    real_key = proxy.cookie_key(settings)
    assert real_key != router_derived, "the cookie key is not derived from the router's secret"
    # The dev key is random, made once under the data dir, readable by its owner only.
    key_file = settings.data_dir / proxy.KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600 and len(key_file.read_text()) >= 64
    async with httpx.AsyncClient() as client:
        for key in (router_derived, real_key):  # the real key too: the sign-in must be the student's
            forged = _cookie(key, lab["id"], student.id, instructor.principal.session_id)
            answer = await client.get(base, headers={"Cookie": forged})
            assert answer.status_code == 401, key
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(
                    base.replace("http", "ws") + "term", additional_headers={"Cookie": forged}
                ):
                    pass
        # The same hand-made cookie with the student's own sign-in passes: the refusal above is the binding.
        genuine = _cookie(real_key, lab["id"], student.id, student.principal.session_id)
        assert (await client.get(base, headers={"Cookie": genuine})).status_code == 200


async def test_a_paused_or_stopped_labs_url_offers_resume_or_start_again(
    proxy_url, terminal_lab, world, labs_gql, settings
):
    """Issue 15: a paused lab's URL answered raw JSON. A browser now gets a small page with Resume (paused)
    or Start again (stopped); scripts keep the JSON."""
    room, lab = terminal_lab
    student = room.school.student
    base = f"{proxy_url}/labs/{lab['id']}/"
    html = {"Accept": "text/html,application/xhtml+xml"}
    origin = {"Origin": settings.labs.public_url.rstrip("/")}
    await labs_gql(PAUSE, {"id": lab["id"]}, token=student.token)
    await world.status_becomes(lab["id"], "PAUSED")
    async with httpx.AsyncClient(base_url=proxy_url) as browser:
        opened = await browser.get(base + "some/file.py", params={"token": student.token})
        assert opened.status_code == 303  # the token still becomes a cookie
        page = await browser.get(base + "some/file.py", headers=html)
        assert page.status_code == 409 and page.headers["content-type"].startswith("text/html")
        assert "This lab is paused" in page.text and ">Resume</button>" in page.text
        assert f'action="/labs/{lab["id"]}/.coursegraph/resume"' in page.text
        assert "script" not in page.text and "default-src 'none'" in page.headers["content-security-policy"]
        as_json = await browser.get(base + "some/file.py")
        assert as_json.status_code == 409 and as_json.json()["status"] == "PAUSED"
        # Another origin's page cannot press the button for the student.
        foreign = await browser.post(base + ".coursegraph/resume", headers={"Origin": "https://evil.test"})
        assert foreign.status_code == 403 and (await world.row(lab["id"])).requested_action is None
        resumed = await browser.post(base + ".coursegraph/resume", headers=origin)
        assert resumed.status_code == 303 and resumed.headers["location"] == f"/labs/{lab['id']}/"
        await world.status_becomes(lab["id"], "RUNNING")
        assert (await browser.get(base + "x")).text.startswith("path=/x")  # the IDE again

        await labs_gql(STOP, {"id": lab["id"]}, token=student.token)
        await world.status_becomes(lab["id"], "STOPPED")
        page = await browser.get(base, headers=html)
        assert "This lab is stopped" in page.text and ">Start again</button>" in page.text
        again = await browser.post(base + ".coursegraph/start", headers=origin)
        assert again.status_code == 303
        new_id = again.headers["location"].split("/")[2]
        assert new_id != lab["id"] and f"Path=/labs/{new_id}/" in again.headers["set-cookie"]
        starting = await browser.get(again.headers["location"], headers=html)
        # Not running yet: a page that reloads itself into the IDE (or, already running, the IDE).
        waiting = "Your lab is starting" in starting.text and 'http-equiv="refresh"' in starting.text
        assert waiting or starting.text.startswith("path=/"), starting.text
        await world.status_becomes(new_id, "RUNNING")
        reached = await browser.get(f"/labs/{new_id}/y")  # by the new lab's own cookie
        assert reached.status_code == 200 and reached.text.startswith("path=/y")
        await labs_gql(STOP, {"id": new_id}, token=student.token)

"""The dev/e2e process supervisor against real child processes (no mocks, no fixed sleeps)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from subgraphs.tooling.supervisor import ProcessFailed, ProcessSpec, Supervisor, supervised

PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:  # zombies count as gone: they are dead, merely not yet reaped by init
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


async def until(condition: Callable[[], bool], within: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def http_server(name: str, port: int) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=[PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        ready_url=f"http://127.0.0.1:{port}/",
        ready_timeout=20,
    )


async def test_http_child_becomes_ready_and_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    port = free_port()
    spec = http_server("web", port)
    spec.cwd = tmp_path
    async with supervised([spec], output=io.StringIO()) as sup:
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"http://127.0.0.1:{port}/hello.txt")).text == "hi"
        pid = sup.pid("web")
    await until(lambda: not pid_alive(pid), what="web to exit")


async def test_child_exiting_early_names_it_and_shows_its_output() -> None:
    spec = ProcessSpec(
        name="users-subgraph",
        argv=[PY, "-c", "print('loading settings'); print('KeyError: DATABASE_URL'); raise SystemExit(3)"],
        ready_url=f"http://127.0.0.1:{free_port()}/health",
    )
    async with supervised(output=io.StringIO()) as sup:
        with pytest.raises(ProcessFailed) as info:
            await sup.start(spec)
    message = str(info.value)
    assert info.value.name == "users-subgraph"
    assert "'users-subgraph' exited with code 3 before it was ready" in message
    assert "KeyError: DATABASE_URL" in message


async def test_child_that_never_gets_ready_times_out_and_is_stopped() -> None:
    spec = ProcessSpec(
        name="stuck",
        argv=[PY, "-c", "import time; print('starting', flush=True); time.sleep(600)"],
        ready_url=f"http://127.0.0.1:{free_port()}/",
        ready_timeout=0.5,
    )
    async with supervised(output=io.StringIO()) as sup:
        with pytest.raises(ProcessFailed, match=r"'stuck' did not answer 200 at .* within 0.5s") as info:
            await sup.start(spec)
        assert "starting" in str(info.value)
        assert not pid_alive(sup.pid("stuck"))  # already terminated by start()


async def test_stop_leaves_no_orphans_even_when_sigterm_is_ignored() -> None:
    # The child ignores SIGTERM (so stop() must escalate to SIGKILL) and has a grandchild in its group.
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('grandchild', grandchild.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    sup = Supervisor(output=io.StringIO(), handle_signals=False, grace_period=0.5)
    await sup.start(ProcessSpec(name="stubborn", argv=[PY, "-c", code]))

    def grandchild_line() -> str | None:
        return next((line for line in sup.output_tail("stubborn") if line.startswith("grandchild")), None)

    await until(lambda: grandchild_line() is not None, what="the grandchild's pid")
    grandchild = int(grandchild_line().split()[1])  # type: ignore[union-attr]
    child = sup.pid("stubborn")
    assert pid_alive(child) and pid_alive(grandchild)
    await sup.stop()
    assert not pid_alive(child)
    await until(lambda: not pid_alive(grandchild), what="grandchild to exit")


async def test_output_is_tagged_and_a_dying_child_stops_the_rest() -> None:
    out = io.StringIO()
    sup = Supervisor(output=out, color=False, handle_signals=False)
    await sup.start(http_server("bystander", free_port()))
    await sup.start(
        ProcessSpec(
            name="talker",
            argv=[PY, "-c", "import sys; print('hello'); print('to stderr', file=sys.stderr); sys.exit(4)"],
        )
    )
    assert await asyncio.wait_for(sup.wait(), timeout=20) == 4
    assert not pid_alive(sup.pid("bystander"))
    lines = out.getvalue().splitlines()
    assert "[talker] hello" in lines
    assert "[talker] to stderr" in lines
    assert "[supervisor] 'talker' exited unexpectedly with code 4; stopping the rest" in lines


async def test_colour_tags_and_env_and_cwd(tmp_path: Path) -> None:
    out = io.StringIO()
    spec = ProcessSpec(
        name="envy",
        argv=[PY, "-c", "import os; print(os.environ['GREETING'], os.getcwd())"],
        env={"GREETING": "bonjour"},
        cwd=tmp_path,
    )
    async with supervised(output=out, color=True) as sup:
        await sup.start(spec)
        await until(lambda: bool(sup.output_tail("envy")), what="output")
    assert out.getvalue().startswith("\x1b[")
    assert f"[envy]\x1b[0m bonjour {tmp_path}" in out.getvalue()


async def test_sigint_stops_everything_and_wait_returns_zero() -> None:
    sup = Supervisor(output=io.StringIO(), handle_signals=True)
    await sup.start(http_server("web", free_port()))
    pid = sup.pid("web")
    waiter = asyncio.create_task(sup.wait())
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does; the handler turns it into a clean shutdown
    assert await asyncio.wait_for(waiter, timeout=20) == 0
    assert not pid_alive(pid)


async def test_unknown_executable_is_reported_by_name() -> None:
    async with supervised(output=io.StringIO()) as sup:
        with pytest.raises(ProcessFailed, match="'router' could not be started"):
            await sup.start(ProcessSpec(name="router", argv=["/nonexistent/hive-gateway"]))


async def test_a_crashed_restartable_child_is_restarted_and_the_rest_keeps_running() -> None:
    port = free_port()
    web = http_server("web", port)
    web.restart = True
    out = io.StringIO()
    async with Supervisor(output=out, handle_signals=False, backoff_initial=0.05) as sup:
        await sup.start(web)
        await sup.start(ProcessSpec(name="other", argv=[PY, "-c", "import time; time.sleep(60)"]))
        waiting = asyncio.create_task(sup.wait())
        first = sup.pid("web")
        os.kill(first, signal.SIGKILL)
        await until(lambda: sup.restarts.get("web") == 1, within=20, what="the restart")
        assert sup.pid("web") != first and pid_alive(sup.pid("web"))
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
        assert not waiting.done() and pid_alive(sup.pid("other"))
        assert "'web' exited unexpectedly with code -9" in out.getvalue()
        assert "restarting in 0.05s (fast failure 1 of 5)" in out.getvalue()
        waiting.cancel()


async def test_a_child_that_keeps_crashing_fast_makes_the_supervisor_give_up() -> None:
    out = io.StringIO()
    crashing = ProcessSpec(name="crash", argv=[PY, "-c", "print('boom'); raise SystemExit(3)"], restart=True)
    async with Supervisor(output=out, handle_signals=False, backoff_initial=0.01, max_fast_failures=3) as sup:
        await sup.start(crashing)
        code = await asyncio.wait_for(sup.wait(), timeout=30)
    assert code == 3
    log = out.getvalue()
    assert log.count("restarting in") == 3 and "(last output: boom)" in log
    assert "'crash' failed 3 times in a row" in log and "giving up" in log


async def test_restart_with_a_changed_spec_runs_the_new_one() -> None:
    out = io.StringIO()
    script = "import os, time; print('mode', os.environ['MODE'], flush=True); time.sleep(60)"
    first = ProcessSpec(name="job", argv=[PY, "-c", script], env={"MODE": "a"})
    async with Supervisor(output=out, handle_signals=False) as sup:
        await sup.start(first)
        await until(lambda: "[job] mode a" in out.getvalue(), within=20, what="the first start")
        before = sup.pid("job")
        changed = dataclasses.replace(first, env={"MODE": "b"})
        await sup.restart("job", changed)
        await until(lambda: "[job] mode b" in out.getvalue(), within=20, what="the restart as changed")
        assert sup.pid("job") != before and not pid_alive(before)
        assert sup.spec("job") is changed and sup.restarts["job"] == 1

"""The LabRuntime contract, run against every implementation: local processes and Docker (real engine,
the registry-free test image). Each test cleans up every lab its runtime manages."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from subgraphs.core.settings import LabsSettings
from subgraphs.labs.runtimes import build_runtime
from subgraphs.labs.runtimes.base import (
    Endpoint,
    ImageNotAllowed,
    LabRuntime,
    LabSpec,
    Resources,
    RuntimeState,
    RuntimeUnavailable,
)
from subgraphs.labs.runtimes.docker import (
    DockerRuntime,
    ExitedAtStart,
    UnsafeLabNetwork,
    container_name,
    volume_name,
)
from subgraphs.labs.runtimes.process import ProcessRuntime
from tests.labs_support import (
    RUN_LABELS,
    TEST_IMAGE,
    TEST_IMAGE_HEALTH,
    TEST_IMAGE_PORT,
    TINY_IDE_COMMAND,
    TINY_IDE_HEALTH,
    answers,
    docker_client,  # noqa: F401 (fixture)
    exec_in,
)
from tests.services import RUN_ID
from tests.waiting import eventually

DIE_COMMAND = ("/bin/sh", "-c", "exit 3")


@dataclass
class Harness:
    runtime: LabRuntime
    # Another runtime object over the same environments: what a restarted worker builds.
    new_instance: Callable[[], LabRuntime]
    base_spec: LabSpec
    # Write/read a file in the lab's workspace from inside the environment.
    write: Callable[[uuid.UUID, str, str], Awaitable[None]]
    read: Callable[[uuid.UUID, str], Awaitable[str | None]]

    def spec(self, **changes: object) -> LabSpec:
        return replace(self.base_spec, session_id=uuid.uuid4(), **changes)  # type: ignore[arg-type]


def _base_spec(image: str, port: int, health_path: str, command: tuple[str, ...] | None) -> LabSpec:
    return LabSpec(
        session_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image=image,
        command=command,
        port=port,
        health_path=health_path,
        workspace_key=f"test-{uuid.uuid4().hex[:12]}",
        resources=Resources(cpus=1.0, memory_bytes=512 * 1024**2, pids=128),
    )


async def _process_harness(tmp_path: Path) -> Harness:
    root = tmp_path / "labs"
    runtime = ProcessRuntime(root)

    async def write(session_id: uuid.UUID, name: str, text: str) -> None:
        (await _workspace_of(runtime, session_id) / name).write_text(text)

    async def read(session_id: uuid.UUID, name: str) -> str | None:
        path = await _workspace_of(runtime, session_id) / name
        return path.read_text() if path.exists() else None

    return Harness(
        runtime=runtime,
        new_instance=lambda: ProcessRuntime(root),
        base_spec=_base_spec("ignored", 0, TINY_IDE_HEALTH, TINY_IDE_COMMAND),
        write=write,
        read=read,
    )


async def _workspace_of(runtime: ProcessRuntime, session_id: uuid.UUID) -> Path:
    state = await asyncio.to_thread(runtime._read_state, session_id)
    assert state is not None, "the lab has no state file"
    return Path(state["workspace"])


async def _docker_harness(client: Any) -> Harness:
    labs = LabsSettings(allowed_images=[TEST_IMAGE])
    runtime = await DockerRuntime.connect(labs, extra_labels=RUN_LABELS)

    async def write(session_id: uuid.UUID, name: str, text: str) -> None:
        script = 'printf %s "$1" > "/workspace/$2"'
        code, output = await asyncio.to_thread(
            exec_in, client, container_name(session_id), "/bin/sh", "-c", script, "sh", text, name
        )
        assert code == 0, output

    async def read(session_id: uuid.UUID, name: str) -> str | None:
        code, output = await asyncio.to_thread(
            exec_in, client, container_name(session_id), "/bin/cat", f"/workspace/{name}"
        )
        return output if code == 0 else None

    return Harness(
        runtime=runtime,
        new_instance=lambda: DockerRuntime(labs, extra_labels=RUN_LABELS),
        base_spec=_base_spec(TEST_IMAGE, TEST_IMAGE_PORT, TEST_IMAGE_HEALTH, None),  # the image's CMD
        write=write,
        read=read,
    )


@pytest.fixture(params=["process", "docker"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    if request.param == "docker":
        h = await _docker_harness(request.getfixturevalue("docker_client"))
    else:
        h = await _process_harness(tmp_path)
    yield h
    for lab in await h.runtime.list_managed():
        await h.runtime.stop(lab.session_id)
    assert await h.runtime.list_managed() == []
    await h.runtime.close()


async def _start_healthy(h: Harness, spec: LabSpec) -> Endpoint:
    endpoint = await h.runtime.start(spec)
    await eventually(lambda: answers(endpoint.base_url, spec.health_path), what="the lab's health path")
    return endpoint


async def test_start_pause_resume_adopt_stop(harness: Harness) -> None:
    h = harness
    spec = h.spec()
    progress: list[tuple[int, str]] = []

    async def record(percent: int, message: str) -> None:
        progress.append((percent, message))

    endpoint = await h.runtime.start(spec, record)
    assert progress and [p for p, _ in progress] == sorted(p for p, _ in progress)
    assert all(0 <= p <= 100 and m for p, m in progress)
    await eventually(lambda: answers(endpoint.base_url, spec.health_path), what="health after start")

    status = await h.runtime.poll(spec.session_id)
    assert status.state is RuntimeState.RUNNING and status.endpoint == endpoint and status.reason is None

    usage = await h.runtime.stats(spec.session_id)
    assert usage is not None
    assert 0 < usage.memory_bytes < spec.resources.memory_bytes
    assert 1 <= usage.pids <= spec.resources.pids
    assert 0.0 <= usage.cpu_percent <= 100.0 * 64

    await h.runtime.pause(spec.session_id)
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.PAUSED
    assert not await answers(endpoint.base_url, spec.health_path, timeout=0.5)
    await h.runtime.pause(spec.session_id)  # idempotent
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.PAUSED

    await h.runtime.resume(spec.session_id)
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.RUNNING
    await eventually(lambda: answers(endpoint.base_url, spec.health_path), what="health after resume")

    managed = {lab.session_id: lab for lab in await h.runtime.list_managed()}
    assert managed[spec.session_id].state is RuntimeState.RUNNING
    assert managed[spec.session_id].endpoint == endpoint

    # A restarted worker: a new runtime object finds the lab, polls it and stops it.
    adopter = h.new_instance()
    adopted = {lab.session_id: lab for lab in await adopter.list_managed()}
    assert adopted[spec.session_id].state is RuntimeState.RUNNING
    assert adopted[spec.session_id].endpoint == endpoint
    assert (await adopter.poll(spec.session_id)).state is RuntimeState.RUNNING
    await adopter.stop(spec.session_id)
    await adopter.close()

    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.MISSING
    assert spec.session_id not in {lab.session_id for lab in await h.runtime.list_managed()}
    assert not await answers(endpoint.base_url, spec.health_path, timeout=0.5)
    assert await h.runtime.stats(spec.session_id) is None
    await h.runtime.stop(spec.session_id)  # no-op when missing


async def test_workspace_survives_stop_and_is_shared_by_key(harness: Harness) -> None:
    h = harness
    first = h.spec()
    await _start_healthy(h, first)
    await h.write(first.session_id, "notes.txt", "my work")
    await h.runtime.stop(first.session_id)

    again = h.spec(workspace_key=first.workspace_key)
    await _start_healthy(h, again)
    assert await h.read(again.session_id, "notes.txt") == "my work"

    other = h.spec(workspace_key=f"test-{uuid.uuid4().hex[:12]}")
    await _start_healthy(h, other)
    assert await h.read(other.session_id, "notes.txt") is None


async def test_start_is_idempotent(harness: Harness) -> None:
    h = harness
    spec = h.spec()
    endpoints = await asyncio.gather(h.runtime.start(spec), h.runtime.start(spec))
    assert endpoints[0] == endpoints[1]
    await eventually(lambda: answers(endpoints[0].base_url, spec.health_path), what="health")
    assert await h.runtime.start(spec) == endpoints[0]
    # A new runtime object adopts rather than creating a second environment, also when racing.
    assert await h.new_instance().start(spec) == endpoints[0]
    racing = h.spec()
    raced = await asyncio.gather(h.runtime.start(racing), h.new_instance().start(racing))
    assert raced[0] == raced[1]
    assert [lab.session_id for lab in await h.runtime.list_managed()].count(racing.session_id) == 1
    ours = [lab for lab in await h.runtime.list_managed() if lab.session_id == spec.session_id]
    assert len(ours) == 1
    usage = await h.runtime.stats(spec.session_id)
    assert usage is not None and usage.pids <= spec.resources.pids

    # Starting a paused lab resumes it.
    await h.runtime.pause(spec.session_id)
    assert await h.runtime.start(spec) == endpoints[0]
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.RUNNING


async def test_an_environment_that_dies_polls_exited_with_its_reason(harness: Harness) -> None:
    h = harness
    spec = h.spec(command=DIE_COMMAND)
    try:
        await h.runtime.start(spec)
    except ExitedAtStart as exc:  # Docker: it died before it got an address
        assert "exited with code 3" in str(exc)

    async def exited() -> bool:
        return (await h.runtime.poll(spec.session_id)).state is RuntimeState.EXITED

    await eventually(exited, what="the lab exits by itself")
    status = await h.runtime.poll(spec.session_id)
    assert status.reason == "exited with code 3"
    assert await h.runtime.stats(spec.session_id) is None
    listed = {lab.session_id: lab.state for lab in await h.new_instance().list_managed()}
    assert listed[spec.session_id] is RuntimeState.EXITED

    # Starting it again replaces the dead environment.
    healthy = replace(spec, command=h.base_spec.command)
    endpoint = await _start_healthy(h, healthy)
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.RUNNING
    assert (await h.runtime.poll(spec.session_id)).endpoint == endpoint

    await h.runtime.stop(spec.session_id)
    assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.MISSING


async def test_unknown_session(harness: Harness) -> None:
    h = harness
    unknown = uuid.uuid4()
    assert (await h.runtime.poll(unknown)).state is RuntimeState.MISSING
    assert await h.runtime.stats(unknown) is None
    await h.runtime.pause(unknown)
    await h.runtime.resume(unknown)
    await h.runtime.stop(unknown)
    assert (await h.runtime.poll(unknown)).state is RuntimeState.MISSING


async def test_workspace_key_must_be_a_plain_name(harness: Harness) -> None:
    h = harness
    for key in ("../escape", "a/b", "", ".hidden"):
        spec = h.spec(workspace_key=key)
        with pytest.raises(ValueError, match="workspace_key"):
            await h.runtime.start(spec)
        assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.MISSING


async def test_docker_refuses_an_image_outside_the_allow_list(docker_client: Any) -> None:  # noqa: F811
    h = await _docker_harness(docker_client)
    try:
        spec = h.spec(image="busybox:latest", workspace_key=f"test-{uuid.uuid4().hex[:12]}")
        with pytest.raises(ImageNotAllowed, match="busybox:latest"):
            await h.runtime.start(spec)
        # Nothing was created: no container, no workspace volume.
        names = {c.name for c in docker_client.containers.list(all=True)}
        assert container_name(spec.session_id) not in names
        volumes = {v.name for v in docker_client.volumes.list()}
        assert volume_name(spec.workspace_key) not in volumes
        assert (await h.runtime.poll(spec.session_id)).state is RuntimeState.MISSING
        # The allowed test image is accepted by the same runtime (the refusal was about the name).
        assert (await h.runtime.start(h.spec())).port == TEST_IMAGE_PORT
    finally:
        for lab in await h.runtime.list_managed():
            await h.runtime.stop(lab.session_id)
        await h.runtime.close()


async def test_build_runtime_picks_what_settings_ask_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = await build_runtime(LabsSettings(runtime="process", workspace_dir=tmp_path))
    assert isinstance(process, ProcessRuntime) and process.name == "process"
    assert process.workspace_dir == tmp_path.resolve()
    with pytest.raises(ValueError, match="labs.runtime"):
        await build_runtime(LabsSettings(runtime="kubernetes"))

    # No engine answers: docker refuses, auto falls back to local processes.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(RuntimeUnavailable, match="Docker engine"):
        await build_runtime(LabsSettings(runtime="docker"))
    fallback = await build_runtime(LabsSettings(runtime="auto", workspace_dir=tmp_path))
    assert isinstance(fallback, ProcessRuntime)


async def test_build_runtime_prefers_a_docker_engine(docker_client: Any, tmp_path: Path) -> None:  # noqa: F811
    labs = LabsSettings(runtime="auto", workspace_dir=tmp_path, allowed_images=[TEST_IMAGE])
    runtime = await build_runtime(labs)
    try:
        assert isinstance(runtime, DockerRuntime) and runtime.name == "docker"
        assert runtime.host_firewalled
    finally:
        await runtime.close()

    # An engine without any of the lab images (a developer's machine): auto runs labs as processes.
    unbuilt = labs.model_copy(update={"allowed_images": [f"coursegraph/lab-never-built-{RUN_ID}:1"]})
    assert isinstance(await build_runtime(unbuilt), ProcessRuntime)

    # labs.instance scopes the runtime to its own labs: they carry its label, others do not see them.
    scoped = await build_runtime(labs.model_copy(update={"runtime": "docker", "instance": f"a-{RUN_ID}"}))
    other = await build_runtime(labs.model_copy(update={"runtime": "docker", "instance": f"b-{RUN_ID}"}))
    assert isinstance(scoped, DockerRuntime) and isinstance(other, DockerRuntime)
    spec = _base_spec(TEST_IMAGE, TEST_IMAGE_PORT, TEST_IMAGE_HEALTH, None)
    try:
        await scoped.start(spec)
        container = await asyncio.to_thread(docker_client.containers.get, container_name(spec.session_id))
        assert container.labels["coursegraph.instance"] == f"a-{RUN_ID}"
        assert spec.session_id in {lab.session_id for lab in await scoped.list_managed()}
        assert spec.session_id not in {lab.session_id for lab in await other.list_managed()}
    finally:
        await scoped.stop(spec.session_id)
        await asyncio.to_thread(_remove_volume, docker_client, volume_name(spec.workspace_key))
        await scoped.close()
        await other.close()


def _remove_volume(client: Any, name: str) -> None:
    client.volumes.get(name).remove()


async def test_docker_refuses_an_unsafe_lab_network(docker_client: Any, tmp_path: Path) -> None:  # noqa: F811
    name = f"cg-test-unsafe-{RUN_ID}"
    network = await asyncio.to_thread(docker_client.networks.create, name, driver="bridge", labels=RUN_LABELS)
    try:
        labs = LabsSettings(runtime="auto", docker_network=name, workspace_dir=tmp_path)
        with pytest.raises(UnsafeLabNetwork, match="not internal"):
            await build_runtime(labs)  # never a silent fallback to local processes
    finally:
        await asyncio.to_thread(network.remove)


# --- the process runtime's own promises -------------------------------------------------------------


async def test_process_labs_outlive_the_worker_that_started_them(tmp_path: Path) -> None:
    """A worker (a separate Python process) starts a lab and is SIGKILLed: the lab keeps serving, and a
    new runtime object polls it, stops it, and reports a lab that ended on its own as "process ended"."""
    spec = _base_spec("-", 0, TINY_IDE_HEALTH, TINY_IDE_COMMAND)
    script = (
        "import asyncio, sys, uuid; from pathlib import Path;"
        "from subgraphs.labs.runtimes.base import LabSpec;"
        "from subgraphs.labs.runtimes.process import ProcessRuntime;"
        f"spec = LabSpec(uuid.UUID('{spec.session_id}'), uuid.uuid4(), uuid.uuid4(), '-',"
        f" {TINY_IDE_COMMAND!r}, 0, '/health',"
        f" '{spec.workspace_key}');"
        f"ep = asyncio.run(ProcessRuntime(Path(sys.argv[1])).start(spec)); print(ep.port, flush=True);"
        "sys.stdin.read()"
    )
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    port = int((await asyncio.wait_for(worker.stdout.readline(), 30)).decode())
    worker.kill()
    await worker.wait()

    runtime = ProcessRuntime(tmp_path)
    await eventually(lambda: answers(f"http://127.0.0.1:{port}", TINY_IDE_HEALTH), what="the orphaned lab")
    status = await runtime.poll(spec.session_id)
    assert status.state is RuntimeState.RUNNING and status.endpoint == Endpoint("127.0.0.1", port)
    state = await asyncio.to_thread(runtime._read_state, spec.session_id)
    assert state is not None
    assert os.getsid(state["pid"]) == state["pid"] != os.getsid(0)  # its own session, not the worker's

    os.killpg(state["pid"], signal.SIGKILL)  # the lab dies on its own; it is not our child

    async def ended() -> bool:
        return (await runtime.poll(spec.session_id)).state is RuntimeState.EXITED

    await eventually(ended, what="the lab is seen ended")
    assert (await runtime.poll(spec.session_id)).reason == "process ended"
    await runtime.stop(spec.session_id)
    assert await runtime.list_managed() == []


async def test_process_labs_get_limits_and_a_clean_environment(tmp_path: Path) -> None:
    runtime = ProcessRuntime(tmp_path)
    spec = replace(_base_spec("-", 0, TINY_IDE_HEALTH, TINY_IDE_COMMAND), env={"LAB_GREETING": "hello"})
    try:
        await _start_healthy(Harness(runtime, lambda: runtime, spec, _nothing, _nothing), spec)  # type: ignore[arg-type]
        state = await asyncio.to_thread(runtime._read_state, spec.session_id)
        assert state is not None
        pid = state["pid"]
        environ = dict(
            item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
        )
        assert environ["COURSEGRAPH_LAB_SESSION"] == str(spec.session_id)
        assert environ["LAB_GREETING"] == "hello"
        assert "DATABASE_URL" in os.environ and "DATABASE_URL" not in environ  # no platform secrets
        assert os.readlink(f"/proc/{pid}/cwd") == str(runtime.workspace_path(spec.workspace_key))
        # The test IDE lists the workspace.
        (runtime.workspace_path(spec.workspace_key) / "hello.py").write_text("print('hi')")
        async with httpx.AsyncClient() as http:
            page = await http.get(f"http://127.0.0.1:{state['port']}/")
        assert page.status_code == 200 and "test IDE" in page.text and "hello.py" in page.text
        limits = Path(f"/proc/{pid}/limits").read_text()
        address_space = next(line for line in limits.splitlines() if line.startswith("Max address space"))
        assert address_space.split()[3] == str(spec.resources.memory_bytes)
    finally:
        await runtime.stop(spec.session_id)


def _processes_of(session_id: uuid.UUID) -> list[int]:
    """Live processes labelled with the session (COURSEGRAPH_LAB_SESSION), whatever any state file says."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes() if entry.isdigit() else b""
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] if environ else "X"
        except OSError:
            continue
        if f"COURSEGRAPH_LAB_SESSION={session_id}".encode() in environ.split(b"\0") and state not in "ZX":
            found.append(int(entry))
    return found


async def test_a_process_start_cancelled_while_spawning_leaves_no_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spawn runs in a thread, which a cancellation cannot stop: the cancelled start waits for it and
    removes what it started, so no lab runs that no state file accounts for (and the lock is not given up
    while a lab is being spawned)."""
    runtime = ProcessRuntime(tmp_path)
    spec = _base_spec("-", 0, TINY_IDE_HEALTH, TINY_IDE_COMMAND)
    entered, release, spawned = threading.Event(), threading.Event(), threading.Event()
    real_spawn = runtime._spawn

    def held_spawn(*args: Any) -> Endpoint:
        entered.set()
        release.wait(30)
        try:
            return real_spawn(*args)
        finally:
            spawned.set()

    monkeypatch.setattr(runtime, "_spawn", held_spawn)
    start = asyncio.create_task(runtime.start(spec))
    try:
        assert await asyncio.to_thread(entered.wait, 30)
        start.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await start
        assert spawned.is_set(), "the start returned while its spawn was still going on"
        assert await runtime.list_managed() == []
        assert await asyncio.to_thread(_processes_of, spec.session_id) == []
    finally:
        release.set()
        await asyncio.to_thread(spawned.wait, 30)
        await runtime.stop(spec.session_id)
        for pid in await asyncio.to_thread(_processes_of, spec.session_id):
            os.killpg(pid, signal.SIGKILL)


async def test_a_process_lock_won_on_a_file_stop_unlinked_still_excludes(tmp_path: Path) -> None:
    """stop() removes the lock file it holds; a start that was waiting on that file must not hold a lock
    that someone opening the path afresh (another worker) does not see."""
    first, second = ProcessRuntime(tmp_path), ProcessRuntime(tmp_path)
    session_id = uuid.uuid4()
    path = tmp_path / ".process-runtime" / f"{session_id}.lock"
    holding, done = asyncio.Event(), asyncio.Event()

    async def waiter() -> None:
        async with second._exclusive(session_id):
            holding.set()
            await done.wait()

    async def opened_twice() -> bool:  # the waiter has the lock file open too, and polls its lock
        links = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
        return links.count(str(path)) == 2

    async with first._exclusive(session_id):
        task = asyncio.create_task(waiter())
        await eventually(opened_twice, what="the second runtime waiting on the lock file")
        path.unlink()  # what stop() does while it holds the lock
    try:
        await asyncio.wait_for(holding.wait(), 10)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    finally:
        done.set()
        await task


async def _nothing(*args: object) -> None:
    return None


async def test_starter_files_go_into_a_new_workspace_only(harness: Harness) -> None:
    """Issue 15: the exercise's starter files are in the workspace at its first start, and a later start
    never brings them back over the student's edits or deletions."""
    h = harness
    files = (("main.py", "print('start here')\n"), ("data/input.txt", "1 2 3\n"))
    first = h.spec(starter_files=files)
    await _start_healthy(h, first)
    assert await h.read(first.session_id, "main.py") == "print('start here')\n"
    assert await h.read(first.session_id, "data/input.txt") == "1 2 3\n"
    await h.write(first.session_id, "main.py", "my solution")
    await h.runtime.stop(first.session_id)

    again = h.spec(workspace_key=first.workspace_key, starter_files=files)
    await _start_healthy(h, again)
    assert await h.read(again.session_id, "main.py") == "my solution"
    await h.runtime.stop(again.session_id)

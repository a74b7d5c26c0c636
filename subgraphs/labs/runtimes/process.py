"""`ProcessRuntime`: the embedded default — one local process group per lab, no Docker needed.

Each lab is `spec.command` run as a new session (`setsid`, so stopping the worker or a subgraph never
signals a lab), in the workspace directory `<workspace_dir>/workspaces/<workspace_key>` (kept across
stop/start), with a minimal environment (spec.env + COURSEGRAPH_LAB_SESSION; nothing of the platform's
own environment — no database URL, no API keys). The runtime remembers each lab in a state file
`<workspace_dir>/.process-runtime/<session id>.json` (pid, process group, port, the process's start time
from /proc so a reused pid is never mistaken for the lab), so a new runtime object — a restarted worker —
finds, polls and stops the labs an earlier one started: that is how the reconciler adopts them.

Sandboxed (`sandbox="bubblewrap"`, what the platform runs where bubblewrap works: sandbox.py): each lab
in bubblewrap namespaces — its own user, PIDs and an empty network, read-only system directories, its
workspace the only writable mount, a private /tmp — with cgroup limits (pids, memory without swap, CPU)
where the platform may create cgroups. Everywhere: RLIMIT_AS (virtual memory, per process, from
resources.memory_bytes) and RLIMIT_NPROC (only when the platform does not run as root — root ignores it;
it counts every task of the user, so it is set to the user's current count + resources.pids).

Not sandboxed (`sandbox="none"`: no bubblewrap; the runtime's own tests): NOT a security boundary — no
CPU limit, no filesystem or network isolation, a lab runs with the platform user's rights, and a process
that calls setsid() leaves the lab's session, so stop() no longer finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subgraphs.labs.runtimes import sandbox
from subgraphs.labs.runtimes.base import (
    Endpoint,
    LabSpec,
    ManagedLab,
    ProgressCallback,
    RuntimeState,
    RuntimeStatus,
    RuntimeUnavailable,
    Usage,
)

HOST = "127.0.0.1"
_WORKSPACE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Our children by (pid, start time), shared by every runtime object of this process: reaped with
# Popen.poll() (keeping them here also stops `subprocess` from reaping them behind our back), and why the
# reaped ones ended, until the lab is stopped.
_CHILDREN: dict[tuple[int, int], subprocess.Popen] = {}
_EXIT_REASONS: dict[tuple[int, int], str] = {}


def _reap(key: tuple[int, int]) -> None:
    """If the lab is our own child and has ended: reap it and remember why."""
    child = _CHILDREN.get(key)
    if child is None or (code := child.poll()) is None:
        return
    _EXIT_REASONS[key] = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
    _CHILDREN.pop(key, None)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class _Proc:
    """One line of /proc/<pid>/stat."""

    pid: int
    state: str
    pgrp: int
    session: int
    ticks: int  # utime + stime
    threads: int
    start_time: int
    rss_bytes: int


def _read_stat(pid: int) -> _Proc | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return _Proc(
        pid=pid,
        state=fields[0],
        pgrp=int(fields[2]),
        session=int(fields[3]),
        ticks=int(fields[11]) + int(fields[12]),
        threads=int(fields[17]),
        start_time=int(fields[19]),
        rss_bytes=int(fields[21]) * _PAGE_SIZE,
    )


def _session_members(sid: int) -> list[_Proc]:
    """Live (non-zombie) processes of the lab's session."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = _read_stat(int(entry))
            if proc is not None and proc.session == sid and proc.state not in ("Z", "X"):
                members.append(proc)
    return members


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _user_task_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


class ProcessRuntime:
    name = "process"

    def __init__(
        self,
        workspace_dir: Path,
        *,
        stop_timeout: float = 5.0,
        sandbox: str = "none",
        read_only: tuple[Path, ...] = (),
    ) -> None:
        """`sandbox`: "bubblewrap" (each lab in its own sandbox, sandbox.py) or "none" (plain processes:
        tests of the runtime's own mechanics). `read_only`: more host paths a sandbox sees, read-only."""
        if sandbox not in ("none", "bubblewrap"):
            raise ValueError(f"sandbox: {sandbox!r} is not one of none, bubblewrap")
        self.workspace_dir = Path(workspace_dir).resolve()
        self.state_dir = self.workspace_dir / ".process-runtime"
        self.stop_timeout = stop_timeout
        self.sandbox = sandbox
        self.read_only = tuple(read_only)
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._last_cpu: dict[uuid.UUID, tuple[float, int]] = {}

    # -- paths and state ------------------------------------------------------------------------------

    def workspace_path(self, workspace_key: str) -> Path:
        if not _WORKSPACE_KEY.match(workspace_key):
            raise ValueError(f"workspace_key: {workspace_key!r} is not a plain name")
        return self.workspace_dir / "workspaces" / workspace_key

    def _state_path(self, session_id: uuid.UUID) -> Path:
        return self.state_dir / f"{session_id}.json"

    def _read_state(self, session_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            return json.loads(self._state_path(session_id).read_text())
        except FileNotFoundError:
            return None
        except ValueError:  # a torn write cannot happen (atomic rename); a hand-edited file is not ours
            return None

    def _write_state(self, session_id: uuid.UUID, state: dict[str, Any]) -> None:
        path = self._state_path(session_id)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)

    def _lock(self, session_id: uuid.UUID) -> asyncio.Lock:
        return self._locks.setdefault(session_id, asyncio.Lock())

    # -- observing --------------------------------------------------------------------------------------

    def _observe(self, session_id: uuid.UUID) -> tuple[RuntimeStatus, dict[str, Any] | None]:
        """The lab's state from its state file and /proc (blocking: called in a thread; writes nothing)."""
        state = self._read_state(session_id)
        if state is None:
            return RuntimeStatus(RuntimeState.MISSING), None
        endpoint = Endpoint(state["host"], state["port"])
        key = (state["pid"], state["start_time"])
        _reap(key)
        if key in _EXIT_REASONS:
            return RuntimeStatus(RuntimeState.EXITED, _EXIT_REASONS[key], endpoint), state
        proc = _read_stat(state["pid"])
        if proc is None or proc.start_time != state["start_time"] or proc.state in "ZX":
            # Not our child (a restarted worker): its exit code went to whoever reaped it.
            return RuntimeStatus(RuntimeState.EXITED, "process ended", endpoint), state
        paused = proc.state == "T"
        return RuntimeStatus(RuntimeState.PAUSED if paused else RuntimeState.RUNNING, None, endpoint), state

    def _alive_group(self, state: dict[str, Any]) -> list[_Proc]:
        """The lab's live processes; empty once the leader (verified by start time) and its group are gone."""
        leader = _read_stat(state["pid"])
        if leader is not None and leader.start_time != state["start_time"]:
            leader = None  # the pid was reused: not ours
        members = [p for p in _session_members(state["pgid"]) if p.pgrp == state["pgid"]]
        if leader is None and not members:
            return []
        return members

    def _signal_group(self, state: dict[str, Any], sig: signal.Signals) -> bool:
        if not self._alive_group(state):
            return False
        try:
            os.killpg(state["pgid"], sig)
        except ProcessLookupError:
            return False
        return True

    # -- LabRuntime ---------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self, session_id: uuid.UUID) -> AsyncIterator[None]:
        """One start/stop of a session at a time: in this process (asyncio lock) and across processes
        sharing the directory (flock, polled so a cancelled caller never leaves a lock behind)."""
        async with self._lock(session_id):
            await asyncio.to_thread(self.state_dir.mkdir, parents=True, exist_ok=True)
            path = self.state_dir / f"{session_id}.lock"
            while True:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    while True:
                        try:
                            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                            break
                        except BlockingIOError:
                            await asyncio.sleep(0.02)
                    # stop() unlinks the lock file it holds: a lock won on that unlinked file excludes no
                    # one who opens the path afresh, so lock the file now at the path instead.
                    with contextlib.suppress(FileNotFoundError):
                        if os.fstat(fd).st_ino == os.stat(path).st_ino:
                            break
                except BaseException:
                    os.close(fd)
                    raise
                os.close(fd)
            try:
                yield
            finally:
                os.close(fd)  # releases the flock

    async def start(self, spec: LabSpec, progress: ProgressCallback | None = None) -> Endpoint:
        async with self._exclusive(spec.session_id):
            status, _ = await asyncio.to_thread(self._observe, spec.session_id)
            if status.state in (RuntimeState.RUNNING, RuntimeState.PAUSED):
                assert status.endpoint is not None
                if status.state is RuntimeState.PAUSED:
                    await self.resume(spec.session_id)
                return status.endpoint
            if status.state is RuntimeState.EXITED:  # a dead earlier attempt: clear it and start afresh
                await self._stop(spec.session_id)
            if progress:
                await progress(30, "preparing workspace")
            workspace = self.workspace_path(spec.workspace_key)
            if progress:
                await progress(60, "starting process")
            # A thread cannot be cancelled: a cancelled start must not release the lock while _spawn goes
            # on (a concurrent start would see no lab and spawn a second one, whose state file hides the
            # first), nor leave behind a lab no one asked for any more. So wait for the spawn, remove what
            # it started, and only then let the cancellation through.
            spawning = asyncio.ensure_future(asyncio.to_thread(self._spawn, spec, workspace))
            try:
                endpoint = await asyncio.shield(spawning)
            except asyncio.CancelledError:
                await _finish_despite_cancellation(self._undo_spawn(spawning, spec.session_id))
                raise
            if progress:
                await progress(90, "started")
            return endpoint

    async def _undo_spawn(self, spawning: asyncio.Future, session_id: uuid.UUID) -> None:
        with contextlib.suppress(Exception):
            await spawning
        await self._stop(session_id)

    def _spawn(self, spec: LabSpec, workspace: Path) -> Endpoint:
        if not spec.command:
            raise RuntimeUnavailable("this IDE cannot run as a local process (its template has no command)")
        if not workspace.exists():  # the workspace's first start: the exercise's starter files
            write_starter_files(workspace, spec.starter_files)
        workspace.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        listener = None
        if self.sandbox == "bubblewrap":
            # Bound here, in the host's network namespace, and handed in: the lab has no network of its own.
            listener = socket.socket()
            listener.bind((HOST, 0))
            listener.listen(128)
            port = listener.getsockname()[1]
        else:
            port = _free_port()
        values = {
            "{port}": str(port),
            "{workspace}": str(workspace),
            "{base_url}": spec.base_url or "/",
            "{origin}": spec.origin,
        }
        argv = [_substitute(arg, values) for arg in spec.command]
        argv[0] = program(argv[0]) or argv[0]
        cgroup = None
        if listener is not None:
            argv = sandbox.wrap(
                argv,
                workspace=workspace,
                listen_fd=listener.fileno(),
                port=port,
                passwd=sandbox.passwd_file(self.state_dir, workspace),
                read_only=self.read_only,
            )
            if sandbox.Cgroup.available():
                cgroup = sandbox.Cgroup(spec.session_id)
                cgroup.create(spec.resources)
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(workspace),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "SHELL": "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh",  # web terminals start it
            "TERM": "xterm-256color",
            **spec.env,
            "COURSEGRAPH_LAB_SESSION": str(spec.session_id),
        }
        memory = spec.resources.memory_bytes
        nproc = None if os.geteuid() == 0 else _user_task_count() + spec.resources.pids

        def limits() -> None:  # in the child, between fork and exec: only async-signal-safe-ish calls
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if nproc is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if cgroup is not None:
                cgroup.enter()

        log_path = self.state_dir / f"{spec.session_id}.log"
        with open(log_path, "ab") as log:
            try:
                child = subprocess.Popen(
                    argv,
                    cwd=workspace,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=limits,
                    close_fds=True,
                    pass_fds=(listener.fileno(),) if listener is not None else (),
                )
            except OSError as exc:
                if cgroup is not None:
                    cgroup.remove()
                raise RuntimeUnavailable(f"cannot start {argv[0]!r}: {exc}") from exc
            finally:
                if listener is not None:
                    listener.close()  # the lab holds it now
        proc = _read_stat(child.pid)
        _CHILDREN[(child.pid, proc.start_time if proc else -1)] = child
        self._write_state(
            spec.session_id,
            {
                "session_id": str(spec.session_id),
                "user_id": str(spec.user_id),
                "organization_id": str(spec.organization_id),
                "pid": child.pid,
                "pgid": child.pid,  # a new session: the lab leads its own group
                "start_time": proc.start_time if proc else -1,
                "host": HOST,
                "port": port,
                "workspace": str(workspace),
                "sandbox": self.sandbox,
                "cgroup": cgroup is not None,
                "started_at": time.time(),
            },
        )
        return Endpoint(HOST, port)

    async def stop(self, session_id: uuid.UUID) -> None:
        async with self._exclusive(session_id):
            await self._stop(session_id)
            # The lock file goes too (we hold it): a racing process then locks a fresh file, finds no lab.
            (self.state_dir / f"{session_id}.lock").unlink(missing_ok=True)

    async def _stop(self, session_id: uuid.UUID) -> None:
        state = await asyncio.to_thread(self._read_state, session_id)
        if state is None:
            return
        # SIGCONT too: a paused lab handles SIGTERM only once it runs again.
        if await asyncio.to_thread(self._signal_group, state, signal.SIGTERM):
            await asyncio.to_thread(self._signal_group, state, signal.SIGCONT)
            if not await self._wait_gone(state, self.stop_timeout):
                await asyncio.to_thread(self._signal_group, state, signal.SIGKILL)
                await self._wait_gone(state, 5.0)
        key = (state["pid"], state["start_time"])
        await asyncio.to_thread(_reap, key)
        _EXIT_REASONS.pop(key, None)
        if state.get("cgroup"):
            await asyncio.to_thread(sandbox.Cgroup(session_id).remove)
        self._last_cpu.pop(session_id, None)
        for suffix in (".json", ".log"):
            (self.state_dir / f"{session_id}{suffix}").unlink(missing_ok=True)

    async def _wait_gone(self, state: dict[str, Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            await asyncio.to_thread(_reap, (state["pid"], state["start_time"]))
            if not await asyncio.to_thread(self._alive_group, state):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)

    async def pause(self, session_id: uuid.UUID) -> None:
        await self._signal(session_id, signal.SIGSTOP)
        # A signal is delivered when its target is next scheduled (late on a loaded machine): return once
        # the lab is seen stopped, so a poll right after says PAUSED.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            status, _ = await asyncio.to_thread(self._observe, session_id)
            if status.state is not RuntimeState.RUNNING:
                return
            await asyncio.sleep(0.01)

    async def resume(self, session_id: uuid.UUID) -> None:
        await self._signal(session_id, signal.SIGCONT)

    async def _signal(self, session_id: uuid.UUID, sig: signal.Signals) -> None:
        status, state = await asyncio.to_thread(self._observe, session_id)
        if state is not None and status.state in (RuntimeState.RUNNING, RuntimeState.PAUSED):
            await asyncio.to_thread(self._signal_group, state, sig)

    async def poll(self, session_id: uuid.UUID) -> RuntimeStatus:
        status, _ = await asyncio.to_thread(self._observe, session_id)
        return status

    async def stats(self, session_id: uuid.UUID) -> Usage | None:
        status, state = await asyncio.to_thread(self._observe, session_id)
        if state is None or status.state not in (RuntimeState.RUNNING, RuntimeState.PAUSED):
            return None
        previous = self._last_cpu.get(session_id)
        if previous is None:  # first call: measure over a short interval
            now, members = time.monotonic(), await asyncio.to_thread(self._alive_group, state)
            previous = (now, sum(p.ticks for p in members))
            await asyncio.sleep(0.2)
        now, members = time.monotonic(), await asyncio.to_thread(self._alive_group, state)
        if not members:
            return None
        ticks = sum(p.ticks for p in members)
        self._last_cpu[session_id] = (now, ticks)
        elapsed = max(now - previous[0], 1e-6)
        cpu = max(ticks - previous[1], 0) / _CLOCK_TICKS / elapsed * 100.0
        return Usage(
            cpu_percent=round(cpu, 1),
            memory_bytes=sum(p.rss_bytes for p in members),
            pids=sum(p.threads for p in members),  # tasks, as Docker's pids limit counts them
        )

    async def list_managed(self) -> list[ManagedLab]:
        def scan() -> list[ManagedLab]:
            labs = []
            if not self.state_dir.is_dir():
                return labs
            for path in sorted(self.state_dir.glob("*.json")):
                try:
                    session_id = uuid.UUID(path.stem)
                except ValueError:
                    continue
                status, _ = self._observe(session_id)
                if status.state is not RuntimeState.MISSING:
                    labs.append(ManagedLab(session_id, status.state, status.endpoint))
            return labs

        return await asyncio.to_thread(scan)

    async def supports(self, *, image: str, command: list[str] | None) -> bool:
        """Whether a lab of this template can start here: its command's program (and module) is installed."""
        return await asyncio.to_thread(can_run, command)

    async def close(self) -> None:
        """Nothing to release: labs keep running, their state files stay for the next runtime object."""


async def _finish_despite_cancellation(cleanup: Any) -> None:
    """Run `cleanup` to its end even if our caller is cancelled again meanwhile (the caller re-raises)."""
    task = asyncio.ensure_future(cleanup)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    with contextlib.suppress(Exception):
        task.result()


def write_starter_files(workspace: Path, files: tuple[tuple[str, str], ...]) -> None:
    """Create the workspace with the exercise's starter files (paths were checked by the courses domain;
    checked again here: nothing is written outside the workspace). Written into a scratch directory renamed
    into place, so a crash never leaves a half-made workspace that a later start would take as the
    student's."""
    scratch = workspace.with_name(f".{workspace.name}.{os.getpid()}.new")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for relative, content in files:
        target = (scratch / relative).resolve()
        if not target.is_relative_to(scratch.resolve()) or target == scratch.resolve():
            raise ValueError(f"starter file {relative!r} is not inside the workspace")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    try:
        scratch.rename(workspace)
    except OSError:  # made meanwhile by a concurrent start: theirs stands
        shutil.rmtree(scratch, ignore_errors=True)


def can_run(command: list[str] | tuple[str, ...] | None) -> bool:
    """Whether this machine has what the command starts: its program, and for `{python} -m <module>` the
    module (JupyterLab, Notebook) in this interpreter's environment."""
    if not command:
        return False
    program_name, *args = command
    found = sys.executable if program_name == "{python}" else program(program_name)
    if found is None:
        return False
    if program_name == "{python}" and len(args) > 1 and args[0] == "-m":
        return importlib.util.find_spec(args[1]) is not None
    if program_name == "{python}" and args and not args[0].startswith("-"):
        return Path(args[0]).is_file()
    return True


def program(name: str) -> str | None:
    """The path of a lab's program: on PATH, or beside this interpreter (the project's environment, where
    `make vscode` links code-server) when the platform runs without its environment on PATH."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def _substitute(arg: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg

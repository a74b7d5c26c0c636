"""A small asyncio process supervisor for `coursegraph dev` and the e2e tests.

It runs named children (subgraph servers, workers, the Node router), tags every output line with a
coloured ``[name]``, waits for each child's readiness URL, and tears everything down on Ctrl-C/SIGTERM
or when a child dies: SIGTERM to each child's process group, SIGKILL after a grace period. A child whose
spec says ``restart`` is restarted instead, after a backoff that doubles with each failure within
``fast_failure_seconds`` of its start; after ``max_fast_failures`` of those in a row the supervisor gives
up and stops everything (a crash loop is a bug to show, not to hide).

Every child gets its own session/process group (``start_new_session``) so that a terminal Ctrl-C reaches
only us (we decide the shutdown order) and so that a group signal also reaches grandchildren such as
``npm`` -> ``node``. On Linux each child additionally gets PR_SET_PDEATHSIG, so it is signalled if we die
abruptly (SIGKILL, OOM); that covers the direct child only - grandchildren rely on it passing the
signal on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

__all__ = [
    "ProcessFailed",
    "ProcessSpec",
    "ShutdownRequested",
    "Supervisor",
    "SupervisorError",
    "die_with_parent",
    "process_group_alive",
    "supervised",
]

_PR_SET_PDEATHSIG = 1
_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")  # ANSI foreground codes
_POLL_INTERVAL = 0.1  # readiness / group-exit polling period
_READER_LIMIT = 1 << 20  # longest output line we keep whole


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that makes the child receive ``sig`` when this process dies (Linux only).

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so spawn from the main
    (event-loop) thread, not from a short-lived worker thread. Returns None where unsupported.
    """
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def _preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died between fork() and prctl(): nobody will signal us
            os._exit(1)

    return _preexec


def process_group_alive(pgid: int) -> bool:
    """True while any non-zombie process is in process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():  # non-Linux: zombies count as alive here, good enough
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we were scanning
            continue
        # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


@dataclass
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None  # merged over os.environ (PATH etc. stay available)
    cwd: Path | None = None
    ready_url: str | None = None  # polled until it answers 200; None = ready once spawned
    ready_timeout: float = 60.0
    # Restart it when it exits unexpectedly (with backoff), instead of stopping everything; the
    # supervisor gives up (and stops the rest) after `Supervisor.max_fast_failures` fast failures in a row.
    restart: bool = False


class SupervisorError(RuntimeError):
    pass


class ProcessFailed(SupervisorError):
    """A child could not be started, exited before it was ready, or never became ready."""

    def __init__(self, name: str, reason: str, tail: list[str]) -> None:
        self.name = name
        self.reason = reason
        self.tail = tail
        shown = "\n".join(f"    {line}" for line in tail) if tail else "    (no output)"
        super().__init__(f"process {name!r} {reason}\n  last output of [{name}]:\n{shown}")


class ShutdownRequested(SupervisorError):
    """SIGINT/SIGTERM arrived while start() was waiting for readiness."""


@dataclass(eq=False)
class _Child:
    spec: ProcessSpec
    proc: asyncio.subprocess.Process
    prefix: str
    tail: deque[str]
    exited: asyncio.Task[int] = field(init=False)
    reader: asyncio.Task[None] = field(init=False)
    stopped: bool = False  # its group was already terminated and reaped
    started_at: float = 0.0  # loop time of the spawn

    @property
    def pgid(self) -> int:
        return self.proc.pid  # start_new_session: the child leads its own group


class Supervisor:
    """Runs named child processes; use as ``async with Supervisor() as sup:`` so they always get stopped."""

    def __init__(
        self,
        *,
        output: TextIO | None = None,
        color: bool | None = None,
        grace_period: float = 5.0,
        handle_signals: bool = True,
        tail_lines: int = 30,
        max_fast_failures: int = 5,
        fast_failure_seconds: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self._out = output if output is not None else sys.stdout
        if color is None:
            color = "NO_COLOR" not in os.environ and bool(getattr(self._out, "isatty", lambda: False)())
        self._color = color
        self._grace = grace_period
        self._handle_signals = handle_signals
        self._tail_lines = tail_lines
        self._children: dict[str, _Child] = {}
        self._signals_installed = False
        self._signalled: int | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._max_fast_failures = max_fast_failures
        self._fast_failure_seconds = fast_failure_seconds
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._fast_failures: dict[str, int] = {}  # consecutive fast failures per restartable child
        self._restarting: dict[str, asyncio.Task[None]] = {}
        self._gave_up: tuple[str, int] | None = None
        self.restarts: dict[str, int] = {}  # how often each child was restarted (for tests and logs)

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- public API -------------------------------------------------------------------------------------

    def pid(self, name: str) -> int:
        return self._children[name].proc.pid

    def output_tail(self, name: str) -> list[str]:
        return list(self._children[name].tail)

    async def start(self, spec: ProcessSpec) -> None:
        """Spawn ``spec`` and wait until it is ready; on failure stop it and raise ProcessFailed."""
        if self._stopping:
            raise SupervisorError(f"cannot start {spec.name!r}: the supervisor is stopping")
        if spec.name in self._children:
            raise SupervisorError(f"a process named {spec.name!r} was already started")
        self._install_signal_handlers()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(spec.env or {})}  # line-by-line output from Python
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=spec.cwd,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
                limit=_READER_LIMIT,
            )
        except OSError as exc:
            raise ProcessFailed(spec.name, f"could not be started ({spec.argv[0]}): {exc}", []) from exc
        colour = _COLOURS[len(self._children) % len(_COLOURS)]
        tag = f"[{spec.name}]"
        child = _Child(
            spec, proc, f"\x1b[{colour}m{tag}\x1b[0m" if self._color else tag, deque(maxlen=self._tail_lines)
        )
        child.started_at = asyncio.get_running_loop().time()
        child.exited = asyncio.create_task(proc.wait())
        child.exited.add_done_callback(lambda _: self._wakeup.set())
        child.reader = asyncio.create_task(self._pump(child))
        self._children[spec.name] = child
        if spec.ready_url is not None:
            try:
                await self._wait_ready(child, spec.ready_url)
            except BaseException:
                await self._terminate(child)
                raise

    async def start_many(self, specs: Iterable[ProcessSpec]) -> None:
        """Start several independent processes concurrently; raises the first failure after all settled."""
        results = await asyncio.gather(*(self.start(s) for s in specs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def wait(self) -> int:
        """Block until SIGINT/SIGTERM (-> 0) or until a child exits (-> non-zero); then stop everything."""
        self._install_signal_handlers()
        while True:
            if self._signalled is not None:
                self._log(f"received {signal.Signals(self._signalled).name}, stopping")
                await self.stop()
                return 0
            if self._gave_up is not None:
                name, code = self._gave_up
                self._log(
                    f"{name!r} failed {self._max_fast_failures} times in a row within "
                    f"{self._fast_failure_seconds:g}s of starting; giving up, stopping the rest"
                )
                await self.stop()
                return code if code > 0 else 1
            dead = [
                c
                for c in self._children.values()
                if c.proc.returncode is not None and not c.stopped and c.spec.name not in self._restarting
            ]
            for child in dead:
                code = child.proc.returncode
                assert code is not None
                if child.spec.restart:
                    self._schedule_restart(child, code)
                    continue
                self._log(f"{child.spec.name!r} exited unexpectedly with code {code}; stopping the rest")
                await self.stop()
                return code if code > 0 else 1
            if self._gave_up is not None:
                continue
            self._wakeup.clear()
            await self._wakeup.wait()

    def spec(self, name: str) -> ProcessSpec:
        return self._children[name].spec

    async def restart(self, name: str, spec: ProcessSpec | None = None) -> None:
        """Stop a child gracefully (SIGTERM: a subgraph drains its requests in flight) and start it again,
        as it was or as `spec` says (e.g. a worker with another setting)."""
        child = self._children[name]
        self._restarting[name] = asyncio.current_task()  # type: ignore[assignment]  # wait() leaves it alone
        try:
            await self._terminate(child)
            del self._children[name]
            await self.start(spec or child.spec)
            self.restarts[name] = self.restarts.get(name, 0) + 1
        finally:
            self._restarting.pop(name, None)
            self._wakeup.set()

    def give_up(self, name: str, reason: str) -> None:
        """Something supervised outside this class (an embedded database) cannot be kept running: make
        `wait()` stop everything and return non-zero."""
        self._log(f"{name!r}: {reason}")
        self._gave_up = (name, 1)
        self._wakeup.set()

    def _schedule_restart(self, child: _Child, code: int) -> None:
        """Log why `child` died and restart it after a backoff that doubles with each fast failure."""
        name = child.spec.name
        loop = asyncio.get_running_loop()
        fast = loop.time() - child.started_at < self._fast_failure_seconds
        failures = self._fast_failures.get(name, 0) + 1 if fast else 1
        self._fast_failures[name] = failures
        last = child.tail[-1] if child.tail else "(no output)"
        if failures > self._max_fast_failures:
            self._gave_up = (name, code)
            self._wakeup.set()
            return
        delay = min(self._backoff_max, self._backoff_initial * 2 ** (failures - 1))
        self._log(
            f"{name!r} exited unexpectedly with code {code} (last output: {last}); "
            f"restarting in {delay:g}s (fast failure {failures} of {self._max_fast_failures})"
        )
        self._restarting[name] = asyncio.create_task(self._restart(child, delay))

    async def _restart(self, child: _Child, delay: float) -> None:
        name = child.spec.name
        try:
            await self._terminate(child)  # whatever is left of its process group
            await asyncio.sleep(delay)
            if self._stopping:
                return
            del self._children[name]
            try:
                await self.start(child.spec)
            except ProcessFailed as exc:
                self._log(f"restarting {name!r} failed: {exc.reason}")
                replacement = self._children.get(name)
                if replacement is not None:  # its exit is seen by wait() as the next failure
                    replacement.stopped = False
                    replacement.started_at = asyncio.get_running_loop().time()
                else:
                    self._gave_up = (name, 1)
                return
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self._log(f"{name!r} restarted")
        finally:
            self._restarting.pop(name, None)
            self._wakeup.set()

    async def stop(self) -> None:
        """Terminate every child's process group: SIGTERM, SIGKILL after the grace period. Idempotent."""
        self._stopping = True
        for task in list(self._restarting.values()):
            task.cancel()
        try:
            await asyncio.gather(*(self._terminate(c) for c in list(self._children.values())))
        finally:
            self._remove_signal_handlers()

    # -- internals --------------------------------------------------------------------------------------

    def _log(self, message: str) -> None:
        tag = "\x1b[1m[supervisor]\x1b[0m" if self._color else "[supervisor]"
        self._write(f"{tag} {message}")

    def _write(self, line: str) -> None:
        try:
            self._out.write(line + "\n")
            self._out.flush()
        except (OSError, ValueError):  # our stdout went away (closed pipe); keep supervising
            pass

    async def _pump(self, child: _Child) -> None:
        stream = child.proc.stdout
        assert stream is not None
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than _READER_LIMIT; asyncio dropped it
                raw = b"<output line too long, dropped>\n"
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            child.tail.append(line)
            self._write(f"{child.prefix} {line}")

    async def _drain(self, child: _Child) -> None:
        # A grandchild may keep the pipe open after the child died; don't wait for it forever.
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(child.reader), timeout=1.0)

    async def _wait_ready(self, child: _Child, url: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + child.spec.ready_timeout
        # trust_env=False: an HTTP(S)_PROXY from the environment must not intercept localhost probes
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                if child.exited.done():
                    await self._drain(child)
                    raise ProcessFailed(
                        child.spec.name,
                        f"exited with code {child.proc.returncode} before it was ready (waiting for {url})",
                        list(child.tail),
                    )
                if self._signalled is not None:
                    raise ShutdownRequested(f"shutdown requested while waiting for {child.spec.name!r}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ProcessFailed(
                        child.spec.name,
                        f"did not answer 200 at {url} within {child.spec.ready_timeout:g}s",
                        list(child.tail),
                    )
                # wake early if the child exits or a signal arrives
                await asyncio.wait([child.exited], timeout=min(_POLL_INTERVAL, remaining))

    async def _terminate(self, child: _Child) -> None:
        if child.stopped:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        _signal_group(child.pgid, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(child.exited), timeout=self._grace)
        if not await _wait_group_gone(child.pgid, deadline - loop.time()):
            self._log(f"{child.spec.name!r} did not stop within {self._grace:g}s, killing it")
            _signal_group(child.pgid, signal.SIGKILL)
            await child.exited
            await _wait_group_gone(child.pgid, 5.0)
        await self._drain(child)
        child.reader.cancel()
        child.stopped = True

    def _install_signal_handlers(self) -> None:
        if not self._handle_signals or self._signals_installed:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self._signals_installed = True

    def _remove_signal_handlers(self) -> None:
        if not self._signals_installed:
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        self._signals_installed = False

    def _on_signal(self, sig: int) -> None:
        self._signalled = sig
        self._wakeup.set()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _wait_group_gone(pgid: int, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(seconds, 0.0)
    while process_group_alive(pgid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)  # polling a condition: there is no event for "group became empty"
    return True


@contextlib.asynccontextmanager
async def supervised(
    specs: Iterable[ProcessSpec] = (),
    *,
    output: TextIO | None = None,
    color: bool | None = None,
    grace_period: float = 5.0,
    handle_signals: bool = False,
) -> AsyncIterator[Supervisor]:
    """Start ``specs`` concurrently, wait for all to be ready, yield the supervisor, stop everything after.

    For tests: signal handling is off by default (pytest keeps its own Ctrl-C handling). Further
    processes can be started on the yielded supervisor (e.g. the router once subgraphs are up).
    """
    supervisor = Supervisor(
        output=output, color=color, grace_period=grace_period, handle_signals=handle_signals
    )
    try:
        await supervisor.start_many(specs)
        yield supervisor
    finally:
        await supervisor.stop()

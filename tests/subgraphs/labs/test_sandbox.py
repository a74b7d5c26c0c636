"""What a sandboxed process lab (the embedded default: bubblewrap, runtimes/sandbox.py) can and cannot do,
as strict as the Docker lab tests: probes run INSIDE the lab (Python, as student code would), beside a
real PostgreSQL, Redis, a listening "subgraph", another lab and the platform's data directory. Fails in CI
when bubblewrap or writable cgroups are missing; skips elsewhere with the reason."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from subgraphs.labs.runtimes import sandbox
from subgraphs.labs.runtimes.base import LabSpec, Resources, RuntimeState
from subgraphs.labs.runtimes.process import ProcessRuntime
from tests.labs_support import TINY_IDE, TINY_IDE_COMMAND, answers
from tests.services import in_ci
from tests.waiting import eventually

LIMITS = Resources(cpus=0.5, memory_bytes=256 * 1024**2, pids=64)

# Student code: tries everything it must not manage, writes what happened into its workspace.
PROBE = r"""
import json, os, socket, sys
targets, paths = json.loads(sys.argv[1]), json.loads(sys.argv[2])
found = {"connect": {}, "read": {}}
for name, (host, port) in targets.items():
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, port)); found["connect"][name] = "OPEN"
    except OSError as exc:
        found["connect"][name] = f"BLOCKED {exc}"
    finally:
        s.close()
for name, path in paths.items():
    try:
        open(path, "rb").read(1); found["read"][name] = "READ"
    except OSError as exc:
        found["read"][name] = f"REFUSED {type(exc).__name__}"
found["uid"] = (os.getuid(), os.getgid())
found["cap_eff"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
try:
    open("/usr/lab-was-here", "w"); found["write_usr"] = "WROTE"
except OSError as exc:
    found["write_usr"] = f"REFUSED {type(exc).__name__}"
open("/tmp/private-tmp-probe", "w").write("x")
found["hostname"] = socket.gethostname()
json.dump(found, open("probes.json.tmp", "w")); os.rename("probes.json.tmp", "probes.json")
import time; time.sleep(3600)
"""


def _require_sandbox() -> None:
    problem = sandbox.works() or (None if sandbox.Cgroup.available() else "no writable cgroup v1 here")
    if problem:
        if in_ci():
            pytest.fail(f"CI: {problem}; the process runtime's sandbox cannot be tested")
        pytest.skip(problem)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    _require_sandbox()
    runtime = ProcessRuntime(tmp_path / "labs", sandbox="bubblewrap", read_only=(TINY_IDE.parent,))
    yield runtime
    for lab in await runtime.list_managed():
        await runtime.stop(lab.session_id)


def _spec(command: tuple[str, ...], resources: Resources = LIMITS, key: str | None = None) -> LabSpec:
    session_id = uuid.uuid4()
    return LabSpec(
        session_id=session_id,
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image="-",
        command=command,
        port=0,
        health_path="/health",
        workspace_key=key or f"sbx-{session_id.hex[:12]}",
        resources=resources,
    )


def _host_ipv4_addresses() -> list[str]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True)
    addresses = [line.split()[3].split("/")[0] for line in out.stdout.splitlines()]
    return [a for a in addresses if not ipaddress.ip_address(a).is_loopback]


def _lab_processes(session_id: uuid.UUID) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes() if entry.isdigit() else b""
        except OSError:
            continue
        if f"COURSEGRAPH_LAB_SESSION={session_id}".encode() in environ.split(b"\0"):
            found.append(int(entry))
    return found


async def test_a_sandboxed_lab_reaches_nothing_and_reads_nothing_of_the_platform(runtime, settings):
    # Another lab, with its own work; a "subgraph" listening on the host.
    other = _spec(TINY_IDE_COMMAND)
    other_endpoint = await runtime.start(other)
    await eventually(lambda: answers(other_endpoint.base_url, "/health"), what="the other lab")
    secret = runtime.workspace_path(other.workspace_key) / "secret.txt"
    secret.write_text("someone else's work")
    # Bound to every interface, as a subgraph in production: reachable through each of the host's addresses.
    subgraph = socket.socket()
    subgraph.bind(("0.0.0.0", 0))
    subgraph.listen()
    keys = settings.auth.signing_keys_file
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.touch()
    data = settings.data_dir / "platform-data-probe"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("the platform's data")
    targets = {
        "postgresql": ("127.0.0.1", 5432),
        "redis": ("127.0.0.1", 6379),
        "subgraph": ("127.0.0.1", subgraph.getsockname()[1]),
        "other lab": ("127.0.0.1", other_endpoint.port),
        "outside": ("1.1.1.1", 53),
    }
    for address in _host_ipv4_addresses():  # the host's own non-loopback addresses
        targets[f"subgraph via {address}"] = (address, subgraph.getsockname()[1])
    paths = {
        "other lab's workspace": str(secret),
        "signing keys": str(keys),
        "data directory": str(data),
        "runtime state": str(runtime.state_dir / f"{other.session_id}.json"),
        "platform source": str(Path(sandbox.__file__).resolve()),
    }
    probe = _spec((sys.executable, "-c", PROBE, json.dumps(targets), json.dumps(paths)))
    try:
        # The control: the same targets answer the host (so "blocked" inside means the sandbox did it).
        for name, (host, port) in targets.items():
            if name != "outside":
                socket.create_connection((host, port), timeout=2).close()
        assert all(Path(path).is_file() for path in paths.values())
        await runtime.start(probe)
        results = runtime.workspace_path(probe.workspace_key) / "probes.json"

        async def written() -> bool:
            return results.exists()

        await eventually(written, timeout=30, what="the probe's results")
        found = json.loads(results.read_text())
    finally:
        subgraph.close()
    assert all(v.startswith("BLOCKED") for v in found["connect"].values()), found["connect"]
    assert all(v.startswith("REFUSED") for v in found["read"].values()), found["read"]
    assert found["uid"] == [1000, 1000] and int(found["cap_eff"], 16) == 0
    assert len(found["pids"]) <= 4, f"it sees host processes: {found['pids']}"
    assert found["write_usr"].startswith("REFUSED") and not Path("/usr/lab-was-here").exists()
    assert not Path("/tmp/private-tmp-probe").exists(), "its /tmp is its own"
    assert found["hostname"] == "lab"
    # Its workspace is the one writable place it shares with the host.
    assert (runtime.workspace_path(probe.workspace_key) / "probes.json").stat().st_size > 0


async def test_a_fork_bomb_and_a_memory_hog_are_contained(runtime):
    bomb = _spec(("/bin/sh", "-c", "(b() { b | b & }; b) 2>/dev/null; sleep 3600"))
    await runtime.start(bomb)
    cgroup = sandbox.Cgroup(bomb.session_id)

    async def at_the_limit() -> bool:
        events = (cgroup.dirs[0] / "pids.events").read_text()
        return int(events.split()[1]) > 0  # forks refused at pids.max

    await eventually(at_the_limit, timeout=30, what="the fork bomb hit the pids limit")
    assert (cgroup.pids_current() or 0) <= LIMITS.pids
    forked = await asyncio.create_subprocess_exec("/bin/true")
    assert await asyncio.wait_for(forked.wait(), 10) == 0, "the platform still forks"

    hog = _spec((sys.executable, "-c", "chunks = []\nwhile True: chunks.append(bytearray(32 * 1024**2))"))
    await runtime.start(hog)

    async def ended() -> bool:
        return (await runtime.poll(hog.session_id)).state is RuntimeState.EXITED

    await eventually(ended, timeout=30, what="the memory hog ended")
    memory = sandbox.Cgroup(hog.session_id).dirs[1]
    assert int((memory / "memory.max_usage_in_bytes").read_text()) <= LIMITS.memory_bytes

    await runtime.stop(bomb.session_id)
    await runtime.stop(hog.session_id)
    # Nothing of either lab is left, their cgroups included.
    assert _lab_processes(bomb.session_id) == [] and _lab_processes(hog.session_id) == []
    assert not any(d.exists() for d in cgroup.dirs)

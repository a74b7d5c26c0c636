"""What a Docker lab can and cannot do (DESIGN §7), checked with real containers of the registry-free
test image: probes run INSIDE the lab (busybox nc), so they see exactly what student code would see."""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from subgraphs.core.settings import LabsSettings
from subgraphs.labs.runtimes.base import Endpoint, LabSpec, Resources, RuntimeState
from subgraphs.labs.runtimes.docker import DockerRuntime, container_name
from tests.labs_support import (
    RUN_LABELS,
    TEST_IMAGE,
    TEST_IMAGE_HEALTH,
    TEST_IMAGE_PORT,
    answers,
    docker_client,  # noqa: F401 (fixture)
    exec_in,
)
from tests.services import free_port
from tests.waiting import eventually

LIMITS = Resources(cpus=0.5, memory_bytes=64 * 1024**2, pids=64)
# Every target is probed in parallel in one exec; nc reports "timed out"/"can't connect" when blocked.
PROBE = """
for target in "$@"; do
  (
    out=$(echo | timeout 3 nc -w 2 "${target%:*}" "${target##*:}" 2>&1); rc=$?
    case "$out" in
      *"timed out"*|*"can't connect"*|*"unreachable"*) echo "$target BLOCKED $out" ;;
      *) if [ -z "$out" ] && { [ $rc = 0 ] || [ $rc = 143 ]; }; then echo "$target OPEN";
         else echo "$target ERROR rc=$rc $out"; fi ;;
    esac
  ) &
done
wait
"""


@pytest.fixture
async def runtime(docker_client: Any) -> AsyncIterator[DockerRuntime]:  # noqa: F811
    runtime = await DockerRuntime.connect(LabsSettings(allowed_images=[TEST_IMAGE]), extra_labels=RUN_LABELS)
    yield runtime
    await asyncio.gather(*(runtime.stop(lab.session_id) for lab in await runtime.list_managed()))
    assert await runtime.list_managed() == []
    await runtime.close()


def _spec(command: tuple[str, ...] | None = None, resources: Resources = LIMITS) -> LabSpec:
    return LabSpec(
        session_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image=TEST_IMAGE,
        command=command,
        port=TEST_IMAGE_PORT,
        health_path=TEST_IMAGE_HEALTH,
        workspace_key=f"sec-{uuid.uuid4().hex[:12]}",
        resources=resources,
    )


async def _start(
    runtime: DockerRuntime, command: tuple[str, ...] | None = None, resources: Resources = LIMITS
) -> tuple[LabSpec, Endpoint]:
    spec = _spec(command, resources)
    endpoint = await runtime.start(spec)
    await eventually(lambda: answers(endpoint.base_url, spec.health_path), what="the lab's httpd")
    return spec, endpoint


async def _exec(client: Any, spec: LabSpec, *argv: str) -> tuple[int, str]:
    return await asyncio.to_thread(exec_in, client, container_name(spec.session_id), *argv)


def _host_ipv4_addresses() -> list[str]:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True)
    addresses = [line.split()[3].split("/")[0] for line in out.stdout.splitlines()]
    # 127.0.0.0/8 inside the lab is the lab's own loopback, not the host's.
    return [a for a in addresses if not ipaddress.ip_address(a).is_loopback]


@pytest.fixture
def host_http_server() -> Iterator[int]:
    """A subgraph-like HTTP server on the host, bound to every interface (0.0.0.0)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_a_lab_reaches_nothing_but_itself(
    runtime: DockerRuntime,
    docker_client: Any,  # noqa: F811
    host_http_server: int,
) -> None:
    # The probes run in parallel: room for their processes.
    lab, endpoint = await _start(runtime, resources=Resources(cpus=0.5, memory_bytes=128 * 1024**2, pids=512))
    other, other_endpoint = await _start(runtime)
    assert runtime.host_firewalled

    # The platform (host) reaches the lab's IDE: that is the proxy's path.
    assert await answers(endpoint.base_url, TEST_IMAGE_HEALTH)
    assert await answers(f"http://127.0.0.1:{host_http_server}", "/")

    network = await asyncio.to_thread(docker_client.networks.get, runtime.network_name)
    assert network.attrs["Internal"] is True
    assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    host_addresses = sorted({gateway, *_host_ipv4_addresses()})
    host_targets = [f"{a}:{p}" for a in host_addresses for p in (5432, 6379, host_http_server, 4000)]
    outside = ["1.1.1.1:80", "8.8.8.8:53", "93.184.216.34:443", "169.254.169.254:80"]
    neighbour = f"{other_endpoint.host}:{other_endpoint.port}"
    # A service container on Docker's default bridge (where a platform's own containers could live).
    service = await asyncio.to_thread(
        docker_client.containers.run, TEST_IMAGE, detach=True, labels=RUN_LABELS, network="bridge"
    )
    try:
        await asyncio.to_thread(service.reload)
        service_ip = service.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        service_target = f"{service_ip}:{TEST_IMAGE_PORT}"
        await eventually(lambda: answers(f"http://{service_target}", TEST_IMAGE_HEALTH), what="it serves")
        own = f"127.0.0.1:{TEST_IMAGE_PORT}"
        targets = [neighbour, service_target, *host_targets, *outside]
        code, output = await _exec(docker_client, lab, "/bin/sh", "-c", PROBE, "probe", own, *targets)
    finally:
        await asyncio.to_thread(service.remove, force=True)
    results = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert code == 0, output
    # The probe can see an open port: the lab's own httpd on its own loopback.
    assert "OPEN" in results[own], output
    for target in targets:
        assert "BLOCKED" in results[target], f"{target} is reachable from a lab:\n{output}"
    # Towards the host, packets are dropped (a "refused" would mean they reached the host's stack).
    for target in host_targets:
        assert "refused" not in results[target], output

    # No IPv6 at all (the firewall rules are IPv4): no link-local way to the host's bridge address.
    code, output = await _exec(docker_client, lab, "/bin/cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6")
    assert (code, output.strip()) == (0, "1")

    # No name resolution of the outside world either.
    code, output = await _exec(docker_client, lab, "/bin/sh", "-c", "timeout 3 nslookup example.com")
    assert code != 0, output

    # The neighbour is fine and still reachable by the platform.
    assert await answers(other_endpoint.base_url, TEST_IMAGE_HEALTH)
    assert (await runtime.poll(other.session_id)).state is RuntimeState.RUNNING


async def test_a_lab_runs_unprivileged_on_a_read_only_root(
    runtime: DockerRuntime,
    docker_client: Any,  # noqa: F811
) -> None:
    lab, _ = await _start(runtime)

    assert await _exec(docker_client, lab, "/bin/id", "-u") == (0, "1000\n")
    assert await _exec(docker_client, lab, "/bin/id", "-g") == (0, "1000\n")
    # The IDE process itself (PID 1), not only our exec.
    code, status = await _exec(docker_client, lab, "/bin/cat", "/proc/1/status")
    assert code == 0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[0] == "1000"
    for capability_set in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(fields[capability_set].strip(), 16) == 0, capability_set
    assert fields["NoNewPrivs"].strip() == "1"

    code, output = await _exec(docker_client, lab, "/bin/touch", "/etc/evil")
    assert code != 0 and "Read-only file system" in output
    code, output = await _exec(docker_client, lab, "/bin/touch", "/bin/evil")
    assert code != 0 and "Read-only file system" in output
    assert (await _exec(docker_client, lab, "/bin/touch", "/tmp/scratch"))[0] == 0
    assert (await _exec(docker_client, lab, "/bin/touch", "/workspace/work"))[0] == 0
    assert (await _exec(docker_client, lab, "/bin/touch", "/home/lab/.profile"))[0] == 0

    # No Docker socket anywhere.
    code, mounts = await _exec(docker_client, lab, "/bin/cat", "/proc/mounts")
    assert code == 0 and "docker.sock" not in mounts
    for path in ("/var/run/docker.sock", "/run/docker.sock"):
        assert (await _exec(docker_client, lab, "/bin/ls", path))[0] != 0

    container = await asyncio.to_thread(docker_client.containers.get, container_name(lab.session_id))
    host = container.attrs["HostConfig"]
    assert host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == host["MemorySwap"] == LIMITS.memory_bytes
    assert host["PidsLimit"] == LIMITS.pids
    assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
    assert not host["PortBindings"] and not container.attrs["NetworkSettings"]["Ports"]
    assert not host.get("Binds")
    assert [(m["Type"], m["Destination"]) for m in container.attrs["Mounts"]] == [("volume", "/workspace")]
    assert set(host["Tmpfs"]) == {"/tmp", "/home/lab"}
    assert host["NetworkMode"] == runtime.network_name


async def test_a_fork_bomb_stops_at_the_pids_limit(
    runtime: DockerRuntime,
    docker_client: Any,  # noqa: F811
) -> None:
    bystander, bystander_endpoint = await _start(runtime)
    # The classic bomb, lit in a subshell: a shell whose own fork is refused exits, and the lab must not
    # end with it. PID 1 (Docker's init) keeps the lab alive; the lighter then waits without forking.
    bomb = _spec(("/bin/sh", "-c", "(b() { b | b & }; b); exec sleep 3600"))
    await runtime.start(bomb)

    async def refused_forks() -> int:
        # The pids cgroup counts the forks it refused ("max N"); cgroup v1 path, then v2.
        script = "cat /sys/fs/cgroup/pids/pids.events 2>/dev/null || cat /sys/fs/cgroup/pids.events"
        code, output = await _exec(docker_client, bomb, "/bin/sh", "-c", script)
        assert code == 0, output
        return int(output.split("max")[1].split()[0])

    assert await eventually(refused_forks, timeout=30, what="the kernel refuses the bomb's forks") > 0
    container = await asyncio.to_thread(docker_client.containers.get, container_name(bomb.session_id))
    logs = (await asyncio.to_thread(container.logs)).decode(errors="replace")
    assert "can't fork: Resource temporarily unavailable" in logs
    assert (await runtime.poll(bomb.session_id)).state is RuntimeState.RUNNING
    usage = await runtime.stats(bomb.session_id)
    assert usage is not None and usage.pids <= LIMITS.pids

    # The platform and the other labs carry on.
    assert await answers(bystander_endpoint.base_url, TEST_IMAGE_HEALTH)
    assert (await runtime.poll(bystander.session_id)).state is RuntimeState.RUNNING
    assert (await _exec(docker_client, bystander, "/bin/true"))[0] == 0

    await runtime.stop(bomb.session_id)
    assert (await runtime.poll(bomb.session_id)).state is RuntimeState.MISSING


async def test_memory_above_the_limit_is_oom_killed(runtime: DockerRuntime) -> None:
    # busybox tail keeps the "last lines" of an endless line: memory grows until the limit.
    spec = _spec(("/bin/sh", "-c", "exec tail /dev/zero"))
    try:
        await runtime.start(spec)
    except RuntimeError as exc:  # killed before it had an address
        assert "out of memory" in str(exc)

    async def oom_killed() -> bool:
        return (await runtime.poll(spec.session_id)).state is RuntimeState.EXITED

    await eventually(oom_killed, timeout=30, what="the lab is killed for its memory")
    assert (await runtime.poll(spec.session_id)).reason == "out of memory"
    assert spec.session_id in {lab.session_id for lab in await runtime.list_managed()}

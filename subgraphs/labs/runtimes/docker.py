"""`DockerRuntime`: one container per lab, isolated (DESIGN §7). Every SDK call runs in a thread.

Each container (`cg-lab-<session id>`, labelled `coursegraph.lab=1`, `coursegraph.session`,
`coursegraph.user`, `coursegraph.organization`) runs
- only an image named exactly in `labs.allowed_images` (checked before anything is created);
- as uid 1000, with every capability dropped and `no-new-privileges`;
- on a read-only root filesystem, with tmpfs /tmp and /home/lab and the workspace volume
  `cg-ws-<workspace key>` at /workspace (kept across stop/start and sessions of the same key);
- with memory = memory+swap (no swap), nano_cpus and a pids limit from the spec's resources;
- under Docker's init (tini) as PID 1, without the Docker socket, without published ports, with
  small size-capped logs.

The network (`labs.docker_network`, made by `ensure_network()` on first use) is an INTERNAL bridge: no
default route, so nothing outside the host is reachable, and inter-container traffic is disabled
(`enable_icc=false`), so one student's lab cannot reach another's IDE. Docker's internal flag only
filters forwarded traffic, though: a container could still open connections to the HOST itself (the
bridge's gateway address and every other host address, where PostgreSQL, Redis and the subgraphs
listen), because those packets go through the host's INPUT chain. `ensure_network()` therefore
installs two iptables rules (idempotent, checked with `iptables -C`), first in INPUT:

    -i <lab bridge> -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT   (replies to the proxy)
    -i <lab bridge> -j DROP                                                 (everything a lab starts)

Verified here (Docker 20.10, iptables-nft): without these rules a lab reached an HTTP server bound to
0.0.0.0 on the host through the gateway and through the host's own address; with them every host
address times out. Containers on other Docker networks are out of reach through Docker's own isolation
chains. The platform's proxy, on the Docker host, still reaches `<container ip>:<port>` (host →
container is OUTPUT, not INPUT; the replies are ESTABLISHED).
Limits: the rules need root and the `iptables` binary in the host's network namespace (true when the
worker runs on the Docker host as root, as here); otherwise `ensure_network()` logs an error naming the
rules and `host_firewalled` stays False (tests/subgraphs/labs/test_lab_security.py checks the real
reachability). Rules vanish on reboot and are re-installed by the next runtime that starts. The rules
are IPv4 only: the lab network has no IPv6 and Docker disables IPv6 inside its containers (tested).
Disk use of a workspace volume is not limited.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

import docker
import docker.errors
import requests
from docker.types import LogConfig, Mount

from subgraphs.labs.runtimes.base import (
    Endpoint,
    ImageNotAllowed,
    LabSpec,
    ManagedLab,
    ProgressCallback,
    RuntimeState,
    RuntimeStatus,
    RuntimeUnavailable,
    Usage,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
LAB_LABEL = "coursegraph.lab"
SESSION_LABEL = "coursegraph.session"
WORKSPACE = "/workspace"
HOME = "/home/lab"
USER = "1000:1000"
_WORKSPACE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class UnsafeLabNetwork(RuntimeError):
    """The lab network exists but is not internal/isolated: refuse to run labs on it (never fall back)."""


class ExitedAtStart(RuntimeError):
    """The container ended before it had an address; `poll()` reports it EXITED with the reason."""


def container_name(session_id: uuid.UUID) -> str:
    return f"cg-lab-{session_id}"


def volume_name(workspace_key: str) -> str:
    if not _WORKSPACE_KEY.match(workspace_key):
        raise ValueError(f"workspace_key: {workspace_key!r} is not a plain name")
    return f"cg-ws-{workspace_key}"


class DockerRuntime:
    name = "docker"

    def __init__(
        self,
        labs: Any,
        *,
        client: docker.DockerClient | None = None,
        extra_labels: dict[str, str] | None = None,
        stop_timeout: int = 3,
    ) -> None:
        """`labs` is `LabsSettings`. `extra_labels` go on everything created and narrow `list_managed()`
        (tests use them to keep to their own labs)."""
        self.allowed_images = frozenset(labs.allowed_images)
        self.network_name: str = labs.docker_network
        self.extra_labels = dict(extra_labels or {})
        self.stop_timeout = stop_timeout
        self._client = client
        self._network_ready = False
        self._network_lock = asyncio.Lock()
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}
        self._last_cpu: dict[uuid.UUID, tuple[float, int]] = {}
        self.host_firewalled = False
        self.bridge: str | None = None

    @classmethod
    async def connect(cls, labs: Any, *, timeout: float = 2.0, **kwargs: Any) -> DockerRuntime:
        """A runtime whose engine answered a ping within `timeout`, with its network ready."""
        runtime = cls(labs, **kwargs)
        try:
            await asyncio.wait_for(runtime._ready(), timeout)
            await asyncio.wait_for(runtime._call(runtime.client.ping), timeout)
        except (TimeoutError, RuntimeUnavailable, docker.errors.DockerException) as exc:
            await runtime.close()
            raise RuntimeUnavailable(f"the Docker engine does not answer: {exc or 'timeout'}") from exc
        try:
            await runtime.ensure_network()
        except BaseException:
            await runtime.close()
            raise
        return runtime

    async def images_present(self, names: list[str]) -> list[str]:
        """Which of these images the engine has (labs never pull: images are built or loaded beforehand)."""
        present = []
        for name in names:
            try:
                await self._call(self.client.images.get, name)
            except docker.errors.ImageNotFound:
                continue
            present.append(name)
        return present

    async def supports(self, *, image: str, command: list[str] | None) -> bool:
        """Whether a lab of this template can start here: its image is allowed and on the engine."""
        return image in self.allowed_images and bool(await self.images_present([image]))

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:  # every public method awaits _ready() first
            raise RuntimeUnavailable("the Docker client is not connected")
        return self._client

    async def _ready(self) -> None:
        """Create the client in a thread: the SDK asks the engine for its API version on construction."""
        if self._client is None:
            try:
                client = await asyncio.to_thread(docker.from_env, timeout=60)
            except docker.errors.DockerException as exc:
                raise RuntimeUnavailable(f"the Docker engine does not answer: {exc}") from exc
            if self._client is None:
                self._client = client
            else:
                await asyncio.to_thread(client.close)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one blocking SDK call in a thread; an unreachable engine becomes RuntimeUnavailable."""
        try:
            return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
        except requests.exceptions.ConnectionError as exc:
            raise RuntimeUnavailable(f"the Docker engine does not answer: {exc}") from exc

    def _labels(self, **more: str) -> dict[str, str]:
        return {LAB_LABEL: "1", **self.extra_labels, **more}

    def _selector(self) -> list[str]:
        return [f"{key}={value}" for key, value in self._labels().items()]

    # -- network ---------------------------------------------------------------------------------------

    async def ensure_network(self) -> None:
        """Create the lab network if needed (internal, no inter-container traffic) and firewall it from
        the host (see the module docstring). Idempotent; safe when several runtimes race."""
        await self._ready()
        async with self._network_lock:
            if self._network_ready:
                return
            network = await self._call(self._get_or_create_network)
            options: dict[str, str] = network.attrs.get("Options") or {}
            bridge = options.get("com.docker.network.bridge.name") or f"br-{network.id[:12]}"
            self.bridge = bridge
            self.host_firewalled = await asyncio.to_thread(_firewall_bridge, bridge)
            self._network_ready = True

    def _get_or_create_network(self) -> Any:
        try:
            network = self.client.networks.get(self.network_name)
        except docker.errors.NotFound:
            try:
                network = self.client.networks.create(
                    self.network_name,
                    check_duplicate=True,  # Docker < 25 allows two networks of one name otherwise
                    driver="bridge",
                    internal=True,
                    options={"com.docker.network.bridge.enable_icc": "false"},
                    labels={LAB_LABEL: "1"},
                )
            except docker.errors.APIError as exc:  # another runtime created it meanwhile
                if exc.status_code != 409:
                    raise
                network = self.client.networks.get(self.network_name)
        network.reload()
        attrs = network.attrs
        icc = (attrs.get("Options") or {}).get("com.docker.network.bridge.enable_icc", "true")
        if not attrs.get("Internal") or icc != "false":
            raise UnsafeLabNetwork(
                f"Docker network {self.network_name!r} exists but is not internal with enable_icc=false;"
                " remove it (docker network rm) so the lab runtime creates it safely"
            )
        return network

    # -- LabRuntime --------------------------------------------------------------------------------------

    async def start(self, spec: LabSpec, progress: ProgressCallback | None = None) -> Endpoint:
        await self._ready()
        if spec.image not in self.allowed_images:
            raise ImageNotAllowed(f"image: {spec.image!r} is not on the lab image allow-list")
        volume = volume_name(spec.workspace_key)
        async with self._locks.setdefault(spec.session_id, asyncio.Lock()):
            adopted = await self._adopt(spec)
            if adopted is not None:
                return adopted
            await self.ensure_network()
            if progress:
                await progress(10, "checking image")
            try:
                await self._call(self.client.images.get, spec.image)
            except docker.errors.ImageNotFound as exc:
                raise RuntimeUnavailable(
                    f"image {spec.image!r} is not on the Docker engine (build it: infra/lab-images/README.md)"
                ) from exc
            if progress:
                await progress(30, "preparing workspace")
            fresh = not await self._volume_exists(volume)  # its first start: the starter files go in
            await self._call(
                self.client.volumes.create, volume, labels=self._labels(**{"coursegraph.workspace": "1"})
            )
            if progress:
                await progress(60, "creating container")
            # Another runtime object (another worker) may race us for the same session: whoever creates
            # the container wins, the others adopt it (Docker reserves the name a moment before the
            # container can be looked up, hence the short retry).
            deadline = time.monotonic() + 15
            while True:
                try:
                    container = await self._call(self._create, spec, volume)
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
                    adopted = await self._adopt(spec)
                    if adopted is not None:
                        return adopted
                    if time.monotonic() > deadline:
                        name = container_name(spec.session_id)
                        raise RuntimeUnavailable(f"lab container {name} keeps changing under us") from exc
                    await asyncio.sleep(0.1)
                    continue
                if fresh and spec.starter_files:
                    await self._call(container.put_archive, WORKSPACE, _starter_archive(spec.starter_files))
                if progress:
                    await progress(90, "starting")
                await self._call(container.start)
                return await self._endpoint_of(container, spec.port)

    async def _volume_exists(self, name: str) -> bool:
        try:
            await self._call(self.client.volumes.get, name)
        except docker.errors.NotFound:
            return False
        return True

    async def _adopt(self, spec: LabSpec) -> Endpoint | None:
        """The endpoint of this session's live container (started or resumed as needed); None when there
        is none — a dead one is removed so a fresh one can be created (its workspace stays)."""
        existing = await self._container(spec.session_id)
        if existing is None:
            return None
        status = existing.status
        if status == "paused":
            await self._ignore_conflict(existing.unpause)
        elif status == "created":  # just created by a racing start: start it (a no-op when started)
            await self._call(existing.start)
        elif status != "running":
            try:
                await self._call(existing.remove, force=True)
            except docker.errors.NotFound:
                pass
            return None
        return await self._endpoint_of(existing, spec.port)

    def _create(self, spec: LabSpec, volume: str) -> Any:
        res = spec.resources
        command = None
        if spec.command is not None:
            values = {"{port}": str(spec.port), "{workspace}": WORKSPACE}
            command = [_substitute(arg, values) for arg in spec.command]
        return self.client.containers.create(
            spec.image,
            command=command,
            name=container_name(spec.session_id),
            hostname="lab",
            labels=self._labels(
                **{
                    SESSION_LABEL: str(spec.session_id),
                    "coursegraph.user": str(spec.user_id),
                    "coursegraph.organization": str(spec.organization_id),
                    "coursegraph.workspace-key": spec.workspace_key,
                    "coursegraph.port": str(spec.port),
                }
            ),
            environment={
                **spec.env,
                "HOME": HOME,
                "COURSEGRAPH_LAB_SESSION": str(spec.session_id),
                # An IDE serving under its public base URL reads it from here (infra/lab-images).
                "COURSEGRAPH_LAB_BASE_URL": spec.base_url or "/",
                "COURSEGRAPH_LAB_ORIGIN": spec.origin,
            },
            user=USER,
            working_dir=WORKSPACE,
            mounts=[Mount(WORKSPACE, volume, type="volume")],
            read_only=True,
            tmpfs={
                "/tmp": f"rw,nosuid,nodev,size={_tmpfs_size(res.memory_bytes)}",
                HOME: f"rw,nosuid,nodev,size={_tmpfs_size(res.memory_bytes)},uid=1000,gid=1000,mode=0700",
            },
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=res.memory_bytes,
            memswap_limit=res.memory_bytes,
            nano_cpus=int(res.cpus * 1e9),
            pids_limit=res.pids,
            network=self.network_name,
            # tini as PID 1: it forwards SIGTERM (an IDE as PID 1 would ignore it, so stop would always
            # wait for SIGKILL) and reaps the orphans of students' processes.
            init=True,
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
            detach=True,
        )

    async def _endpoint_of(self, container: Any, port: int) -> Endpoint:
        await self._call(container.reload)
        network = (container.attrs["NetworkSettings"]["Networks"] or {}).get(self.network_name) or {}
        address = network.get("IPAddress")
        if not address:
            status = self._status(container)
            if status.state is RuntimeState.EXITED:  # died at once (bad command): it stays for poll()
                raise ExitedAtStart(f"the environment exited at once: {status.reason}")
            raise RuntimeUnavailable(f"lab container {container.name} has no address on {self.network_name}")
        return Endpoint(address, port)

    async def _container(self, session_id: uuid.UUID) -> Any | None:
        try:
            container = await self._call(self.client.containers.get, container_name(session_id))
        except docker.errors.NotFound:
            return None
        if container.labels.get(LAB_LABEL) != "1":
            return None  # a foreign container with our naming scheme: never touch it
        return container

    async def stop(self, session_id: uuid.UUID) -> None:
        await self._ready()
        async with self._locks.setdefault(session_id, asyncio.Lock()):
            container = await self._container(session_id)
            self._last_cpu.pop(session_id, None)
            if container is None:
                return
            try:
                if container.status == "paused":
                    await self._call(container.unpause)
                if container.status in ("running", "paused"):
                    await self._call(container.stop, timeout=self.stop_timeout)
                await self._call(container.remove, force=True)
            except docker.errors.NotFound:
                pass  # removed meanwhile

    async def pause(self, session_id: uuid.UUID) -> None:
        await self._ready()
        container = await self._container(session_id)
        if container is not None and container.status == "running":
            await self._ignore_conflict(container.pause)

    async def resume(self, session_id: uuid.UUID) -> None:
        await self._ready()
        container = await self._container(session_id)
        if container is not None and container.status == "paused":
            await self._ignore_conflict(container.unpause)

    async def _ignore_conflict(self, fn: Callable[[], Any]) -> None:
        try:
            await self._call(fn)
        except docker.errors.APIError as exc:  # already (un)paused or gone meanwhile
            if exc.status_code not in (404, 409):
                raise

    async def poll(self, session_id: uuid.UUID) -> RuntimeStatus:
        await self._ready()
        container = await self._container(session_id)
        if container is None:
            return RuntimeStatus(RuntimeState.MISSING)
        return self._status(container)

    def _status(self, container: Any) -> RuntimeStatus:
        state = container.attrs["State"]
        endpoint = None
        network = (container.attrs["NetworkSettings"]["Networks"] or {}).get(self.network_name) or {}
        if network.get("IPAddress"):
            endpoint = Endpoint(network["IPAddress"], int(container.labels.get("coursegraph.port", "0")))
        status = state.get("Status")
        if status == "running":
            return RuntimeStatus(RuntimeState.RUNNING, None, endpoint)
        if status == "paused":
            return RuntimeStatus(RuntimeState.PAUSED, None, endpoint)
        if state.get("OOMKilled"):
            reason = "out of memory"
        elif status == "created":
            reason = "created but never started"
        else:
            reason = f"exited with code {state.get('ExitCode')}"
            if state.get("Error"):
                reason += f": {state['Error']}"
        return RuntimeStatus(RuntimeState.EXITED, reason, None)

    async def stats(self, session_id: uuid.UUID) -> Usage | None:
        await self._ready()
        container = await self._container(session_id)
        if container is None or container.status not in ("running", "paused"):
            return None
        previous = self._last_cpu.get(session_id)
        if previous is None:  # first call: measure over a short interval
            first = await self._call(container.stats, stream=False, one_shot=True)
            previous = (time.monotonic(), _cpu_ns(first))
            await asyncio.sleep(0.2)
        now, sample = time.monotonic(), await self._call(container.stats, stream=False, one_shot=True)
        if not sample.get("pids_stats"):
            return None  # ended meanwhile
        cpu_ns = _cpu_ns(sample)
        self._last_cpu[session_id] = (now, cpu_ns)
        cpu = max(cpu_ns - previous[1], 0) / 1e9 / max(now - previous[0], 1e-6) * 100.0
        memory = sample.get("memory_stats") or {}
        detail = memory.get("stats") or {}
        # The working set, as `docker stats` shows it: usage minus reclaimable page cache.
        cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
        return Usage(
            cpu_percent=round(cpu, 1),
            memory_bytes=max(int(memory.get("usage", 0)) - int(cache), 0),
            pids=int((sample.get("pids_stats") or {}).get("current", 0)),
        )

    async def list_managed(self) -> list[ManagedLab]:
        await self._ready()
        selector = {"label": self._selector()}
        # ignore_removed: a container removed between the listing and its inspection (a lab stopping
        # meanwhile) is skipped instead of failing the whole listing with NotFound.
        containers = await self._call(
            self.client.containers.list, all=True, filters=selector, ignore_removed=True
        )
        labs = []
        for container in containers:
            try:
                session_id = uuid.UUID(container.labels.get(SESSION_LABEL, ""))
            except ValueError:
                continue
            status = self._status(container)
            labs.append(ManagedLab(session_id, status.state, status.endpoint))
        return labs

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)


def _tmpfs_size(memory_bytes: int) -> int:
    """tmpfs pages count against the container's memory; a quarter of it each, at least 16 MiB."""
    return max(memory_bytes // 4, 16 * 1024**2)


def _starter_archive(files: tuple[tuple[str, str], ...]) -> bytes:
    """A tar of the starter files (and their directories), owned by the lab's user, for put_archive."""
    buffer = io.BytesIO()
    uid, gid = (int(x) for x in USER.split(":"))
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        made: set[str] = set()
        for relative, content in files:
            path = PurePosixPath(relative)
            if path.is_absolute() or ".." in path.parts:
                raise ValueError(f"starter file {relative!r} is not inside the workspace")
            for parent in reversed(path.parents[:-1]):
                if str(parent) not in made:
                    made.add(str(parent))
                    info = tarfile.TarInfo(str(parent))
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, gid
                    tar.addfile(info)
            data = content.encode()
            info = tarfile.TarInfo(str(path))
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, gid
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _substitute(arg: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg


def _cpu_ns(sample: dict[str, Any]) -> int:
    return int(((sample.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage", 0))


def _iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True, timeout=15)


def _firewall_bridge(bridge: str) -> bool:
    """Drop every connection a lab opens towards the host itself (INPUT from the lab bridge), allowing
    only replies to connections the host opened. True when the rules are in place."""
    rules = [
        ["-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["-i", bridge, "-j", "DROP"],
    ]
    if shutil.which("iptables") is None:
        log.error("labs: no iptables; labs can reach the host's services. Add to INPUT first: %s", rules)
        return False
    try:
        if all(_iptables("-C", "INPUT", *rule).returncode == 0 for rule in rules):
            return True
        # Missing or partial: remove what is there, then insert DROP and ACCEPT above it, so the
        # ACCEPT of replies always precedes the DROP.
        for rule in rules:
            while _iptables("-C", "INPUT", *rule).returncode == 0:
                _iptables("-D", "INPUT", *rule)
        for rule in reversed(rules):
            done = _iptables("-I", "INPUT", "1", *rule)
            if done.returncode != 0:
                raise OSError(done.stderr.strip())
    except (OSError, subprocess.SubprocessError) as exc:
        log.error("labs: cannot firewall %s from the host (%s); add to INPUT first: %s", bridge, exc, rules)
        return False
    return True

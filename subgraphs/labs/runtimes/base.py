"""The `LabRuntime` protocol (after JupyterHub's Spawner) and the values it exchanges with the lifecycle.

The lifecycle (labs service + worker) owns the session state machine in PostgreSQL; a runtime only runs,
pauses, resumes and removes environments and reports what it sees. Every method is async and never blocks
the event loop. Every method is idempotent for a session id, so a lifecycle step interrupted by a crash can
simply be repeated. Environments are labelled with their session id, so `list_managed()` lets the
reconciler compare what runs with what the database accounts for after a restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class RuntimeState(StrEnum):
    """What the runtime observes of one environment (the session's status is the lifecycle's business)."""

    RUNNING = "running"  # process/container up (its IDE may not answer its health check yet)
    PAUSED = "paused"  # frozen (SIGSTOP / docker pause)
    EXITED = "exited"  # ended by itself or was killed (OOM, crash): `reason` says why
    MISSING = "missing"  # no such environment


@dataclass(frozen=True)
class Resources:
    """Limits of one environment (defaults: the original design's lab limits)."""

    cpus: float = 1.5
    memory_bytes: int = 2 * 1024**3  # no swap on top
    pids: int = 512


@dataclass(frozen=True)
class LabSpec:
    session_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    # Docker: an image that must be on the runtime's allow-list. The process runtime ignores it.
    image: str
    # The IDE's command: Docker's CMD override (None: the image's own); the process runtime's argv, where
    # "{port}" and "{workspace}" are replaced with the session's port and workspace directory.
    command: tuple[str, ...] | None
    # The IDE listens on this port inside the environment (Docker); the process runtime picks a free one.
    port: int
    health_path: str  # GET this on the endpoint; 2xx/3xx means the IDE answers
    # Workspaces persist across stop/start and across sessions of the same key (the lifecycle uses
    # "<user id>-<exercise id>"), so a student's work survives a stopped lab.
    workspace_key: str
    resources: Resources = field(default_factory=Resources)
    env: dict[str, str] = field(default_factory=dict)
    # The IDE's public base URL ("/labs/<session id>/") when it serves under it ("{base_url}" in the
    # process runtime's argv, COURSEGRAPH_LAB_BASE_URL in a container); health_path is then relative to it.
    base_url: str = ""
    # The origin browsers reach the lab on (the proxy's: scheme://host[:port]), "{origin}" in the argv.
    origin: str = ""
    # (relative path, content): written into the workspace when the runtime creates it, never afterwards
    # (a later start keeps the student's edits and deletions).
    starter_files: tuple[tuple[str, str], ...] = ()

    @property
    def health_url_path(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.health_path.lstrip("/")


@dataclass(frozen=True)
class Endpoint:
    """Where the platform's proxy reaches the IDE. Never handed to clients."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class RuntimeStatus:
    state: RuntimeState
    reason: str | None = None  # for EXITED: "out of memory", "exited with code 137", ...
    endpoint: Endpoint | None = None


@dataclass(frozen=True)
class Usage:
    cpu_percent: float  # of one CPU; 150.0 = one and a half CPUs busy
    memory_bytes: int
    pids: int


@dataclass(frozen=True)
class ManagedLab:
    """One environment found by `list_managed()` (by label), for the reconciler."""

    session_id: uuid.UUID
    state: RuntimeState
    endpoint: Endpoint | None


# Progress while starting: (percent 0–100, message), e.g. (30, "creating workspace").
ProgressCallback = Callable[[int, str], Awaitable[None]]


class ImageNotAllowed(Exception):
    """The spec names an image outside the runtime's allow-list."""


class RuntimeUnavailable(Exception):
    """The runtime cannot be reached (Docker engine down) or cannot create environments at all."""


@runtime_checkable
class LabRuntime(Protocol):
    name: str  # "docker" | "process"

    async def start(self, spec: LabSpec, progress: ProgressCallback | None = None) -> Endpoint:
        """Create (or adopt, if one already exists for spec.session_id) and start the environment; return
        once it runs. Health checking is the lifecycle's job (it GETs endpoint + health_path)."""
        ...

    async def stop(self, session_id: uuid.UUID) -> None:
        """Stop and remove the environment; keep its workspace. No-op when missing."""
        ...

    async def pause(self, session_id: uuid.UUID) -> None: ...

    async def resume(self, session_id: uuid.UUID) -> None: ...

    async def poll(self, session_id: uuid.UUID) -> RuntimeStatus: ...

    async def stats(self, session_id: uuid.UUID) -> Usage | None:
        """Current usage; None when not running."""
        ...

    async def list_managed(self) -> list[ManagedLab]: ...

    async def supports(self, *, image: str, command: list[str] | None) -> bool:
        """Whether a lab of a template with this image (Docker) and command (local processes) can start
        here; `labTemplates` offers only those."""
        ...

    async def close(self) -> None:
        """Release the runtime's own resources (clients, threads). Environments keep running."""
        ...

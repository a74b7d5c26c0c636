"""Where lab environments run: `LabRuntime` (base.py) and its implementations (Docker, local processes)."""

from __future__ import annotations

import logging
from typing import Any

from subgraphs.labs.runtimes.base import LabRuntime, RuntimeUnavailable

log = logging.getLogger(__name__)


async def build_runtime(settings: Any) -> LabRuntime:
    """The runtime `settings.labs.runtime` asks for (a `Settings` or its `LabsSettings`).

    auto: Docker when an engine answers a ping within ~2 s and has at least one of the allowed lab images,
    else local processes (the embedded default: a developer's machine with Docker but no lab images built);
    docker: Docker or RuntimeUnavailable; process: local processes. With `labs.instance` set, Docker labs
    carry the label coursegraph.instance=<it> and only those are managed (several platforms, or test
    runs, on one engine). An engine that answers but whose lab network is unsafe raises UnsafeLabNetwork
    even in auto mode: never a silent fallback to the weaker runtime.
    """
    labs = getattr(settings, "labs", settings)
    choice = labs.runtime
    if choice not in ("auto", "docker", "process"):
        raise ValueError(f"labs.runtime: {choice!r} is not one of auto, docker, process")
    if choice in ("auto", "docker"):
        from subgraphs.labs.runtimes.docker import DockerRuntime

        instance = getattr(labs, "instance", "")
        extra_labels = {"coursegraph.instance": instance} if instance else None
        try:
            runtime = await DockerRuntime.connect(labs, timeout=2.0, extra_labels=extra_labels)
        except RuntimeUnavailable as exc:
            if choice == "docker":
                raise
            log.warning("labs: no Docker engine (%s); labs run as local processes", exc)
        else:
            if choice == "docker" or await runtime.images_present(list(labs.allowed_images)):
                return runtime
            await runtime.close()
            log.warning(
                "labs: the Docker engine has none of the lab images %s (infra/lab-images/README.md); "
                "labs run as local processes",
                ", ".join(labs.allowed_images),
            )
    from subgraphs.labs.runtimes import sandbox
    from subgraphs.labs.runtimes.process import ProcessRuntime

    mode = getattr(labs, "sandbox", "auto")
    if mode not in ("auto", "bubblewrap", "none"):
        raise ValueError(f"labs.sandbox: {mode!r} is not one of auto, bubblewrap, none")
    if mode != "none":
        problem = sandbox.works()
        if problem is None:
            mode = "bubblewrap"
        elif mode == "bubblewrap":
            raise RuntimeUnavailable(f"labs.sandbox is bubblewrap, but {problem}")
        else:
            log.warning("labs: %s; labs run as plain local processes, NOT sandboxed", problem)
            mode = "none"
    if mode == "bubblewrap" and not sandbox.Cgroup.available():
        log.warning("labs: no writable cgroups here; sandboxed labs are limited by rlimits only")
    read_only = tuple(getattr(labs, "sandbox_read_only_paths", ()))
    return ProcessRuntime(labs.workspace_dir, sandbox=mode, read_only=read_only)

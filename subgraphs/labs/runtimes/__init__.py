"""Where lab environments run: `LabRuntime` (base.py) and its implementations (Docker, local processes)."""

from __future__ import annotations

import logging
from typing import Any

from subgraphs.labs.runtimes.base import LabRuntime, RuntimeUnavailable

log = logging.getLogger(__name__)


async def build_runtime(settings: Any) -> LabRuntime:
    """The runtime `settings.labs.runtime` asks for (a `Settings` or its `LabsSettings`).

    auto: Docker when an engine answers a ping within ~2 s, else local processes (the embedded default);
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
            return await DockerRuntime.connect(labs, timeout=2.0, extra_labels=extra_labels)
        except RuntimeUnavailable as exc:
            if choice == "docker":
                raise
            log.warning("labs: no Docker engine (%s); labs run as local processes (not isolated)", exc)
    from subgraphs.labs.runtimes.process import ProcessRuntime

    return ProcessRuntime(labs.workspace_dir)

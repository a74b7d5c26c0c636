"""Benchmark: a lab runtime's start → the IDE answers its health path (runtime level, no database).

    uv run python tests/perf/bench_lab_runtime.py [--starts 20] [--runtime process docker]

Per runtime, `--starts` labs one after another: time from `start()` to the first 2xx of the health path
(polled every 10 ms), then `stop()` (timed too). The process runtime runs the test IDE
(tests/tiny_ide.py, Python, stdlib http.server); Docker runs the registry-free busybox test image
(tests/labs_support.py) — real IDE images start slower (code-server and JupyterLab take seconds), so
this is the runtime's own share.
Prints p50/p95/max. Figures are for reading; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from subgraphs.core.settings import LabsSettings  # noqa: E402
from subgraphs.labs.runtimes.base import LabRuntime, LabSpec, Resources  # noqa: E402
from subgraphs.labs.runtimes.docker import DockerRuntime, volume_name  # noqa: E402
from subgraphs.labs.runtimes.process import ProcessRuntime  # noqa: E402
from tests.labs_support import (  # noqa: E402
    RUN_LABELS,
    TEST_IMAGE,
    TEST_IMAGE_HEALTH,
    TEST_IMAGE_PORT,
    TINY_IDE_COMMAND,
    TINY_IDE_HEALTH,
    connect_docker,
    ensure_test_image,
    remove_run_resources,
)


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  max {ms[-1]:7.1f} ms  (n={len(ms)})"


async def bench(runtime: LabRuntime, spec_for: callable, starts: int) -> None:  # type: ignore[valid-type]
    to_health: list[float] = []
    to_stop: list[float] = []
    async with httpx.AsyncClient(timeout=1.0) as http:
        for _ in range(starts):
            spec: LabSpec = spec_for()
            began = time.perf_counter()
            endpoint = await runtime.start(spec)
            deadline = began + 60
            while True:
                try:
                    if (await http.get(endpoint.base_url + spec.health_path)).status_code < 400:
                        break
                except httpx.HTTPError:
                    pass
                if time.perf_counter() > deadline:
                    raise SystemExit(f"{runtime.name}: no health answer within 60 s")
                await asyncio.sleep(0.01)
            to_health.append(time.perf_counter() - began)
            began = time.perf_counter()
            await runtime.stop(spec.session_id)
            to_stop.append(time.perf_counter() - began)
    print(f"{runtime.name:8s} start → health  {summary(to_health)}")
    print(f"{runtime.name:8s} stop            {summary(to_stop)}")


def make_spec(image: str, port: int, health: str, command: tuple[str, ...] | None, key: str) -> LabSpec:
    return LabSpec(
        session_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        image=image,
        command=command,
        port=port,
        health_path=health,
        workspace_key=key,
        resources=Resources(),
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--runtime", nargs="+", default=["process", "docker"])
    args = parser.parse_args()
    key = f"bench-{uuid.uuid4().hex[:8]}"  # one workspace for every start, as a student's restarts
    if "process" in args.runtime:
        with tempfile.TemporaryDirectory() as tmp:
            runtime = ProcessRuntime(Path(tmp))
            await bench(
                runtime, lambda: make_spec("-", 0, TINY_IDE_HEALTH, TINY_IDE_COMMAND, key), args.starts
            )
    if "docker" in args.runtime:
        client = connect_docker()
        if client is None:
            print("docker   no engine answers: skipped")
            return
        ensure_test_image(client)
        labs = LabsSettings(allowed_images=[TEST_IMAGE])
        runtime = await DockerRuntime.connect(labs, extra_labels=RUN_LABELS)
        try:
            spec = lambda: make_spec(TEST_IMAGE, TEST_IMAGE_PORT, TEST_IMAGE_HEALTH, None, key)  # noqa: E731
            await bench(runtime, spec, args.starts)
        finally:
            await runtime.close()
            remove_run_resources(client)
            assert not [v for v in client.volumes.list() if v.name == volume_name(key)]
            client.close()


if __name__ == "__main__":
    asyncio.run(main())

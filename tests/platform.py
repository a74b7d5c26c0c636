"""The platform as processes, started by tests: every subgraph, the worker and the real Hive Gateway router.

Ports differ from `make run`'s so the suite never meets a running dev instance. All processes share the
test database, Redis db, signing keys and mail folder through the environment set in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from subgraphs.core.cli import ROUTER_DIR, router_argv, router_env
from subgraphs.core.domains import DOMAINS
from subgraphs.core.settings import get_settings
from subgraphs.core.supervisor import ProcessSpec, Supervisor, supervised
from tests.fakes.anthropic_server import MODEL as FAKE_MODEL
from tests.services import free_port


@dataclass
class Platform:
    router_url: str
    subgraph_urls: dict[str, str]  # domain -> base URL (no /graphql)
    web_dir: Path  # the router's CG_WEB_DIR
    supervisor: Supervisor | None = None  # to kill or restart one of its processes (tests/faults)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.router_url, timeout=30)


@asynccontextmanager
async def running_platform(
    anthropic_url: str,
    *,
    web_dir: Path | None = None,
    public_origin: bool = False,
    demo_labs: bool = False,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """Start the platform; `public_origin` makes the router's address the origin of mailed links and of
    browser sessions (what a browser test needs), `web_dir` the app the router serves, `demo_labs` runs
    labs as `make run` does where no lab image is built (the demo templates name the real IDE images)."""
    settings = get_settings()
    ports = {domain: free_port() for domain in DOMAINS}
    urls = {domain: f"http://127.0.0.1:{port}" for domain, port in ports.items()}
    router_port = free_port()
    router_url = f"http://127.0.0.1:{router_port}"
    web_dir = web_dir or Path(os.environ["COURSEGRAPH_DATA_DIR"]) / "web-dist"
    jwks_url = f"{urls['users']}/.well-known/jwks.json"
    env = {k: v for k, v in os.environ.items() if k.startswith(("COURSEGRAPH_", "DATABASE_URL", "REDIS_URL"))}
    env["COURSEGRAPH_AUTH__JWKS_URL"] = jwks_url
    # The streams hold every event the run emitted (one Redis per run): this platform's worker can start far
    # behind them, so a read-your-writes miss may wait longer than the 5 s default for it.
    env["COURSEGRAPH_EVENTS__READ_YOUR_WRITES_WAIT_SECONDS"] = "30"
    # The worker's generation jobs call the local fake Anthropic server (the real API is a paid service).
    env["COURSEGRAPH_GENERATOR__ANTHROPIC_API_KEY"] = "sk-e2e-fake"
    env["COURSEGRAPH_GENERATOR__BASE_URL"] = anthropic_url
    env["COURSEGRAPH_GENERATOR__MODEL"] = FAKE_MODEL
    if public_origin:
        env["COURSEGRAPH_MAIL__WEB_BASE_URL"] = router_url
        env["COURSEGRAPH_ROUTER__CORS_ORIGINS"] = json.dumps([router_url])
    # The content worker reads courses through this router with a service token from this users subgraph,
    # and signed file links point at the router's origin.
    env["COURSEGRAPH_ROUTER__SUBGRAPH_URLS"] = json.dumps({d: f"{u}/graphql" for d, u in urls.items()})
    env["COURSEGRAPH_CONTENT__ROUTER_URL"] = router_url
    env["COURSEGRAPH_CONTENT__PUBLIC_URL"] = router_url
    env.update(lab_env(urls["labs"]))
    if demo_labs:
        env["COURSEGRAPH_LABS__RUNTIME"] = "process"
    env.update(extra_env or {})  # e.g. a Redis of the test's own (tests/faults)
    python = sys.executable
    specs = [
        ProcessSpec(
            name=domain,
            argv=[python, "-m", "subgraphs.core.cli", "serve", domain, "--port", str(ports[domain])],
            env=env,
            ready_url=f"{urls[domain]}/ready",
        )
        for domain in DOMAINS
    ]
    specs.append(ProcessSpec(name="worker", argv=[python, "-m", "subgraphs.core.cli", "worker"], env=env))
    gateway_env = {
        **env,
        **router_env(settings),
        "CG_PORT": str(router_port),
        "CG_JWKS_URL": jwks_url,
        "CG_SUBGRAPH_URLS": json.dumps({domain: f"{url}/graphql" for domain, url in urls.items()}),
        "CG_WEB_DIR": str(web_dir),
    }
    if public_origin:
        gateway_env["CG_CORS_ORIGINS"] = router_url
    router = ProcessSpec(
        name="router",
        argv=router_argv(),
        env=gateway_env,
        cwd=ROUTER_DIR,
        ready_url=f"{router_url}/readiness",
        ready_timeout=90,
    )
    async with supervised(specs) as supervisor:
        await supervisor.start(router)
        yield Platform(router_url=router_url, subgraph_urls=urls, web_dir=web_dir, supervisor=supervisor)


def lab_env(labs_url: str) -> dict[str, str]:
    """Labs of the e2e platform: Docker with the registry-free test image when an engine answers (CI has
    one), else local processes; labelled with this run's id so the platform reconciles only its own."""
    from tests.labs_support import TEST_IMAGE, docker_available, ensure_test_image
    from tests.services import RUN_ID

    env = {
        "COURSEGRAPH_LABS__WORKSPACE_DIR": str(Path(os.environ["COURSEGRAPH_DATA_DIR"]) / "labs"),
        "COURSEGRAPH_LABS__INSTANCE": f"e2e-{RUN_ID}",
        "COURSEGRAPH_LABS__MONITOR_INTERVAL_SECONDS": "0.5",
        "COURSEGRAPH_LABS__PUBLIC_URL": labs_url,
        "COURSEGRAPH_LABS__RUNTIME": "process",
        # Sandboxed process labs see the tests' tiny IDE (tests/tiny_ide.py), read-only.
        "COURSEGRAPH_LABS__SANDBOX_READ_ONLY_PATHS": json.dumps([str(Path(__file__).parent)]),
    }
    if docker_available():
        import docker

        client = docker.from_env()
        try:
            ensure_test_image(client)
        except pytest.skip.Exception:  # no static busybox to build it (outside CI): labs run as processes
            return env
        finally:
            client.close()
        allowed = [*get_settings().labs.allowed_images, TEST_IMAGE]
        env.update(
            {"COURSEGRAPH_LABS__RUNTIME": "docker", "COURSEGRAPH_LABS__ALLOWED_IMAGES": json.dumps(allowed)}
        )
    return env

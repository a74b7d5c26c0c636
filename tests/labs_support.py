"""Shared helpers for lab tests: is a Docker engine there, the registry-free test image, polling.

The test image `coursegraph/lab-test:1` is made with `docker import` from a tiny root filesystem built
here from Debian's static busybox (no registry needed): busybox and its applets in /bin, a user 1000,
`/www/health`, `/workspace`; its CMD serves /www with busybox httpd on port 8080 (health path /health).
In CI (CI=true) a missing engine or busybox FAILS the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import RUN_ID, in_ci

# The process runtime's test IDE (tests/tiny_ide.py): as a LabSpec command, and as a template's command.
TINY_IDE = Path(__file__).with_name("tiny_ide.py")
TINY_IDE_COMMAND = (sys.executable, str(TINY_IDE), "--port", "{port}", "--workspace", "{workspace}")
TINY_IDE_TEMPLATE_COMMAND = ["{python}", *TINY_IDE_COMMAND[1:]]
TINY_IDE_HEALTH = "/health"

# The real IDE images (`coursegraph labs build-images`): JupyterLab and the terminal share one base.
JUPYTER_IMAGES = ("coursegraph/lab-jupyter:1", "coursegraph/lab-terminal:1")
VSCODE_IMAGE = "coursegraph/lab-vscode:1"
TEST_IMAGE = "coursegraph/lab-test:1"
TEST_IMAGE_PORT = 8080
TEST_IMAGE_HEALTH = "/health"
# Labels every container/volume a test run creates carries, so cleanup never touches anyone else's labs.
RUN_LABELS = {"coursegraph.test-run": RUN_ID}
BUSYBOX = Path("/bin/busybox")


def connect_docker() -> Any | None:
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        return client
    except Exception:
        return None


def docker_available() -> bool:
    client = connect_docker()
    if client is None:
        return False
    client.close()
    return True


def require_docker() -> Any:
    """A connected docker client; fails in CI, skips elsewhere, when no engine answers."""
    client = connect_docker()
    if client is None:
        message = "no Docker engine answers (docker info fails); the Docker lab runtime cannot be tested"
        if in_ci():
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return client


def require_lab_images(tags: list[str]) -> Any:
    """A connected docker client whose engine has these lab images (`coursegraph labs build-images`); fails
    in CI (.ci/run builds them), skips elsewhere, when an engine or an image is missing."""
    import docker

    client = require_docker()
    missing = []
    for tag in tags:
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            missing.append(tag)
    if missing:
        client.close()
        message = f"lab images {', '.join(missing)} are not built (uv run coursegraph labs build-images)"
        if in_ci():
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return client


def ensure_test_image(client: Any) -> str:
    """Build `coursegraph/lab-test:1` once (skipped when the engine already has it)."""
    import docker

    try:
        client.images.get(TEST_IMAGE)
        return TEST_IMAGE
    except docker.errors.ImageNotFound:
        pass
    if not _is_static(BUSYBOX):
        message = f"{BUSYBOX} is missing or not static (apt-get install busybox-static) to build {TEST_IMAGE}"
        if in_ci():
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for name in ("bin", "etc", "www", "proc", "sys", "dev", "run"):
                _add_dir(tar, name)
            _add_dir(tar, "tmp", mode=0o1777)
            _add_dir(tar, "workspace", owner=1000)
            _add_dir(tar, "home", mode=0o755)
            _add_dir(tar, "home/lab", owner=1000, mode=0o700)
            tar.add(str(BUSYBOX), "bin/busybox")
            for applet in applets.stdout.split():
                if applet != "busybox":
                    link = tarfile.TarInfo(f"bin/{applet}")
                    link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                    tar.addfile(link)
            _add_file(tar, "www/health", b"ok\n")
            passwd = b"root:x:0:0:root:/root:/bin/sh\nlab:x:1000:1000::/home/lab:/bin/sh\n"
            _add_file(tar, "etc/passwd", passwd)
            _add_file(tar, "etc/group", b"root:x:0:\nlab:x:1000:\n")
        repository, tag = TEST_IMAGE.split(":")
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=tag,
            changes=[
                f'CMD ["/bin/busybox","httpd","-f","-p","{TEST_IMAGE_PORT}","-h","/www"]',
                "ENV PATH=/bin",
                "USER 1000:1000",
                "WORKDIR /workspace",
            ],
        )
    client.images.get(TEST_IMAGE)
    return TEST_IMAGE


def _is_static(path: Path) -> bool:
    if not path.is_file():
        return False
    # A dynamically linked ELF names its interpreter (PT_INTERP, near the start): look for the loader.
    return b"ld-linux" not in path.read_bytes()[:4096] and shutil.which(str(path)) is not None


def _add_dir(tar: tarfile.TarFile, name: str, *, owner: int = 0, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, owner, owner
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def remove_run_resources(client: Any, labels: dict[str, str] = RUN_LABELS) -> None:
    """Remove every container and volume carrying these labels (the end of a test session)."""
    selector = [f"{key}={value}" for key, value in labels.items()]
    for container in client.containers.list(all=True, filters={"label": selector}):
        container.remove(force=True)
    for volume in client.volumes.list(filters={"label": selector}):
        volume.remove(force=True)


@asynccontextmanager
async def vscode_template_serving_the_test_ide(runtime: Any, *, use_docker: bool) -> AsyncIterator[None]:
    """The e2e platform's VS Code template, for the duration, starts the test image (Docker) or the tiny
    test IDE (local processes): both answer /health at their root. The real template is put back after."""
    from sqlalchemy import select, update

    from subgraphs.labs.models import LabTemplate

    test_ide: dict[str, Any] = {"health_path": TINY_IDE_HEALTH, "serves_base_url": False}
    test_ide |= {"image": TEST_IMAGE} if use_docker else {"command": TINY_IDE_TEMPLATE_COMMAND}
    vscode = LabTemplate.ide == "VSCODE"
    async with runtime.transaction() as session:
        real = await session.scalar(select(LabTemplate).where(vscode))
        kept = {key: getattr(real, key) for key in test_ide}
        await session.execute(update(LabTemplate).where(vscode).values(**test_ide))
    try:
        yield
    finally:
        async with runtime.transaction() as session:
            await session.execute(update(LabTemplate).where(vscode).values(**kept))


async def answers(base_url: str, path: str, *, timeout: float = 2.0) -> bool:
    """True when GET base_url+path answers 2xx/3xx within `timeout`; False on refusal or timeout."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(base_url + path)
    except httpx.HTTPError:
        return False
    return response.status_code < 400


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A Docker client with the test image built; removes this run's labs and volumes at the end.
    (Import it into a test module to use it.)"""
    client = require_docker()
    ensure_test_image(client)
    yield client
    remove_run_resources(client)
    client.close()


def exec_in(client: Any, container_name: str, *argv: str) -> tuple[int, str]:
    """Run a command inside a lab container as the lab user: (exit code, output)."""
    result = client.containers.get(container_name).exec_run(list(argv), user="1000:1000")
    return result.exit_code, result.output.decode(errors="replace")

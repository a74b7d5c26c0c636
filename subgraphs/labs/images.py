"""`coursegraph labs build-images`: the Docker lab images, built without any image registry.

1. bases (BASES): Debian root filesystems made with mmdebstrap (or debootstrap) from the host's apt
   sources, `docker import`ed as `coursegraph/lab-base:<recipe hash>` — bookworm with Python for
   JupyterLab, trixie with Node.js 20 for code-server;
2. each IDE image: its Dockerfile in `infra/lab-images/<ide>/`, built FROM its base (or FROM another IDE
   image: the terminal is the JupyterLab image with another command), installing from PyPI or npm;
3. a health check of every freshly built image on its IDE's real endpoint (`<base url>api/status`, as the
   lab lifecycle checks it; `/healthz` for code-server), run the way the runtime runs labs (uid 1000,
   read-only root, no capabilities); only an image that answers gets its final tag
   (`coursegraph/lab-<ide>:1`, what the templates name).

Every image carries the label `coursegraph.recipe`: a hash of everything it is made from (its Dockerfile
and files, its parent's hash). An image whose tag already carries the same hash is not built again, so a
machine builds once and reuses (CI included); `--rebuild` forces a fresh build (Debian's or PyPI's
packages moved on).

The build's pip and npm reach their registries the way the host does: through the host's network and
trusting the host's CA bundle (a machine behind a TLS-inspecting proxy trusts its CA there).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "infra" / "lab-images"
RECIPE_LABEL = "coursegraph.recipe"


@dataclass(frozen=True)
class Base:
    """A Debian root filesystem: its suite and packages."""

    suite: str
    packages: tuple[str, ...]


# Student tools every image has: a shell, git, an editor, make.
TOOLS = ("bash", "bash-completion", "ca-certificates", "git", "less", "nano", "vim-tiny", "procps", "make")
BASES = {
    # Python for JupyterLab's virtual environment.
    "base": Base("bookworm", ("python3", "python3-venv", *TOOLS)),
    # Node.js 20 (trixie's; bookworm's is 18) and what code-server's native modules are compiled with.
    "base-node": Base(
        "trixie",
        (
            "nodejs",
            "npm",
            "libnode-dev",
            "g++",
            "make",
            "python3",
            "ripgrep",
            "bash",
            "ca-certificates",
            "git",
        )
        + ("less", "nano", "procps"),
    ),
}
HOST_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
BUILD_CA = "build-ca.crt"  # the host's CA bundle, copied into each build context for pip
HEALTH_BASE_URL = "/labs/build-check/"


class BuildFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Recipe:
    key: str  # "jupyter"
    tag: str  # "coursegraph/lab-jupyter:1"
    parent: str  # a key of BASES or another recipe's key
    health_path: str  # relative to the IDE's base URL (or to its root when it does not serve under one)
    serves_base_url: bool = True  # as the template's serves_base_url

    @property
    def context(self) -> Path:
        return RECIPES / self.key


IMAGES = (
    Recipe("jupyter", "coursegraph/lab-jupyter:1", "base", "api/status"),
    Recipe("terminal", "coursegraph/lab-terminal:1", "jupyter", "terminals/main"),
    Recipe("vscode", "coursegraph/lab-vscode:1", "base-node", "healthz", serves_base_url=False),
)


def base_recipe_hash(key: str = "base") -> str:
    base = BASES[key]
    recipe = {"variant": "minbase", "suite": base.suite, "packages": base.packages}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def recipe_hash(recipe: Recipe, parent_hash: str) -> str:
    """Of the recipe's files (names and contents) and its parent's hash."""
    digest = hashlib.sha256(parent_hash.encode())
    for path in sorted(p for p in recipe.context.rglob("*") if p.is_file() and p.name != BUILD_CA):
        digest.update(str(path.relative_to(recipe.context)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def base_tag(hash_: str) -> str:
    return f"coursegraph/lab-base:{hash_[:16]}"


class Builder:
    def __init__(self, client: Any, *, say: Callable[[str], None] = print, rebuild: bool = False) -> None:
        self.client = client
        self.say = say
        self.rebuild = rebuild

    def _built(self, tag: str, hash_: str) -> bool:
        import docker.errors

        try:
            image = self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return (image.labels or {}).get(RECIPE_LABEL) == hash_

    def build(self, keys: list[str]) -> dict[str, str]:
        """Build what `keys` need (parents first); returns {key: tag} of every image made or reused."""
        wanted = [r for r in IMAGES if r.key in keys]
        unknown = set(keys) - {r.key for r in IMAGES}
        if unknown:
            raise BuildFailed(f"unknown images: {', '.join(sorted(unknown))} (known: {known_keys()})")
        needed: list[Recipe] = []
        for recipe in wanted:  # with their parents, parents first
            chain = []
            while recipe is not None and recipe not in needed and recipe not in chain:
                chain.append(recipe)
                recipe = next((r for r in IMAGES if r.key == recipe.parent), None)
            needed.extend(reversed(chain))
        hashes: dict[str, str] = {}
        tags: dict[str, str] = {}
        for key in dict.fromkeys(r.parent for r in needed if r.parent in BASES):
            hashes[key] = base_recipe_hash(key)
            tags[key] = base_tag(hashes[key])
            self._base(key, tags[key], hashes[key])
        for recipe in needed:
            hashes[recipe.key] = recipe_hash(recipe, hashes[recipe.parent])
            tags[recipe.key] = recipe.tag
            self._image(recipe, tags[recipe.parent], hashes[recipe.key])
        return {k: v for k, v in tags.items() if k in keys}

    # -- base: a Debian root filesystem, imported ------------------------------------------------------

    def _base(self, key: str, tag: str, hash_: str) -> None:
        name, base = f"[{key}]", BASES[key]
        if not self.rebuild and self._built(tag, hash_):
            self.say(f"{name} {tag}: up to date (recipe {hash_[:12]})")
            return
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="coursegraph-rootfs-") as tmp:
            archive = Path(tmp) / "rootfs.tar"
            self.say(f"{name} Debian {base.suite} root filesystem ({', '.join(base.packages)})")
            _rootfs(base, archive, Path(tmp), self.say, name)
            self.say(f"{name} docker import ({archive.stat().st_size // 2**20} MiB) as {tag}")
            repository, version = tag.split(":")
            self.client.api.import_image_from_file(
                str(archive),
                repository=repository,
                tag=version,
                changes=[
                    f"LABEL {RECIPE_LABEL}={hash_}",
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
                    'CMD ["/bin/bash"]',
                ],
            )
        self.say(f"{name} done in {time.monotonic() - started:.0f} s")

    # -- IDE images ----------------------------------------------------------------------------------

    def _image(self, recipe: Recipe, parent_tag: str, hash_: str) -> None:
        name = f"[{recipe.key}]"
        if not self.rebuild and self._built(recipe.tag, hash_):
            self.say(f"{name} {recipe.tag}: up to date (recipe {hash_[:12]})")
            return
        started = time.monotonic()
        candidate = f"{recipe.tag.split(':')[0]}:candidate-{hash_[:12]}"
        self.say(f"{name} docker build FROM {parent_tag}")
        with _context_with_ca(recipe.context):
            log: list[str] = []
            stream = self.client.api.build(
                path=str(recipe.context),
                tag=candidate,
                buildargs={"BASE": parent_tag},
                labels={RECIPE_LABEL: hash_},
                network_mode="host",  # pip reaches PyPI as the host does
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    tail = "".join(log[-30:])
                    raise BuildFailed(f"{recipe.tag}: {chunk['error'].strip()}\n{tail}")
                text = chunk.get("stream", "")
                log.append(text)
                if text.startswith(("Step ", "code-server ")):  # Docker's steps, install-code-server.sh's
                    self.say(f"{name} {text.strip()}")
        self.say(f"{name} built in {time.monotonic() - started:.0f} s; health check on {recipe.health_path}")
        try:
            waited = check_health(self.client, candidate, recipe.health_path, recipe.serves_base_url)
        except BuildFailed:
            self.client.images.remove(candidate, noprune=False)
            raise
        self.say(f"{name} answers its health check after {waited:.1f} s")
        self.client.images.get(candidate).tag(*recipe.tag.split(":"))
        self.client.images.remove(candidate, noprune=True)
        self.say(f"{name} {recipe.tag} ready")


def known_keys() -> str:
    return ", ".join(r.key for r in IMAGES)


def _rootfs(base: Base, archive: Path, tmp: Path, say: Callable[[str], None], name: str) -> None:
    """A Debian root filesystem as a tar, from the host's apt sources (mmdebstrap, else debootstrap)."""
    packages = ",".join(base.packages)
    if shutil.which("mmdebstrap"):
        argv = ["mmdebstrap", "--variant=minbase", f"--include={packages}", base.suite, str(archive)]
        _run(argv, say, name)
        return
    if shutil.which("debootstrap"):
        target = tmp / "root"
        _run(
            ["debootstrap", "--variant=minbase", f"--include={packages}", base.suite, str(target)], say, name
        )
        _run(["tar", "-C", str(target), "-cf", str(archive), "."], say, name)
        return
    raise BuildFailed("neither mmdebstrap nor debootstrap is here (Debian: apt-get install -y mmdebstrap)")


def _run(argv: list[str], say: Callable[[str], None], prefix: str) -> None:
    say(f"{prefix} $ {' '.join(argv)}")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(("I: ", "E: ", "W: ")):  # mmdebstrap's and debootstrap's progress
            say(f"{prefix} {line.rstrip()}")
    if process.wait() != 0:
        raise BuildFailed(f"{argv[0]} failed (exit {process.returncode}):\n{''.join(lines[-30:])}")


@contextlib.contextmanager
def _context_with_ca(context: Path) -> Iterator[None]:
    """The host's CA bundle in the build context for the build's pip (not part of the recipe hash)."""
    bundle = next((Path(p) for p in HOST_CA_BUNDLES if Path(p).is_file()), None)
    if bundle is None:
        raise BuildFailed(f"no CA bundle on this host ({', '.join(HOST_CA_BUNDLES)}) for pip to trust")
    target = context / BUILD_CA
    shutil.copyfile(bundle, target)
    try:
        yield
    finally:
        target.unlink(missing_ok=True)


def check_health(
    client: Any, image: str, health_path: str, under_base_url: bool = True, timeout: float = 180.0
) -> float:
    """Run the image as the runtime runs labs and wait for `<base url><health_path>` (or `/<health_path>`)
    to answer 200; returns the seconds it took. The container is removed either way."""
    path = (HEALTH_BASE_URL if under_base_url else "/") + health_path.lstrip("/")
    started = time.monotonic()
    container = client.containers.run(
        image,
        detach=True,
        user="1000:1000",
        read_only=True,
        tmpfs={
            "/tmp": "rw,nosuid,nodev,size=256m",
            "/home/lab": "rw,nosuid,nodev,size=256m,uid=1000,gid=1000",
        },
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        init=True,
        environment={"COURSEGRAPH_LAB_BASE_URL": HEALTH_BASE_URL, "HOME": "/home/lab"},
        labels={"coursegraph.build-check": "1"},
    )
    try:
        url = None
        while time.monotonic() - started < timeout:
            container.reload()
            if container.status == "exited":
                logs = container.logs(tail=30).decode(errors="replace")
                raise BuildFailed(f"{image} exited at once:\n{logs}")
            address = container.attrs["NetworkSettings"].get("IPAddress")
            if address:
                url = f"http://{address}:8080{path}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=2.0).status_code == 200:
                        return time.monotonic() - started
            time.sleep(0.25)
        logs = container.logs(tail=30).decode(errors="replace")
        raise BuildFailed(f"{image} did not answer {url} within {timeout:.0f} s:\n{logs}")
    finally:
        container.remove(force=True)

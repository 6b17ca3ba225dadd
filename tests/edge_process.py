"""`coffee-coach serve` as a real process on 127.0.0.1, for the tests and benchmarks of its
edge: a free port, a low descriptor limit if asked, and its log kept in a file."""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.serve_process import free_port

CLI = (sys.executable, "-m", "bot.cli")


def _limit_fds(limit: int | None) -> Callable[[], None] | None:
    if limit is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


class ServeProcess:
    """`coffee-coach serve` with the Teams door in development mode and no scheduler work."""

    def __init__(self, db: Path, *, fd_limit: int | None = None, **env: str) -> None:
        self.db = db
        self.port = free_port()
        self.log_path = db.with_suffix(".log")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft"))}
        self.env = {**base, "COFFEE_COACH_TEAMS_DEV": "1", **env}
        self.fd_limit = fd_limit
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServeProcess:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*CLI, "--db", str(self.db), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            preexec_fn=_limit_fds(self.fd_limit),
        )
        log.close()
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited at start-up:\n{self.log()}")
            try:
                self.get("/healthz")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"serve did not start:\n{self.log()}")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def get(self, path: str, *, timeout: float = 10.0) -> tuple[int, Any]:
        """GET on a fresh connection: the status and the JSON body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def post(
        self, path: str, body: bytes, *, headers: dict[str, str] | None = None, timeout: float = 10
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

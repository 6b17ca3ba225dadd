"""`coffee-coach serve` on PostgreSQL: it starts, names its store and never its password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_on_postgres_logs_the_backend_without_the_password_and_its_scheduler_off(
    postgres_db_url: str,
) -> None:
    password = psycopg.conninfo.conninfo_to_dict(postgres_db_url)["password"]
    assert isinstance(password, str) and password
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft"))},
        "COFFEE_COACH_DB": postgres_db_url,
        "COFFEE_COACH_TEAMS_DEV": "1",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; raise SystemExit(main())",
            "serve",
            "--no-scheduler",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "doors open" in line:
                break
    finally:
        proc.kill()
        proc.wait()
    started = "".join(lines)
    assert "store postgresql://coach:***@127.0.0.1:" in started, started
    assert "scheduler off" in started
    assert password not in started

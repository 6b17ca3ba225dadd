"""Health that tells the truth: a damaged file or another program's file is refused before
anything is written to it, and `/healthz` says 503 once the store cannot serve a turn."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Config
from bot.engine import Coach
from bot.messages import Incoming, MemberKey
from bot.server import build_app
from bot.store import SQLiteStore, StoreError
from tests.sqlite_support import connection

CLI = [sys.executable, "-m", "bot.cli"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filled(path: Path, members: int) -> None:
    """A store file with `members` members who each gave a long first answer."""
    store = SQLiteStore(path)
    coach = Coach(store)
    for n in range(members):
        key = MemberKey("console", "local", f"member{n}", "bakers")
        for text in ("start", "b2b", f"answer {n} " + "x" * 4000):
            coach.handle(Incoming(key=key, text=text))
    store.close()


def zero_after_first_page(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(4096)
        file.write(b"\0" * (size - 4096))


def test_another_programs_database_is_refused_with_not_a_byte_written(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT)")
    other.execute("INSERT INTO albums (title) VALUES ('holidays')")
    other.commit()
    other.close()
    before = digest(path)

    with pytest.raises(StoreError, match="something else"):
        SQLiteStore(path)

    assert digest(path) == before
    assert not Path(f"{path}-wal").exists()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    check.close()


def test_a_damaged_file_is_refused_on_opening_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "coach.db"
    filled(path, 20)
    zero_after_first_page(path)
    before = digest(path)

    with pytest.raises(StoreError, match=r"is damaged \(") as refused:
        SQLiteStore(path)

    assert "\n" not in str(refused.value)
    assert "Restore it from a backup" in str(refused.value)
    assert digest(path) == before


def test_forget_and_serve_refuse_a_damaged_file_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "coach.db"
    filled(path, 20)
    zero_after_first_page(path)
    before = digest(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft"))}

    for args in (["forget", "--team", "bakers", "--yes"], ["serve", "--port", "0"]):
        done = subprocess.run(
            [*CLI, "--db", str(path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert done.returncode == 2, (args, done.stderr)
        assert "is damaged" in done.stderr
        assert "Traceback" not in done.stderr
    assert digest(path) == before


def test_forgetting_overwrites_deleted_rows(store: SQLiteStore) -> None:
    assert connection(store).execute("PRAGMA secure_delete").fetchone()[0] == 1


async def test_health_turns_503_with_the_reason_once_a_turn_finds_the_file_damaged(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "coach.db"
    # Bigger than SQLite's page cache, so that a turn reads from the file itself.
    filled(path, 1000)
    store = SQLiteStore(path)
    coach = Coach(store)
    client: TestClient[Any, Any] = await aiohttp_client(
        build_app(coach, Config(teams_dev=True, scheduler=False))
    )
    healthy = await client.get("/healthz")
    assert healthy.status == 200
    zero_after_first_page(path)

    with pytest.raises(sqlite3.DatabaseError):
        coach.handle(Incoming(key=MemberKey("console", "local", "member1", "bakers"), text="edit"))

    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["ok"] is False
    assert "is damaged" in body["reason"]
    with pytest.raises(StoreError, match="will not write"):
        store.forget(1)
    await client.close()
    store.close()

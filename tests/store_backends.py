"""The store backends the contract suite runs against: a second backend is one entry here.

A backend opens a store in a test's own place: a folder for SQLite, a fresh database on
the session's real PostgreSQL server (tests/postgres_server.py) for PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import SQLiteStore, Store


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[pytest.FixtureRequest, Path, ManualClock], Store]

    def close(self, store: Store) -> None:
        store.close()


def _postgres(request: pytest.FixtureRequest, tmp: Path, clock: ManualClock) -> Store:
    from bot.store.postgres import PostgresStore

    url: str = request.getfixturevalue("postgres_db_url")
    return PostgresStore(url, clock=clock)


BACKENDS = [
    Backend("sqlite-file", lambda _, tmp, clock: SQLiteStore(tmp / "contract.db", clock=clock)),
    Backend("sqlite-memory", lambda _, tmp, clock: SQLiteStore(":memory:", clock=clock)),
    Backend("postgres", _postgres),
]

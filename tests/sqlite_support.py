"""For tests and benchmarks of the SQLite backend's own behaviour (pragmas, query plans)."""

from __future__ import annotations

import sqlite3

from bot.store import SQLiteStore, Store


def connection(store: Store) -> sqlite3.Connection:
    """The SQLite connection under a store; not part of the `Store` interface."""
    assert isinstance(store, SQLiteStore)
    return store._conn

"""For tests and benchmarks of the SQLite backend's own behaviour (pragmas, query plans, locks)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.store import SQLiteStore, Store


def connection(store: Store) -> sqlite3.Connection:
    """The SQLite connection under a store; not part of the `Store` interface."""
    assert isinstance(store, SQLiteStore)
    return store._conn


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class LockHolder:
    """Another process holding the database's write lock until `release()`."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)

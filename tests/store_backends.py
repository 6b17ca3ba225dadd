"""The store backends the contract suite runs against: a second backend is one entry here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.clock import ManualClock
from bot.store import SQLiteStore, Store


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[Path, ManualClock], Store]

    def close(self, store: Store) -> None:
        store.close()


BACKENDS = [
    Backend("sqlite-file", lambda tmp, clock: SQLiteStore(tmp / "contract.db", clock=clock)),
    Backend("sqlite-memory", lambda tmp, clock: SQLiteStore(":memory:", clock=clock)),
]

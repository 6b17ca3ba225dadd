"""What every store mixin stands on: the connection, the clock, the transaction, the dialect.

`SQLiteStore` and `PostgresStore` supply them; the mixins (`MemberTables`, `AnswerTables`,
`CheckinTables`, `DeliveryTables`, `EventTables`) each hold the statements of one group of
tables, written once in the SQL both databases speak. Where the two differ, the statement
asks its `Dialect` for the piece (an index hint, a row lock, a JSON field).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from bot.clock import Clock


class Cursor(Protocol):
    """What a statement gives back: its rows and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """Runs one statement with `?` placeholders (sqlite3's own connection is one)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places where SQLite and PostgreSQL need different SQL."""

    name: str
    # Locks the rows a scheduler reads for its claim, skipping those another holds.
    skip_locked: str

    def index_hint(self, index: str) -> str:
        """Names the partial index a statement must read (SQLite's planner may pick
        another); PostgreSQL picks it itself."""
        return f" INDEXED BY {index}" if self.name == "sqlite" else ""

    def json_text(self, column: str, field: str) -> str:
        """The text value of a top-level field of a JSON object stored as text."""
        if self.name == "postgresql":
            return f"({column}::jsonb ->> '{field}')"
        return f"json_extract({column}, '$.{field}')"


SQLITE = Dialect("sqlite", skip_locked="")
POSTGRESQL = Dialect("postgresql", skip_locked=" FOR UPDATE SKIP LOCKED")


class Tables:
    """The plumbing a group of tables needs; each store class provides it."""

    clock: Clock
    dialect: Dialect = SQLITE

    @property
    def _conn(self) -> Connection:
        raise NotImplementedError

    def now(self) -> str:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _empty_wal(self) -> None:
        """After a forget: leave no copy of what was deleted in a write-ahead log file of
        the store's own (SQLite's -wal); a server database has none to empty."""

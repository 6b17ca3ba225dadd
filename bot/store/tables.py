"""What every SQLite mixin stands on: the connection, the clock and the transaction.

`SQLiteStore` supplies them; the mixins (`MemberTables`, `AnswerTables`, `CheckinTables`,
`DeliveryTables`) each hold the statements of one group of tables.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

import sqlite_utils

from bot.clock import Clock


class Tables:
    """The plumbing a group of tables needs; `SQLiteStore` provides it."""

    db: sqlite_utils.Database
    clock: Clock

    @property
    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def now(self) -> str:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _empty_wal(self) -> None:
        raise NotImplementedError

"""Opening the store that COFFEE_COACH_DB names: a SQLite file or a PostgreSQL database."""

from __future__ import annotations

import os

from bot.clock import Clock
from bot.dburl import DatabaseUrl
from bot.store.interface import Store
from bot.store.records import StoreError
from bot.store.sqlite import BUSY_TIMEOUT_MS, DEFAULT_DB, SQLiteStore


def database_url(db: str | os.PathLike[str] | None = None) -> DatabaseUrl:
    """`db`, or COFFEE_COACH_DB, or ./coffee-coach.db, parsed; StoreError if malformed."""
    chosen = db if db is not None else os.environ.get("COFFEE_COACH_DB") or DEFAULT_DB
    try:
        return DatabaseUrl.parse(os.fspath(chosen))
    except ValueError as exc:
        raise StoreError(str(exc)) from exc


def open_store(
    db: str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    timeout_s: float | None = None,
) -> Store:
    """Open the store at `db` (a path or a URL), or at COFFEE_COACH_DB, or ./coffee-coach.db.

    `busy_timeout_ms` is how long SQLite waits for another process's lock; `timeout_s`
    bounds each PostgreSQL statement, lock wait and wait for a pooled connection. psycopg
    is imported only when a PostgreSQL URL is given, so the terminal chat starts without it.
    """
    url = database_url(db)
    if url.backend == "postgresql":
        from bot.store.postgres import PostgresStore

        if timeout_s is None:
            return PostgresStore(url.postgres_conninfo, clock=clock)
        return PostgresStore(
            url.postgres_conninfo, clock=clock, timeout_s=timeout_s, wait_s=timeout_s
        )
    return SQLiteStore(url.sqlite_path, clock=clock, busy_timeout_ms=busy_timeout_ms)

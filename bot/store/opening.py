"""Opening the store that COFFEE_COACH_DB names: a SQLite file or a PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.clock import Clock
from bot.dburl import DatabaseUrl
from bot.store.interface import Store
from bot.store.records import StoreError
from bot.store.sqlite import BUSY_TIMEOUT_MS, DEFAULT_DB, SQLiteStore

POOL_ENV = "COFFEE_COACH_PG_POOL"


def pool_size(env: Mapping[str, str] | None = None) -> int:
    """How many PostgreSQL connections one process keeps at most: $COFFEE_COACH_PG_POOL."""
    from bot.store.postgres import DEFAULT_POOL_SIZE

    value = (os.environ if env is None else env).get(POOL_ENV, "").strip()
    if not value:
        return DEFAULT_POOL_SIZE
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= 100):
        raise StoreError(f"{POOL_ENV} must be a number of connections from 1 to 100, not {value!r}")
    return int(value)


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
    bounds each PostgreSQL statement, lock wait and wait for a pooled connection, and
    $COFFEE_COACH_PG_POOL sizes the PostgreSQL pool (the threads serve uses). psycopg
    is imported only when a PostgreSQL URL is given, so the terminal chat starts without it.
    """
    url = database_url(db)
    if url.backend == "postgresql":
        from bot.store.postgres import PostgresStore

        size = pool_size()
        if timeout_s is None:
            return PostgresStore(url.postgres_conninfo, clock=clock, pool_size=size)
        return PostgresStore(
            url.postgres_conninfo,
            clock=clock,
            pool_size=size,
            timeout_s=timeout_s,
            wait_s=timeout_s,
        )
    return SQLiteStore(url.sqlite_path, clock=clock, busy_timeout_ms=busy_timeout_ms)

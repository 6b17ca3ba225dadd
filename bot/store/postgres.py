"""The PostgreSQL store: one database shared by every `serve` and `tick`, through psycopg 3.

The statements are the table groups' own (`bot.store.tables` says how the two dialects
differ). What SQLite gets from one writer at a time, PostgreSQL gets from row locks:

- a turn locks its member's row before reading their conversation, so two servers given
  the same member's messages at once take them one after the other, as SQLite would, and
  the version guard on every conversation save still refuses a stale write;
- event ids are claimed with `INSERT ... ON CONFLICT`: the second claimer waits for the
  first to commit and then finds the id taken;
- schedulers read due schedules and deliveries `FOR UPDATE SKIP LOCKED` and claim a
  delivery only if no one else holds it: N schedulers never send one twice and never
  wait for one another.

Several threads may use one store at once: each transaction takes its own connection
from the pool and keeps it, its nesting depth and its timestamp in thread-local state; a
statement outside a transaction borrows a connection for itself, in autocommit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.clock import Clock, SystemClock, iso
from bot.dburl import DatabaseUrl
from bot.messages import MemberKey
from bot.store.answers import AnswerTables
from bot.store.checkin_tables import CheckinTables
from bot.store.common import CommonTables
from bot.store.deliveries import DeliveryTables
from bot.store.member_tables import MemberTables
from bot.store.migrations import migrate, postgres_migration
from bot.store.outbox_tables import OutboxTables
from bot.store.records import StoreBusy, StoreError
from bot.store.tables import POSTGRESQL, Connection, Cursor

# Taken (for the length of one transaction) by whoever migrates the schema, so that two
# processes starting at once migrate it once. Any fixed number: this one spells "coffee".
MIGRATION_LOCK = 0x636F66666565
DEFAULT_POOL_SIZE = 4


@lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """A statement with SQLite's `?` placeholders as psycopg's `%s` (and `%` escaped)."""
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class _Rows:
    """A statement's rows, read whole, so its connection can go back to the pool at once."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.rowcount = cursor.rowcount
        self._rows: list[Any] = cursor.fetchall() if cursor.description is not None else []
        self._next = 0

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class _Session(threading.local):
    """One thread's transaction: its connection, how deeply nested, its moment."""

    conn: psycopg.Connection[Any] | None = None
    depth = 0
    stamp: datetime | None = None


class _Statements:
    """The store's `_conn`: runs a statement in the thread's transaction, or on its own."""

    def __init__(self, pool: ConnectionPool, session: _Session) -> None:
        self._pool = pool
        self._session = session

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        conn = self._session.conn
        if conn is not None:
            return _Rows(conn.execute(_placeholders(sql), parameters))
        with self._pool.connection() as own:
            return _Rows(own.execute(_placeholders(sql), parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor:
        conn = self._session.conn
        if conn is None:
            with self._pool.connection() as own, own.cursor() as cursor:
                cursor.executemany(_placeholders(sql), parameters)
                return _Rows(cursor)
        with conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql), parameters)
            return _Rows(cursor)


class PostgresStore(
    CommonTables, MemberTables, AnswerTables, CheckinTables, DeliveryTables, OutboxTables
):
    """The store on a PostgreSQL database, safe to share between threads and processes."""

    dialect = POSTGRESQL

    def __init__(
        self,
        conninfo: str,
        *,
        clock: Clock | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout_s: float | None = None,
        wait_s: float = 30.0,
    ) -> None:
        """`pool_size` connections at most; `timeout_s` bounds every statement and every
        wait for a lock (serve sets about 2 s, so a blocked turn fails fast instead of
        piling up), and `wait_s` the wait for a free connection."""
        self.path = DatabaseUrl("postgresql", conninfo=conninfo).redacted()
        self.clock: Clock = clock or SystemClock()
        self.pool_size = pool_size
        self._session = _Session()
        settings = (
            {"statement_timeout": int(timeout_s * 1000), "lock_timeout": int(timeout_s * 1000)}
            if timeout_s is not None
            else {}
        )

        def configure(conn: psycopg.Connection[Any]) -> None:
            for name, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, false)", (name, str(value)))

        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            configure=configure,
            timeout=wait_s,
            name="coffee-coach",
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=wait_s)
            self._statements = _Statements(self.pool, self._session)
            self._migrate()
        except (psycopg.Error, PoolTimeout) as exc:
            self.pool.close()
            raise StoreError(f"{self.path} is not a usable Coffee Coach database ({exc}).") from exc
        except BaseException:
            self.pool.close()
            raise

    @property
    def concurrency(self) -> int:
        """How many threads can use the store at once without waiting for a connection."""
        return self.pool_size

    # --- plumbing -----------------------------------------------------------------------

    @property
    def _conn(self) -> Connection:
        return self._statements

    def _migrate(self) -> None:
        """Every version in one transaction, under a lock that a second process starting
        at the same moment waits for (and then finds nothing left to do)."""
        with self.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            tables = {
                row[0]
                for row in self._conn.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema()"
                )
            }
            migrate(
                self._conn,
                tables,
                where=self.path,
                statements=postgres_migration,
                step=self.transaction,
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction on one pooled connection (re-entrant: an inner one joins).

        A lock, a statement or a free connection not had within the store's timeouts is
        `StoreBusy`, with the transaction rolled back: the turn can be retried.
        """
        session = self._session
        if session.depth:
            session.depth += 1
            try:
                yield
            finally:
                session.depth -= 1
            return
        try:
            with self.pool.connection() as conn:
                session.conn, session.depth, session.stamp = conn, 1, None
                try:
                    with conn.transaction():
                        yield
                finally:
                    session.conn, session.depth, session.stamp = None, 0, None
        except PoolTimeout as exc:
            raise StoreBusy(f"{self.path}: no free connection in time ({exc})") from exc
        except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
            raise StoreBusy(f"{self.path}: a lock or statement took too long ({exc})") from exc

    def close(self) -> None:
        self.pool.close()

    def checkpoint_in_background(self, *, every_s: float = 1.0) -> Callable[[], None]:
        """PostgreSQL checkpoints on its own; nothing to start."""
        return lambda: None

    def moment(self) -> datetime:
        """The current time; one value for the whole of a transaction."""
        session = self._session
        if session.depth and session.stamp is not None:
            return session.stamp
        moment = self.clock.now()
        if session.depth:
            session.stamp = moment
        return moment

    def now(self) -> str:
        return iso(self.moment())

    # --- members ------------------------------------------------------------------------

    def _member_row(
        self, key: MemberKey, *, with_conversation: bool, anywhere: bool
    ) -> tuple[Any, ...] | None:
        """Inside a transaction, lock the member first: their turns then run one at a time,
        and the read below sees what the turn before committed."""
        if self._session.depth:
            where = 't.platform = ? AND t.workspace = ? AND m."user" = ?'
            params: tuple[str, ...] = (key.platform, key.workspace, key.user)
            if key.team is not None and not anywhere:
                where += " AND t.team = ?"
                params += (key.team,)
            self._conn.execute(
                "SELECT m.id FROM members m JOIN teams t ON t.id = m.team_id"
                f" WHERE {where} ORDER BY m.id FOR UPDATE OF m",
                params,
            )
        return super()._member_row(key, with_conversation=with_conversation, anywhere=anywhere)

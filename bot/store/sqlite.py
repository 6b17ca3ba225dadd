"""The SQLite store: one file through sqlite-utils, in WAL mode.

Answers are history (an edit adds a version), stage placements are history, and every
conversation state change is guarded by a version column, so a repeated delivery or a
second process can never advance a conversation twice. Platform event ids are recorded
in the same transaction as the change they caused. Every query is scoped by the team's
(platform, workspace, team) key or by ids derived from it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from bot.clock import Clock, SystemClock, iso
from bot.store.answers import AnswerTables
from bot.store.checkin_tables import CheckinTables
from bot.store.deliveries import DeliveryTables
from bot.store.member_tables import MemberTables
from bot.store.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.store.outbox_tables import OutboxTables
from bot.store.records import StoreBusy, StoreError

log = logging.getLogger("coffee_coach.store")

DEFAULT_DB = "coffee-coach.db"
BUSY_TIMEOUT_MS = 10_000
# SQLite's answers to "someone else holds the lock": the turn may be retried later.
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class SQLiteStore(MemberTables, AnswerTables, CheckinTables, DeliveryTables, OutboxTables):
    """The embedded store: a SQLite file (or `:memory:`) in WAL mode.

    One connection, used by one thread at a time (`concurrency`): `serve` gives it a
    worker thread of its own. `busy_timeout_ms` is how long a transaction waits for a lock
    another process holds before `StoreBusy`.
    """

    concurrency = 1

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = str(path)
        self.clock: Clock = clock or SystemClock()
        self.busy_timeout_ms = busy_timeout_ms
        self._probe: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._probe_lock = threading.Lock()
        self._depth = 0
        self._stamp: datetime | None = None
        # (busy, WAL frames, frames checkpointed) of the last background checkpoint.
        self.last_checkpoint: tuple[int, int, int] | None = None
        if self.path != ":memory:" and Path(self.path).is_dir():
            raise StoreError(f"{self.path} is a folder, not a database file")
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self._configure()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path} is not a usable Coffee Coach database ({exc}). It was left as it"
                " is; move it aside or point COFFEE_COACH_DB at another file."
            ) from exc

    # --- plumbing -----------------------------------------------------------------------

    @property
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self.db.conn
        return conn

    def _configure(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode survives a process crash; only power loss can drop the
            # last transactions.
            self._conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        tables = set(self.db.table_names())
        current = 0
        if "meta" in tables:
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
        elif tables:
            raise StoreError(
                f"{self.path} is a SQLite database of something else (tables: "
                f"{', '.join(sorted(tables)[:5])}); Coffee Coach will not write to it."
            )
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this Coffee Coach knows"
                f" ({SCHEMA_VERSION}). Upgrade Coffee Coach; the file was not changed."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(version),),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (re-entrant: an inner one joins the outer).

        One thread at a time: another thread's transaction waits for this one to end
        (`serve` keeps the store on one thread; tests and tools may read from another).
        """
        with self._lock:
            yield from self._transaction()

    def _transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY_CODES:
                raise StoreBusy(f"{self.path} is locked by another connection ({exc})") from exc
            raise
        self._depth = 1
        self._stamp = None
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        finally:
            self._stamp = None
        self._depth = 0
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:  # a transaction of another thread ends first
            self._conn.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None

    def checkpoint_in_background(self, *, every_s: float = 1.0) -> Callable[[], None]:
        """Move WAL checkpoints off the turn path; returns the function that stops it.

        SQLite otherwise checkpoints inside whichever commit crosses 1,000 WAL pages, and
        that turn pays for copying them (milliseconds, the tail of the latency). A thread
        with its own connection runs PASSIVE checkpoints instead: they never block a
        writer, and sqlite3 releases the GIL while they run.
        """
        if self.path == ":memory:":
            return lambda: None
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        stop = threading.Event()

        def run() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            try:
                while not stop.wait(every_s):
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.last_checkpoint = (int(row[0]), int(row[1]), int(row[2]))
            except sqlite3.Error:
                log.exception("background checkpoints stopped; SQLite will checkpoint inline")
                self._conn.execute("PRAGMA wal_autocheckpoint = 1000")
            finally:
                conn.close()

        thread = threading.Thread(target=run, name="coffee-coach checkpoints", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join()
            # A store closed first has no connection left to restore.
            with suppress(sqlite3.ProgrammingError):
                self._conn.execute("PRAGMA wal_autocheckpoint = 1000")

        return halt

    def moment(self) -> datetime:
        """The current time; one value for the whole of a transaction."""
        if self._depth and self._stamp is not None:
            return self._stamp
        moment = self.clock.now()
        if self._depth:
            self._stamp = moment
        return moment

    def now(self) -> str:
        return iso(self.moment())

    @property
    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    # --- events -------------------------------------------------------------------------

    def claim_event(
        self,
        platform: str,
        workspace: str,
        event_id: str,
        *,
        unless_seen_within: timedelta | None = None,
    ) -> bool:
        """Record a platform event id; False if it was seen before (a retried delivery).

        With `unless_seen_within`, an id seen longer ago than that is claimed afresh: for
        things that may rightly happen again later, such as an app installed a second time.
        """
        now = self.moment()
        cutoff = iso(now - unless_seen_within) if unless_seen_within is not None else ""
        cursor = self._conn.execute(
            "INSERT INTO events (platform, workspace, event_id, seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, workspace, event_id) DO UPDATE SET seen_at = excluded.seen_at"
            " WHERE events.seen_at < ?",
            (platform, workspace, event_id, iso(now), cutoff),
        )
        return cursor.rowcount == 1

    def prune_events(self, older_than: timedelta) -> int:
        cutoff = iso(self.clock.now() - older_than)
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM events WHERE seen_at < ?", (cutoff,))
        return cursor.rowcount

    def ping(self) -> None:
        """Raise if the database cannot be read (the health check).

        Safe from any thread while turns run: it reads through a connection of its own,
        and in WAL mode a read never waits for a writer.
        """
        if self.path == ":memory:":
            return
        with self._probe_lock:
            if self._probe is None:
                self._probe = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=1.0
                )
            self._probe.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()

    def platforms(self) -> list[str]:
        """The platforms that have teams."""
        return [row[0] for row in self._conn.execute("SELECT DISTINCT platform FROM teams")]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo what the block wrote if it raises, then re-raise."""
        self._conn.execute("SAVEPOINT undo")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO undo")
            raise
        finally:
            self._conn.execute("RELEASE undo")

    def stats(self) -> dict[str, int]:
        names = ["teams", "members", "conversations", "answers", "placements", "commitments"]
        return {
            name: int(self._conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in names
        }


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> SQLiteStore:
    """Open the store at `path`, or at COFFEE_COACH_DB, or ./coffee-coach.db."""
    chosen = path if path is not None else os.environ.get("COFFEE_COACH_DB") or DEFAULT_DB
    return SQLiteStore(chosen, clock=clock, busy_timeout_ms=busy_timeout_ms)

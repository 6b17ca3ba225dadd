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
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType

import sqlite_utils

from bot.clock import Clock, SystemClock, iso
from bot.store.answers import AnswerTables
from bot.store.checkin_tables import CheckinTables
from bot.store.checkpoints import checkpoint_in_background
from bot.store.common import CommonTables
from bot.store.deliveries import DeliveryTables
from bot.store.member_tables import MemberTables
from bot.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate
from bot.store.outbox_tables import OutboxTables
from bot.store.records import StoreBusy, StoreError

log = logging.getLogger("coffee_coach.store")

DEFAULT_DB = "coffee-coach.db"

BUSY_TIMEOUT_MS = 10_000
SQLITE_CORRUPT = 11
# SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, unlike a lock or a full disk.
_DAMAGED = frozenset({SQLITE_CORRUPT, 26})
# SQLite's answers to "someone else holds the lock": the turn may be retried later.
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class _Transaction:
    """What `SQLiteStore.transaction()` returns: one object per store, entered for every
    transaction (what it tracks is the store's), so a turn sets up no generator for it."""

    __slots__ = ("_store",)

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._depth:
            store._depth += 1
            return
        try:
            store._begin()
        except BaseException:
            store._lock.release()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        store = self._store
        if store._depth > 1:
            store._depth -= 1
            store._lock.release()
            return
        try:
            store._end(exc)
        finally:
            store._lock.release()


class SQLiteStore(
    CommonTables, MemberTables, AnswerTables, CheckinTables, DeliveryTables, OutboxTables
):
    """The embedded store: a SQLite file (or `:memory:`) in WAL mode.

    One connection, used by one thread at a time (`concurrency`): `serve` gives it a
    worker thread of its own. `busy_timeout_ms` is how long a transaction waits for a lock
    another process holds before `StoreBusy`.
    """

    concurrency = 1
    # The connection under `db`, a plain attribute rather than `Tables`' property: every
    # statement of every turn goes through it. Set in __init__.
    _conn: sqlite3.Connection = None  # type: ignore[assignment]

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
        self._transaction = _Transaction(self)
        self._stamp: datetime | None = None
        self._stamp_text: str | None = None
        # (busy, WAL frames, frames checkpointed) of the last background checkpoint.
        self.last_checkpoint: tuple[int, int, int] | None = None
        if self.path != ":memory:" and Path(self.path).is_dir():
            raise StoreError(f"{self.path} is a folder, not a database file")
        # Set when a statement finds the file damaged while serving: /healthz reports it.
        self._damage: str | None = None
        self._wal_to_empty = False
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn = conn
            self.db = sqlite_utils.Database(conn)
            # Nothing is written (not even the switch to WAL) before the file is known to
            # be ours, or new, and undamaged.
            self._connect_read_only()
            self._inspect()
            self._configure()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) == SQLITE_CORRUPT:
                raise StoreError(self._refused_as_damaged(str(exc))) from exc
            raise StoreError(
                f"{self.path} is not a usable Coffee Coach database ({exc}). It was left as it"
                " is; move it aside or point COFFEE_COACH_DB at another file."
            ) from exc

    # --- plumbing -----------------------------------------------------------------------

    def _connect_read_only(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        self._conn.execute("PRAGMA query_only = ON")

    def _inspect(self) -> None:
        """Refuse another program's database, or a damaged one, having written nothing."""
        tables = set(self.db.table_names())
        if tables and "meta" not in tables:
            raise StoreError(
                f"{self.path} is a SQLite database of something else (tables: "
                f"{', '.join(sorted(tables)[:5])}); Coffee Coach will not write to it."
                " It was left untouched."
            )
        if tables:
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {current}, newer than this Coffee Coach"
                    f" knows ({SCHEMA_VERSION}). Upgrade Coffee Coach; the file was not changed."
                )
            problems = [row[0] for row in self._conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                said = "; ".join(" ".join(p.split()) for p in problems)
                raise StoreError(self._refused_as_damaged(f"SQLite's quick_check: {said}"))
        self._conn.execute("PRAGMA query_only = OFF")

    def _refused_as_damaged(self, detail: str) -> str:
        return (
            f"{self.path} is damaged ({detail}). Coffee Coach will not write to it. Restore it"
            f" from a backup, or try `sqlite3 {self.path} .recover` into a new file."
        )

    def _configure(self) -> None:
        self._conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten, not just unlinked: `forget` leaves no copy in the file.
        self._conn.execute("PRAGMA secure_delete = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode survives a process crash; only power loss can drop the
            # last transactions.
            self._conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        migrate(
            self._conn,
            set(self.db.table_names()),
            where=self.path,
            statements=MIGRATIONS.__getitem__,
            step=self._immediate,
        )

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction (re-entrant: an inner one joins the outer).

        One thread at a time: another thread's transaction waits for this one to end
        (`serve` keeps the store on one thread; tests and tools may read from another).
        """
        return self._transaction

    def _begin(self) -> None:
        """The outermost transaction's start (`_Transaction` counts the inner ones)."""
        if self._damage is not None:
            raise StoreError(f"{self._damage}; Coffee Coach will not write to it.")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY_CODES:
                raise StoreBusy(f"{self.path} is locked by another connection ({exc})") from exc
            raise
        self._depth = 1
        self._stamp = self._stamp_text = None

    def _end(self, exc: BaseException | None) -> None:
        """The outermost transaction's end: commit, or roll back after `exc`."""
        self._depth = 0
        self._stamp = self._stamp_text = None
        if exc is not None:
            self._wal_to_empty = False
            self._note_damage(exc)
            with suppress(sqlite3.Error):  # a damaged file may refuse the rollback too
                self._conn.execute("ROLLBACK")
            return
        self._conn.execute("COMMIT")
        if self._wal_to_empty:
            self._empty_wal()

    def close(self) -> None:
        with self._lock:  # a transaction of another thread ends first
            self._conn.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None

    def checkpoint_in_background(self, *, every_s: float = 1.0) -> Callable[[], None]:
        """Move WAL checkpoints off the turn path (`bot.store.checkpoints`); returns the
        function that stops them."""
        if self.path == ":memory:":
            return lambda: None

        def seen(outcome: tuple[int, int, int]) -> None:
            self.last_checkpoint = outcome

        return checkpoint_in_background(
            self.path,
            self._conn,
            busy_timeout_ms=BUSY_TIMEOUT_MS,
            every_s=every_s,
            seen=seen,
        )

    def _empty_wal(self) -> None:
        """Copy the write-ahead log into the file and truncate it (after a forget, so that
        the log keeps no copy of what was deleted)."""
        if self.path == ":memory:":
            return
        if self._depth:
            self._wal_to_empty = True  # after the outermost commit: a checkpoint needs it
            return
        self._wal_to_empty = False
        busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning(
                "The write-ahead log of %s could not be emptied (another reader); the next"
                " checkpoint overwrites it",
                self.path,
            )

    def moment(self) -> datetime:
        """The current time; one value for the whole of a transaction."""
        moment = self._stamp
        if moment is None:
            moment = self.clock.now()
            if self._depth:
                self._stamp = moment
        return moment

    def now(self) -> str:
        """`moment()` as stored text; formatted once per transaction, not per statement."""
        text = self._stamp_text
        if text is None:
            text = iso(self.moment())
            if self._depth:
                self._stamp_text = text
        return text

    def health(self) -> str | None:
        """None while the store is usable; otherwise why not, in one line (for /healthz).

        Safe from any thread while turns run: it reads through a connection of its own,
        and in WAL mode a read never waits for a writer. A file that a turn found damaged
        is reported as such.
        """
        if self._damage is not None:
            return self._damage
        if self.path == ":memory:":
            return None
        try:
            with self._probe_lock:
                if self._probe is None:
                    self._probe = sqlite3.connect(
                        self.path, isolation_level=None, check_same_thread=False, timeout=1.0
                    )
                self._probe.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
        except sqlite3.Error as exc:
            self._note_damage(exc)
            return self._damage or f"the database cannot be read: {exc}"
        return None

    def _note_damage(self, exc: BaseException) -> None:
        """Remember that the file is damaged (not merely busy), once a statement says so."""
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(exc, sqlite3.DatabaseError) and code in _DAMAGED:
            if self._damage is None:
                log.error("%s is damaged: %s; every write will fail", self.path, exc)
            self._damage = f"{self.path} is damaged: {exc}"

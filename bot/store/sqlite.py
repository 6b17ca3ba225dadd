"""The SQLite store: one file through sqlite-utils, in WAL mode.

Answers are history (an edit adds a version), stage placements are history, and every
conversation state change is guarded by a version column, so a repeated delivery or a
second process can never advance a conversation twice. Platform event ids are recorded
in the same transaction as the change they caused. Every query is scoped by the team's
(platform, workspace, team) key or by ids derived from it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.clock import Clock, SystemClock, iso
from bot.messages import MemberKey, TeamKey
from bot.store.answers import CONV_COLUMNS, AnswerTables
from bot.store.checkin_tables import CheckinTables
from bot.store.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.store.records import (
    Conversation,
    Member,
    StoreError,
    Team,
)

log = logging.getLogger("coffee_coach.store")

DEFAULT_DB = "coffee-coach.db"
BUSY_TIMEOUT_MS = 10_000

_MEMBER = (
    "SELECT m.id, m.user, m.name, m.address, m.last_seen, t.id, t.platform, t.workspace,"
    " t.team, t.name, t.address, t.timezone, t.lead, m.timezone"
    " FROM members m JOIN teams t ON t.id = m.team_id"
)
# A member's current conversation: the one in progress (active or paused) if any, else
# the latest; a finished check-in does not hide a paused or reopened interview.
_CURRENT = (
    "SELECT id FROM conversations WHERE member_id = m.id"
    " ORDER BY status IN ('active', 'paused') DESC, id DESC LIMIT 1"
)


def _member_select(where: str) -> str:
    return f"{_MEMBER} WHERE {where}"


def _member_from(row: tuple[Any, ...]) -> Member:
    team = Team(row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12])
    return Member(row[0], team, row[1], row[2], row[3], row[4], row[13])


# The member and their latest conversation (NULLs when they have none), in one query.
_MEMBER_WITH_CONVERSATION = (
    "SELECT m.id, m.user, m.name, m.address, m.last_seen, t.id, t.platform, t.workspace,"
    " t.team, t.name, t.address, t.timezone, t.lead, m.timezone,"
    " c.id, c.member_id, c.flow, c.state, c.status, c.version, c.trail, c.return_to,"
    " c.followed_up, c.context, c.started_at, c.updated_at"
    " FROM members m JOIN teams t ON t.id = m.team_id"
    f" LEFT JOIN conversations c ON c.id = ({_CURRENT})"
)


def _conversation_from(row: tuple[Any, ...]) -> Conversation:
    return Conversation(
        id=row[0],
        member_id=row[1],
        flow=row[2],
        state=row[3],
        status=row[4],
        version=row[5],
        trail=json.loads(row[6]),
        return_to=row[7],
        followed_up=bool(row[8]),
        context=json.loads(row[9]),
        started_at=row[10],
        updated_at=row[11],
    )


class SQLiteStore(AnswerTables, CheckinTables):
    """The one store implementation: a SQLite file (or `:memory:`) in WAL mode."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None) -> None:
        self.path = str(path)
        self.clock: Clock = clock or SystemClock()
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
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
        """One write transaction (re-entrant: an inner one joins the outer)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
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
        self._conn.close()

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

    # --- teams and members ----------------------------------------------------------------

    def team(self, key: TeamKey) -> Team | None:
        row = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead FROM teams"
            " WHERE platform = ? AND workspace = ? AND team = ?",
            (key.platform, key.workspace, key.team),
        ).fetchone()
        return Team(*row) if row else None

    def team_by_id(self, team_id: int) -> Team | None:
        row = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead FROM teams"
            " WHERE id = ?",
            (team_id,),
        ).fetchone()
        return Team(*row) if row else None

    def teams(self) -> list[Team]:
        rows = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead FROM teams"
            " ORDER BY id"
        ).fetchall()
        return [Team(*row) for row in rows]

    def ensure_team(
        self, key: TeamKey, *, name: str | None = None, lead: str | None = None
    ) -> Team:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO teams (platform, workspace, team, name, lead, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key.platform, key.workspace, key.team, name, lead, self.now()),
            )
            team = self.team(key)
        assert team is not None
        return team

    def update_team(self, team_id: int, **fields: str | None) -> None:
        allowed = {"name", "address", "timezone", "lead"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"only {sorted(allowed)} can be updated")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            self._conn.execute(
                f"UPDATE teams SET {assignments} WHERE id = ?", (*fields.values(), team_id)
            )

    def member(self, key: MemberKey) -> Member | None:
        """The member at an explicit team, or at the team where they were last seen."""
        found = self._member_row(key, with_conversation=False)
        return _member_from(found) if found else None

    def member_and_conversation(self, key: MemberKey) -> tuple[Member, Conversation | None] | None:
        """The member (as `member`) and their latest conversation, in one query."""
        found = self._member_row(key, with_conversation=True)
        if found is None:
            return None
        conv = _conversation_from(found[14:]) if found[14] is not None else None
        return _member_from(found), conv

    def _member_row(self, key: MemberKey, *, with_conversation: bool) -> tuple[Any, ...] | None:
        select = _MEMBER_WITH_CONVERSATION if with_conversation else _MEMBER
        if key.team is not None:
            row = self._conn.execute(
                select + " WHERE t.platform = ? AND t.workspace = ? AND t.team = ? AND m.user = ?",
                (key.platform, key.workspace, key.team, key.user),
            ).fetchone()
        else:
            row = self._conn.execute(
                select + " WHERE t.platform = ? AND t.workspace = ? AND m.user = ?"
                " ORDER BY m.last_seen DESC, m.id DESC LIMIT 1",
                (key.platform, key.workspace, key.user),
            ).fetchone()
        return tuple(row) if row else None

    def ensure_member(self, key: MemberKey, *, name: str | None = None) -> Member:
        if key.team is None:
            raise ValueError("ensure_member needs the member's team")
        with self.transaction():
            team = self.team(TeamKey(key.platform, key.workspace, key.team))
            if team is None:
                team = self.ensure_team(
                    TeamKey(key.platform, key.workspace, key.team), lead=key.user
                )
            self._conn.execute(
                "INSERT INTO members (team_id, user, name, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (team.id, key.user, name, self.now()),
            )
            member = self.member(key)
        assert member is not None
        return member

    def touch_member(
        self, member: Member, *, name: str | None = None, address: str | None = None
    ) -> None:
        """Mark the member as seen at this team now; keep a changed name or address."""
        self._conn.execute(
            "UPDATE members SET last_seen = ?, name = coalesce(?, name),"
            " address = coalesce(?, address) WHERE id = ?",
            (self.now(), name, address, member.id),
        )

    def members(self, team_id: int) -> list[Member]:
        rows = self._conn.execute(
            _member_select("t.id = ?") + " ORDER BY m.id", (team_id,)
        ).fetchall()
        return [_member_from(row) for row in rows]

    # --- conversations --------------------------------------------------------------------

    def conversation(self, member_id: int, *, flow: str | None = None) -> Conversation | None:
        """The member's current conversation (see `_CURRENT`), or their latest of one flow."""
        if flow is None:
            row = self._conn.execute(
                f"SELECT {CONV_COLUMNS} FROM conversations WHERE member_id = ?"
                " ORDER BY status IN ('active', 'paused') DESC, id DESC LIMIT 1",
                (member_id,),
            ).fetchone()
        else:
            row = self._conn.execute(
                f"SELECT {CONV_COLUMNS} FROM conversations WHERE member_id = ? AND flow = ?"
                " ORDER BY id DESC LIMIT 1",
                (member_id, flow),
            ).fetchone()
        return _conversation_from(row) if row else None

    def start_conversation(
        self, member_id: int, *, flow: str, state: str, context: dict[str, Any] | None = None
    ) -> Conversation:
        now = self.now()
        cursor = self._conn.execute(
            "INSERT INTO conversations (member_id, flow, state, status, trail, context,"
            " started_at, updated_at) VALUES (?, ?, ?, 'active', '[]', ?, ?, ?)",
            (member_id, flow, state, json.dumps(context or {}), now, now),
        )
        return Conversation(
            id=int(cursor.lastrowid or 0),
            member_id=member_id,
            flow=flow,
            state=state,
            status="active",
            version=0,
            trail=[],
            return_to=None,
            followed_up=False,
            context=dict(context or {}),
            started_at=now,
            updated_at=now,
        )

    def save_conversation(self, conv: Conversation) -> bool:
        """Write the conversation if nobody else changed it since it was read.

        Returns False (and writes nothing) when the stored version moved on: the caller
        must not apply its change. On success `conv.version` is the new version.
        """
        now = self.now()
        cursor = self._conn.execute(
            "UPDATE conversations SET state = ?, status = ?, trail = ?, return_to = ?,"
            " followed_up = ?, context = ?, updated_at = ?, version = version + 1"
            " WHERE id = ? AND version = ?",
            (
                conv.state,
                conv.status,
                json.dumps(conv.trail),
                conv.return_to,
                int(conv.followed_up),
                json.dumps(conv.context),
                now,
                conv.id,
                conv.version,
            ),
        )
        if cursor.rowcount != 1:
            return False
        conv.version += 1
        conv.updated_at = now
        return True

    def conversations_in(self, team_id: int, *, flow: str) -> list[tuple[Member, Conversation]]:
        """Each member's latest conversation of a flow, for one team."""
        result = []
        for member in self.members(team_id):
            conv = self.conversation(member.id, flow=flow)
            if conv is not None:
                result.append((member, conv))
        return result

    def ping(self) -> None:
        """Raise if the database cannot be read (the health check)."""
        self._conn.execute("SELECT 1").fetchone()

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
    path: str | os.PathLike[str] | None = None, *, clock: Clock | None = None
) -> SQLiteStore:
    """Open the store at `path`, or at COFFEE_COACH_DB, or ./coffee-coach.db."""
    chosen = path if path is not None else os.environ.get("COFFEE_COACH_DB") or DEFAULT_DB
    return SQLiteStore(chosen, clock=clock)

"""The statements every store shares beyond the table groups: platform event ids, the
schema version, the health check, savepoints and counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from bot.clock import iso
from bot.store.tables import Tables

# Every turn claims its event id; bench/engine_turns.py's floor runs this same text.
CLAIM_EVENT = (
    'INSERT INTO events (platform, workspace, event_id, seen_at, "user")'
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, workspace, event_id) DO UPDATE SET seen_at = excluded.seen_at"
    " WHERE events.seen_at < ?"
)


class CommonTables(Tables):
    """Events, the schema version, health and counts; the store class supplies the plumbing."""

    def moment(self) -> datetime:
        raise NotImplementedError

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
        user: str | None = None,
    ) -> bool:
        """Record a platform event id; False if it was seen before (a retried delivery).

        With `unless_seen_within`, an id seen longer ago than that is claimed afresh: for
        things that may rightly happen again later, such as an app installed a second time.
        `user` is the member whose message it was: forgetting them deletes the id too.
        """
        cutoff = iso(self.moment() - unless_seen_within) if unless_seen_within is not None else ""
        cursor = self._conn.execute(
            CLAIM_EVENT, (platform, workspace, event_id, self.now(), user, cutoff)
        )
        return cursor.rowcount == 1

    def prune_events(self, older_than: timedelta) -> int:
        cutoff = iso(self.clock.now() - older_than)
        with self.transaction():
            cursor = self._conn.execute("DELETE FROM events WHERE seen_at < ?", (cutoff,))
        return cursor.rowcount

    def health(self) -> str | None:
        """None while the store is usable; otherwise why not, in one line (for /healthz)."""
        try:
            self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except Exception as exc:  # whatever the driver raises, the answer is "unusable"
            return f"the database cannot be read: {exc}"
        return None

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

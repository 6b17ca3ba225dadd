"""The outbox: a turn's posts, written with the turn and kept until they are delivered.

A post is claimed by the process that wrote it (it delivers it at once) and finished when
the platform took it. A claim older than the lease belongs to a process that stopped (a
crash, a restart): any process takes it over and delivers it. At least once, then: a post
may go out twice around a crash, never zero times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.clock import iso
from bot.messages import Parcel, Post
from bot.store.tables import Tables

_COLUMNS = "id, platform, workspace, channel, payload, attempts"


def _parcel(row: tuple[Any, ...]) -> Parcel:
    return Parcel(
        id=row[0],
        platform=row[1],
        workspace=row[2],
        channel=row[3],
        payload=json.loads(row[4]),
        attempts=row[5],
    )


class OutboxTables(Tables):
    """The outbox table of the store; the store class supplies the plumbing."""

    def add_posts(
        self, platform: str, workspace: str, user: str, posts: Sequence[Post], *, worker: str
    ) -> list[Parcel]:
        """Keep `posts` (in the caller's transaction), claimed by `worker` to deliver now."""
        now = self.now()
        parcels = []
        for post in posts:
            payload = json.dumps(post.payload, separators=(",", ":"))
            row = self._conn.execute(
                'INSERT INTO outbox (platform, workspace, "user", channel, payload, created_at,'
                " claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (platform, workspace, user, post.channel, payload, now, worker, now),
            ).fetchone()
            parcels.append(Parcel(int(row[0]), platform, workspace, post.channel, post.payload, 1))
        return parcels

    def take_over_posts(
        self, platform: str, *, worker: str, claimed_before: datetime, limit: int
    ) -> list[Parcel]:
        """Claim undelivered posts whose claim is older than `claimed_before`, oldest first.

        Never `worker`'s own: those are still in its queue, however long it is.
        """
        with self.transaction():
            # Another process taking over at the same moment skips what this one holds.
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM outbox{self.dialect.index_hint('outbox_unfinished')}"
                " WHERE platform = ? AND finished_at IS NULL AND claimed_at < ?"
                " AND claimed_by != ? ORDER BY id LIMIT ?" + self.dialect.skip_locked,
                (platform, iso(claimed_before), worker, limit),
            ).fetchall()
            now = self.now()
            self._conn.executemany(
                "UPDATE outbox SET claimed_by = ?, claimed_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(worker, now, row[0]) for row in rows],
            )
        return [_parcel((*row[:5], row[5] + 1)) for row in rows]

    def finish_posts(self, ids: Iterable[int], *, error: str | None = None) -> None:
        """Delivered (or, with `error`, given up for good): never sent again."""
        now = self.now()
        with self.transaction():
            self._conn.executemany(
                "UPDATE outbox SET finished_at = ?, error = ? WHERE id = ? AND finished_at IS NULL",
                [(now, error, post_id) for post_id in ids],
            )

    def note_post_failure(self, post_id: int, error: str) -> None:
        """A delivery that may work later: the claim stays and runs out, then it is retried."""
        with self.transaction():
            self._conn.execute("UPDATE outbox SET error = ? WHERE id = ?", (error, post_id))

    def prune_posts(self, finished_before: datetime) -> int:
        with self.transaction():
            cursor = self._conn.execute(
                "DELETE FROM outbox WHERE finished_at < ?", (iso(finished_before),)
            )
        return cursor.rowcount

    def unsent_posts(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM outbox WHERE finished_at IS NULL").fetchone()
        return int(row[0])

"""The outbox of check-in deliveries: enqueued once per key, claimed before sending, recorded after.

A delivery is claimed (status `sending`, committed) before it is sent and recorded after, so two
scheduler processes, or one that crashed mid-send, never send it twice.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.store.records import (
    FAILED,
    INTERRUPTED,
    SENT,
    SKIPPED,
    SUPERSEDED,
    Delivery,
)
from bot.store.tables import Tables

_DELIVERY_COLUMNS = (
    "id, key, kind, team_id, member_id, detail, due_at, status, attempts, payload, error"
)


def _on_platforms(platforms: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """The condition (and its arguments) that keeps deliveries to teams on `platforms`."""
    if platforms is None:
        return "", ()
    marks = ", ".join("?" * len(platforms))
    return f" AND team_id IN (SELECT id FROM teams WHERE platform IN ({marks}))", tuple(platforms)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        id=row[0],
        key=row[1],
        kind=row[2],
        team_id=row[3],
        member_id=row[4],
        detail=json.loads(row[5]),
        due_at=parse_iso(row[6]),
        status=row[7],
        attempts=row[8],
        payload=row[9],
        error=row[10],
    )


class DeliveryTables(Tables):
    """The deliveries table of the store; the store class supplies the plumbing below."""

    def enqueue(
        self,
        *,
        key: str,
        kind: str,
        team_id: int,
        member_id: int | None,
        due: datetime,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Add a delivery unless one with the same key exists; True if it was added."""
        cursor = self._conn.execute(
            "INSERT INTO deliveries (key, kind, team_id, member_id, detail, due_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, kind, team_id, member_id, json.dumps(detail or {}), iso(due), self.now()),
        )
        return cursor.rowcount == 1

    def supersede(self, member_id: int, kind: str) -> None:
        """Drop a member's pending deliveries of a kind: a newer one replaces them."""
        self._conn.execute(
            "UPDATE deliveries SET status = ?, finished_at = ?"
            " WHERE member_id = ? AND kind = ? AND status = 'pending'",
            (SUPERSEDED, self.now(), member_id, kind),
        )

    def due_deliveries(
        self, now: datetime, limit: int, *, platforms: Collection[str] | None = None
    ) -> list[Delivery]:
        only, args = _on_platforms(platforms)
        rows = self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries{self.dialect.index_hint('deliveries_due')}"
            f" WHERE status = 'pending' AND due_at <= ?{only} ORDER BY due_at, id LIMIT ?"
            + self.dialect.skip_locked,
            (iso(now), *args, limit),
        ).fetchall()
        return [_delivery(row) for row in rows]

    def claim_delivery(self, delivery_id: int, *, worker: str, payload: str) -> bool:
        """Mark a pending delivery as being sent by `worker`, with the message it will carry.

        A delivery another scheduler is claiming right now (its row locked) is skipped, not
        waited for: it is theirs.
        """
        cursor = self._conn.execute(
            "UPDATE deliveries SET status = 'sending', claimed_by = ?, claimed_at = ?,"
            " attempts = attempts + 1, payload = ? WHERE id IN (SELECT id FROM deliveries"
            f" WHERE id = ? AND status = 'pending'{self.dialect.skip_locked})",
            (worker, self.now(), payload, delivery_id),
        )
        return cursor.rowcount == 1

    def defer_delivery(self, delivery_id: int, due: datetime, detail: dict[str, Any]) -> None:
        self._conn.execute(
            "UPDATE deliveries SET due_at = ?, detail = ? WHERE id = ? AND status = 'pending'",
            (iso(due), json.dumps(detail), delivery_id),
        )

    def skip_delivery(self, delivery_id: int, reason: str) -> None:
        self._conn.execute(
            "UPDATE deliveries SET status = ?, error = ?, finished_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (SKIPPED, reason, self.now(), delivery_id),
        )

    def record_sent(self, delivery_id: int, *, worker: str) -> None:
        """The send succeeded (also after the claim was presumed lost to a crash)."""
        self._conn.execute(
            "UPDATE deliveries SET status = ?, error = NULL, finished_at = ?"
            " WHERE id = ? AND claimed_by = ? AND status IN ('sending', ?)",
            (SENT, self.now(), delivery_id, worker, INTERRUPTED),
        )

    def record_failure(
        self, delivery_id: int, *, worker: str, error: str, retry_at: datetime | None
    ) -> None:
        """A failed send: back to pending at `retry_at`, or failed for good when None."""
        if retry_at is None:
            self._conn.execute(
                "UPDATE deliveries SET status = ?, error = ?, finished_at = ?"
                " WHERE id = ? AND claimed_by = ?",
                (FAILED, error, self.now(), delivery_id, worker),
            )
        else:
            self._conn.execute(
                "UPDATE deliveries SET status = 'pending', error = ?, due_at = ?"
                " WHERE id = ? AND claimed_by = ?",
                (error, iso(retry_at), delivery_id, worker),
            )

    def recover_interrupted(self, claimed_before: datetime, *, max_attempts: int = 5) -> int:
        """Claims older than the lease belong to a sender that died: send them again.

        Whether the message went out is unknown; a check-in that arrives twice is better
        than one that never does. The claimed message (`payload`) is kept, so the same
        one is sent; a delivery out of attempts fails instead, shown by `coffee-coach status`.
        """
        now, cutoff = self.now(), iso(claimed_before)
        cursor = self._conn.execute(
            "UPDATE deliveries SET status = 'pending', due_at = ?, error = 'the sender stopped"
            " mid-send; sent again, so it may arrive twice'"
            " WHERE status = 'sending' AND claimed_at < ? AND attempts < ?",
            (now, cutoff, max_attempts),
        )
        resent = cursor.rowcount
        cursor = self._conn.execute(
            "UPDATE deliveries SET status = ?, error = 'the sender stopped mid-send, and"
            " it was out of attempts', finished_at = ? WHERE status = 'sending' AND claimed_at < ?",
            (INTERRUPTED, now, cutoff),
        )
        return resent + cursor.rowcount

    def prune_deliveries(self, finished_before: datetime) -> int:
        """Forget deliveries that ended well: the conversations keep the history that matters."""
        cursor = self._conn.execute(
            "DELETE FROM deliveries WHERE status IN (?, ?, ?) AND finished_at < ?",
            (SENT, SKIPPED, SUPERSEDED, iso(finished_before)),
        )
        return cursor.rowcount

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Deliveries by kind and status, for `coffee-coach status`."""
        result: dict[str, dict[str, int]] = {}
        for kind, status, count in self._conn.execute(
            "SELECT kind, status, count(*) FROM deliveries GROUP BY kind, status"
        ):
            result.setdefault(kind, {})[status] = count
        return result

    def problems(self, limit: int = 20) -> list[tuple[Delivery, str, str]]:
        """Failed and interrupted deliveries, newest first, with their team and member."""
        rows = self._conn.execute(
            f"SELECT {', '.join('d.' + c for c in _DELIVERY_COLUMNS.split(', '))},"
            " t.platform || ':' || t.team, coalesce(m.name, m.user, '(team)') FROM deliveries d"
            " JOIN teams t ON t.id = d.team_id LEFT JOIN members m ON m.id = d.member_id"
            " WHERE d.status IN (?, ?) ORDER BY d.finished_at DESC LIMIT ?",
            (FAILED, INTERRUPTED, limit),
        ).fetchall()
        return [(_delivery(row[:11]), row[11], row[12]) for row in rows]

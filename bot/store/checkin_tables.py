"""The check-in tables: team schedules with their next due time, rounds, and members'
preferences. The outbox of deliveries is in `deliveries.py`.

Finding what is due reads two partial indexes (`schedules.next_due`, pending
`deliveries.due_at`), so it costs the same with 10 teams or 100,000. Times are stored
as UTC ISO strings of one fixed shape, so they compare as text.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.messages import MemberKey
from bot.store.records import (
    CHECKIN,
    FAILED,
    INTERRUPTED,
    Member,
    Prefs,
    ScheduleColumns,
)
from bot.store.tables import Tables
from bot.zones import canonical_zone

_WATERMARK = "checkins.interviews_seen_up_to"
_SCHEDULE_COLUMNS = (
    "cadence, weekday, local_time, day, anchor, timezone, working_days, quiet_start,"
    " quiet_end, stage_check_every"
)


class CheckinTables(Tables):
    """The check-in side of the store; the store class supplies the plumbing below."""

    def member(self, key: MemberKey) -> Member | None:
        raise NotImplementedError

    # --- schedules ------------------------------------------------------------------------

    def schedule_columns(self, team_id: int) -> tuple[ScheduleColumns, datetime | None] | None:
        """The team's schedule as stored, and its next due time; None before any was set."""
        row = self._conn.execute(
            f"SELECT {_SCHEDULE_COLUMNS}, next_due FROM schedules WHERE team_id = ?", (team_id,)
        ).fetchone()
        if row is None:
            return None
        return ScheduleColumns(*row[:10]), parse_iso(row[10]) if row[10] else None

    def save_schedule_columns(
        self, team_id: int, columns: ScheduleColumns, due: datetime | None, *, by: str | None
    ) -> None:
        """Write the team's schedule and its next due time."""
        self._conn.execute(
            f"INSERT INTO schedules (team_id, {_SCHEDULE_COLUMNS}, next_due, updated_at,"
            " updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id) DO UPDATE SET"
            " cadence = excluded.cadence, weekday = excluded.weekday,"
            " local_time = excluded.local_time, day = excluded.day, anchor = excluded.anchor,"
            " timezone = excluded.timezone, working_days = excluded.working_days,"
            " quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,"
            " stage_check_every = excluded.stage_check_every, next_due = excluded.next_due,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (
                team_id,
                *columns.values(),
                iso(due) if due else None,
                self.now(),
                by,
            ),
        )

    def due_schedule_columns(
        self, now: datetime, limit: int
    ) -> list[tuple[int, ScheduleColumns, datetime]]:
        """Teams whose next check-in is due, earliest first (an index range, not a scan)."""
        rows = self._conn.execute(
            f"SELECT team_id, {_SCHEDULE_COLUMNS}, next_due FROM schedules"
            " WHERE next_due IS NOT NULL AND next_due <= ? ORDER BY next_due LIMIT ?"
            + self.dialect.skip_locked,
            (iso(now), limit),
        ).fetchall()
        return [(row[0], ScheduleColumns(*row[1:11]), parse_iso(row[11])) for row in rows]

    def team_zone(self, team_id: int) -> str:
        row = self._conn.execute("SELECT timezone FROM teams WHERE id = ?", (team_id,)).fetchone()
        return (canonical_zone(row[0]) if row else None) or "UTC"

    def member_zone(self, member_id: int) -> str | None:
        """The zone the member's platform last reported, as stored."""
        row = self._conn.execute(
            "SELECT timezone FROM members WHERE id = ?", (member_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    # --- rounds ---------------------------------------------------------------------------

    def checkin_rounds(self, team_id: int) -> list[tuple[str, int, int]]:
        """Each check-in round of a team: (when, members asked, members who answered).

        A check-in's conversation starts when its message is prepared, before it is sent: one
        whose send was given up or interrupted never reached the member, so they were not asked.
        """
        round_of = self.dialect.json_text("c.context", "round")
        rows = self._conn.execute(
            "SELECT r.round, count(*), sum(CASE WHEN EXISTS (SELECT 1 FROM answers a"
            "  WHERE a.conversation_id = r.id AND a.question = 'ci_progress') THEN 1 ELSE 0 END)"
            f" FROM (SELECT c.id, c.member_id, {round_of} AS round"
            "  FROM conversations c JOIN members m ON m.id = c.member_id"
            "  WHERE m.team_id = ? AND c.flow IN ('checkin', 'checkin_stage')) r"
            " WHERE r.round IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deliveries d"
            "  WHERE d.key = CAST(? AS TEXT) || ':' || CAST(r.member_id AS TEXT) || ':' || r.round"
            "  AND d.status IN (?, ?))"
            " GROUP BY r.round ORDER BY r.round",
            (team_id, CHECKIN, FAILED, INTERRUPTED),
        ).fetchall()
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def checkin_zone(self, team_id: int) -> str:
        """The zone the team's check-ins keep: its schedule's, else the team's, else UTC."""
        row = self._conn.execute(
            "SELECT timezone FROM schedules WHERE team_id = ?", (team_id,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        row = self._conn.execute("SELECT timezone FROM teams WHERE id = ?", (team_id,)).fetchone()
        return (canonical_zone(row[0]) if row else None) or "UTC"

    # --- members and deliveries -----------------------------------------------------------

    def advance_schedule(
        self, team_id: int, expected: datetime, following: datetime | None
    ) -> bool:
        """Move the next due time on, if nobody else did: the winner expands the occurrence."""
        cursor = self._conn.execute(
            "UPDATE schedules SET next_due = ? WHERE team_id = ? AND next_due = ?",
            (iso(following) if following else None, team_id, iso(expected)),
        )
        return cursor.rowcount == 1

    def member_by_id(self, member_id: int) -> Member | None:
        row = self._conn.execute(
            "SELECT t.platform, t.workspace, m.user, t.team FROM members m"
            " JOIN teams t ON t.id = m.team_id WHERE m.id = ?",
            (member_id,),
        ).fetchone()
        return self.member(MemberKey(*row)) if row else None

    def forget_address(self, *, team_id: int, member_id: int | None, address: str) -> None:
        """The platform says `address` can never be reached: drop it (if it is still the one).

        Deliveries to a member or team with no address are skipped, not failed, and the
        engine stores a fresh address the next time the member (or the team) writes.
        """
        if member_id is not None:
            self._conn.execute(
                "UPDATE members SET address = NULL WHERE id = ? AND address = ?",
                (member_id, address),
            )
        else:
            self._conn.execute(
                "UPDATE teams SET address = NULL WHERE id = ? AND address = ?", (team_id, address)
            )

    def remember_zone(self, member_id: int, zone: str | None) -> None:
        """Keep the zone the member's platform reports, when it is a real zone and changed."""
        canonical = canonical_zone(zone)
        if canonical is not None:
            self._conn.execute(
                "UPDATE members SET timezone = ?"
                " WHERE id = ? AND (timezone IS NULL OR timezone <> ?)",
                (canonical, member_id, canonical),
            )

    def prefs_of(self, member_id: int) -> Prefs:
        row = self._conn.execute(
            "SELECT opted_out, snoozed_until FROM member_prefs WHERE member_id = ?", (member_id,)
        ).fetchone()
        if row is None:
            return Prefs()
        return Prefs(bool(row[0]), parse_iso(row[1]) if row[1] else None)

    def set_prefs(self, member_id: int, *, opted_out: bool, snoozed_until: datetime | None) -> None:
        self._conn.execute(
            "INSERT INTO member_prefs (member_id, opted_out, snoozed_until) VALUES (?, ?, ?)"
            " ON CONFLICT (member_id) DO UPDATE SET opted_out = excluded.opted_out,"
            " snoozed_until = excluded.snoozed_until",
            (member_id, int(opted_out), iso(snoozed_until) if snoozed_until else None),
        )

    def checkin_members(self, team_id: int) -> list[int]:
        """Members who finished an interview and have not opted out: who gets check-ins."""
        rows = self._conn.execute(
            "SELECT m.id FROM members m LEFT JOIN member_prefs p ON p.member_id = m.id"
            " WHERE m.team_id = ? AND coalesce(p.opted_out, 0) = 0 AND EXISTS ("
            "  SELECT 1 FROM conversations c"
            "  WHERE c.member_id = m.id AND c.flow = 'coffee' AND c.status = 'done')"
            " ORDER BY m.id",
            (team_id,),
        ).fetchall()
        return [row[0] for row in rows]

    def new_interviews(self, limit: int) -> list[tuple[int, int, int, datetime]]:
        """Interviews started since the last call, as (conversation, member, team, last activity).

        A high-water mark over conversation ids, so each pass reads only what is new.
        """
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
        seen = int(row[0]) if row else 0
        rows = self._conn.execute(
            "SELECT c.id, c.member_id, m.team_id, c.updated_at, c.flow, c.status"
            " FROM conversations c JOIN members m ON m.id = c.member_id"
            " WHERE c.id > ? ORDER BY c.id LIMIT ?",
            (seen, limit),
        ).fetchall()
        if rows:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_WATERMARK, str(rows[-1][0])),
            )
        return [
            (r[0], r[1], r[2], parse_iso(r[3]))
            for r in rows
            if r[4] == "coffee" and r[5] in ("active", "paused")
        ]

    def next_wake(self, *, platforms: Collection[str] | None = None) -> datetime | None:
        """The earliest moment anything is due (deliveries only to teams on `platforms`,
        when given): two index lookups."""
        hint = self.dialect.index_hint("deliveries_due")
        if platforms is None:
            delivery = self._conn.execute(
                f"SELECT min(due_at) FROM deliveries{hint} WHERE status = 'pending'"
            ).fetchone()
        else:
            marks = ", ".join("?" * len(platforms))
            delivery = self._conn.execute(
                f"SELECT due_at FROM deliveries{hint} WHERE status = 'pending' AND team_id IN"
                f" (SELECT id FROM teams WHERE platform IN ({marks})) ORDER BY due_at LIMIT 1",
                tuple(platforms),
            ).fetchone()
        found = [
            self._conn.execute(
                "SELECT min(next_due) FROM schedules WHERE next_due IS NOT NULL"
            ).fetchone()[0],
            delivery[0] if delivery else None,
        ]
        moments = [parse_iso(m) for m in found if m]
        return min(moments) if moments else None

    def schedule_counts(self) -> tuple[int, int]:
        """Teams with check-ins on, and off."""
        row = self._conn.execute(
            "SELECT count(next_due), count(*) - count(next_due) FROM schedules"
        ).fetchone()
        return int(row[0]), int(row[1])

    def checkin_count(self, member_id: int) -> int:
        """How many check-ins the member was ever sent (every Nth has a stage check)."""
        row = self._conn.execute(
            "SELECT count(*) FROM conversations"
            " WHERE member_id = ? AND flow IN ('checkin', 'checkin_stage')",
            (member_id,),
        ).fetchone()
        return int(row[0])

    def previous_outcome(self, member_id: int, *, before: int) -> str | None:
        """How the member's previous answered check-in went (done, partly, not_yet)."""
        row = self._conn.execute(
            "SELECT a.value FROM answers a JOIN conversations c ON c.id = a.conversation_id"
            " WHERE c.member_id = ? AND c.id < ? AND c.flow IN ('checkin', 'checkin_stage')"
            " AND a.question = 'ci_progress' ORDER BY c.id DESC, a.version DESC LIMIT 1",
            (member_id, before),
        ).fetchone()
        return str(row[0]) if row else None

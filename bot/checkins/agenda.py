"""The check-in tables: team schedules with their next due time, members' preferences, and
the outbox of deliveries.

Finding what is due reads two partial indexes (`schedules.next_due`, pending
`deliveries.due_at`), so it costs the same with 10 teams or 100,000. A delivery is
claimed (status `sending`, committed) before it is sent and recorded after, so two
scheduler processes, or one that crashed mid-send, never send it twice. Times are stored
as UTC ISO strings of one fixed shape, so they compare as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from bot.checkins.schedules import QuietHours, Rhythm, Schedule, next_due
from bot.clock import iso, parse_iso
from bot.messages import Choice, MemberKey, Outgoing, Reply
from bot.store import (
    FAILED,
    INTERRUPTED,
    SENT,
    SKIPPED,
    SUPERSEDED,
    Member,
    Store,
)
from bot.zones import canonical_zone

_WATERMARK = "checkins.interviews_seen_up_to"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    key: str
    kind: str
    team_id: int
    member_id: int | None
    detail: dict[str, Any]
    due_at: datetime
    status: str
    attempts: int
    payload: str | None
    error: str | None


_DELIVERY_COLUMNS = (
    "id, key, kind, team_id, member_id, detail, due_at, status, attempts, payload, error"
)


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


@dataclass(frozen=True, slots=True)
class Prefs:
    opted_out: bool = False
    snoozed_until: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


# --- schedules -------------------------------------------------------------------------

_SCHEDULE_COLUMNS = (
    "cadence, weekday, local_time, day, anchor, timezone, working_days, quiet_start,"
    " quiet_end, stage_check_every"
)


def _schedule(row: tuple[Any, ...]) -> Schedule:
    return Schedule(
        cadence=row[0],
        weekday=row[1],
        at=time.fromisoformat(row[2]),
        day=row[3],
        anchor=date.fromisoformat(row[4]),
        stage_check_every=row[9],
        rhythm=Rhythm(
            zone=row[5],
            working_days=frozenset(int(d) for d in row[6].split(",")),
            quiet=QuietHours(time.fromisoformat(row[7]), time.fromisoformat(row[8])),
        ),
    )


def _schedule_values(schedule: Schedule) -> tuple[Any, ...]:
    rhythm = schedule.rhythm
    return (
        schedule.cadence,
        schedule.weekday,
        schedule.at.isoformat("minutes"),
        schedule.day,
        schedule.anchor.isoformat(),
        rhythm.zone,
        ",".join(str(d) for d in sorted(rhythm.working_days)),
        rhythm.quiet.start.isoformat("minutes"),
        rhythm.quiet.end.isoformat("minutes"),
        schedule.stage_check_every,
    )


def schedule_of(store: Store, team_id: int) -> tuple[Schedule, datetime | None] | None:
    """The team's schedule and its next due time, or None before check-ins were set up."""
    row = store.conn.execute(
        f"SELECT {_SCHEDULE_COLUMNS}, next_due FROM schedules WHERE team_id = ?", (team_id,)
    ).fetchone()
    if row is None:
        return None
    return _schedule(row), parse_iso(row[10]) if row[10] else None


def save_schedule(
    store: Store, team_id: int, schedule: Schedule, *, by: str | None
) -> datetime | None:
    """Write the team's schedule and its next due time from now; returns that time."""
    due = next_due(schedule, store.clock.now())
    store.conn.execute(
        f"INSERT INTO schedules (team_id, {_SCHEDULE_COLUMNS}, next_due, updated_at, updated_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id) DO UPDATE SET"
        " cadence = excluded.cadence, weekday = excluded.weekday,"
        " local_time = excluded.local_time, day = excluded.day, anchor = excluded.anchor,"
        " timezone = excluded.timezone, working_days = excluded.working_days,"
        " quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,"
        " stage_check_every = excluded.stage_check_every, next_due = excluded.next_due,"
        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (
            team_id,
            *_schedule_values(schedule),
            iso(due) if due else None,
            store.now(),
            by,
        ),
    )
    return due


def ensure_schedule(store: Store, team_id: int, schedule: Schedule) -> bool:
    """Turn check-ins on with `schedule` unless the team already has one (even `off`)."""
    if schedule_of(store, team_id) is not None:
        return False
    save_schedule(store, team_id, schedule, by=None)
    return True


def due_schedules(store: Store, now: datetime, limit: int) -> list[tuple[int, Schedule, datetime]]:
    """Teams whose next check-in is due, earliest first (an index range, not a scan)."""
    rows = store.conn.execute(
        f"SELECT team_id, {_SCHEDULE_COLUMNS}, next_due FROM schedules"
        " WHERE next_due IS NOT NULL AND next_due <= ? ORDER BY next_due LIMIT ?",
        (iso(now), limit),
    ).fetchall()
    return [(row[0], _schedule(row[1:]), parse_iso(row[11])) for row in rows]


def advance_schedule(
    store: Store, team_id: int, expected: datetime, following: datetime | None
) -> bool:
    """Move the next due time on, if nobody else did: the winner expands the occurrence."""
    cursor = store.conn.execute(
        "UPDATE schedules SET next_due = ? WHERE team_id = ? AND next_due = ?",
        (iso(following) if following else None, team_id, iso(expected)),
    )
    return cursor.rowcount == 1


# --- members -----------------------------------------------------------------------------


def member_by_id(store: Store, member_id: int) -> Member | None:
    row = store.conn.execute(
        "SELECT t.platform, t.workspace, m.user, t.team FROM members m"
        " JOIN teams t ON t.id = m.team_id WHERE m.id = ?",
        (member_id,),
    ).fetchone()
    return store.member(MemberKey(*row)) if row else None


def forget_address(store: Store, *, team_id: int, member_id: int | None, address: str) -> None:
    """The platform says `address` can never be reached: drop it (if it is still the one).

    Deliveries to a member or team with no address are skipped, not failed, and the
    engine stores a fresh address the next time the member (or the team) writes.
    """
    if member_id is not None:
        store.conn.execute(
            "UPDATE members SET address = NULL WHERE id = ? AND address = ?", (member_id, address)
        )
    else:
        store.conn.execute(
            "UPDATE teams SET address = NULL WHERE id = ? AND address = ?", (team_id, address)
        )


def remember_zone(store: Store, member_id: int, zone: str | None) -> None:
    """Keep the zone the member's platform reports, when it is a real zone and changed."""
    canonical = canonical_zone(zone)
    if canonical is not None:
        store.conn.execute(
            "UPDATE members SET timezone = ? WHERE id = ? AND timezone IS NOT ?",
            (canonical, member_id, canonical),
        )


def rhythm_for(store: Store, team_id: int, member_id: int | None) -> Rhythm:
    """When someone may be pinged: the team's working days and quiet hours, in their zone."""
    found = schedule_of(store, team_id)
    team = found[0].rhythm if found else Rhythm(zone=_team_zone(store, team_id))
    if member_id is None:
        return team
    row = store.conn.execute("SELECT timezone FROM members WHERE id = ?", (member_id,)).fetchone()
    zone = canonical_zone(row[0]) if row else None
    return Rhythm(zone or team.zone, team.working_days, team.quiet)


def _team_zone(store: Store, team_id: int) -> str:
    row = store.conn.execute("SELECT timezone FROM teams WHERE id = ?", (team_id,)).fetchone()
    return (canonical_zone(row[0]) if row else None) or "UTC"


def prefs(store: Store, member_id: int) -> Prefs:
    row = store.conn.execute(
        "SELECT opted_out, snoozed_until FROM member_prefs WHERE member_id = ?", (member_id,)
    ).fetchone()
    if row is None:
        return Prefs()
    return Prefs(bool(row[0]), parse_iso(row[1]) if row[1] else None)


def set_prefs(
    store: Store, member_id: int, *, opted_out: bool, snoozed_until: datetime | None
) -> None:
    store.conn.execute(
        "INSERT INTO member_prefs (member_id, opted_out, snoozed_until) VALUES (?, ?, ?)"
        " ON CONFLICT (member_id) DO UPDATE SET opted_out = excluded.opted_out,"
        " snoozed_until = excluded.snoozed_until",
        (member_id, int(opted_out), iso(snoozed_until) if snoozed_until else None),
    )


def checkin_members(store: Store, team_id: int) -> list[int]:
    """Members who finished an interview and have not opted out: who gets check-ins."""
    rows = store.conn.execute(
        "SELECT m.id FROM members m LEFT JOIN member_prefs p ON p.member_id = m.id"
        " WHERE m.team_id = ? AND coalesce(p.opted_out, 0) = 0 AND EXISTS ("
        "  SELECT 1 FROM conversations c"
        "  WHERE c.member_id = m.id AND c.flow = 'coffee' AND c.status = 'done')"
        " ORDER BY m.id",
        (team_id,),
    ).fetchall()
    return [row[0] for row in rows]


def new_interviews(store: Store, limit: int) -> list[tuple[int, int, int, datetime]]:
    """Interviews started since the last call, as (conversation, member, team, last activity).

    A high-water mark over conversation ids, so each pass reads only what is new.
    """
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
    seen = int(row[0]) if row else 0
    rows = store.conn.execute(
        "SELECT c.id, c.member_id, m.team_id, c.updated_at, c.flow, c.status FROM conversations c"
        " JOIN members m ON m.id = c.member_id WHERE c.id > ? ORDER BY c.id LIMIT ?",
        (seen, limit),
    ).fetchall()
    if rows:
        store.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_WATERMARK, str(rows[-1][0])),
        )
    return [
        (r[0], r[1], r[2], parse_iso(r[3]))
        for r in rows
        if r[4] == "coffee" and r[5] in ("active", "paused")
    ]


# --- deliveries ----------------------------------------------------------------------------


def enqueue(
    store: Store,
    *,
    key: str,
    kind: str,
    team_id: int,
    member_id: int | None,
    due: datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Add a delivery unless one with the same key exists; True if it was added."""
    cursor = store.conn.execute(
        "INSERT OR IGNORE INTO deliveries (key, kind, team_id, member_id, detail, due_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, kind, team_id, member_id, json.dumps(detail or {}), iso(due), store.now()),
    )
    return cursor.rowcount == 1


def supersede(store: Store, member_id: int, kind: str) -> None:
    """Drop a member's pending deliveries of a kind: a newer one replaces them."""
    store.conn.execute(
        "UPDATE deliveries SET status = ?, finished_at = ?"
        " WHERE member_id = ? AND kind = ? AND status = 'pending'",
        (SUPERSEDED, store.now(), member_id, kind),
    )


def due_deliveries(store: Store, now: datetime, limit: int) -> list[Delivery]:
    rows = store.conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries INDEXED BY deliveries_due"
        " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        (iso(now), limit),
    ).fetchall()
    return [_delivery(row) for row in rows]


def claim(store: Store, delivery_id: int, *, worker: str, payload: str) -> bool:
    """Mark a pending delivery as being sent by `worker`, with the message it will carry."""
    cursor = store.conn.execute(
        "UPDATE deliveries SET status = 'sending', claimed_by = ?, claimed_at = ?,"
        " attempts = attempts + 1, payload = ? WHERE id = ? AND status = 'pending'",
        (worker, store.now(), payload, delivery_id),
    )
    return cursor.rowcount == 1


def defer(store: Store, delivery_id: int, due: datetime, detail: dict[str, Any]) -> None:
    store.conn.execute(
        "UPDATE deliveries SET due_at = ?, detail = ? WHERE id = ? AND status = 'pending'",
        (iso(due), json.dumps(detail), delivery_id),
    )


def skip(store: Store, delivery_id: int, reason: str) -> None:
    store.conn.execute(
        "UPDATE deliveries SET status = ?, error = ?, finished_at = ?"
        " WHERE id = ? AND status = 'pending'",
        (SKIPPED, reason, store.now(), delivery_id),
    )


def record_sent(store: Store, delivery_id: int, *, worker: str) -> None:
    """The send succeeded (also after the claim was presumed lost to a crash)."""
    store.conn.execute(
        "UPDATE deliveries SET status = ?, error = NULL, finished_at = ?"
        " WHERE id = ? AND claimed_by = ? AND status IN ('sending', ?)",
        (SENT, store.now(), delivery_id, worker, INTERRUPTED),
    )


def record_failure(
    store: Store, delivery_id: int, *, worker: str, error: str, retry_at: datetime | None
) -> None:
    """A failed send: back to pending at `retry_at`, or failed for good when None."""
    if retry_at is None:
        store.conn.execute(
            "UPDATE deliveries SET status = ?, error = ?, finished_at = ?"
            " WHERE id = ? AND claimed_by = ?",
            (FAILED, error, store.now(), delivery_id, worker),
        )
    else:
        store.conn.execute(
            "UPDATE deliveries SET status = 'pending', error = ?, due_at = ?"
            " WHERE id = ? AND claimed_by = ?",
            (error, iso(retry_at), delivery_id, worker),
        )


def recover_interrupted(store: Store, claimed_before: datetime) -> int:
    """Claims older than the lease belong to a sender that died: never resend them.

    Whether the message went out is unknown, and a double send is worse than a missed
    one; they are marked `interrupted` for `coffee-coach status`.
    """
    cursor = store.conn.execute(
        "UPDATE deliveries SET status = ?, error = 'the sender stopped mid-send;"
        " not retried, so it is never sent twice', finished_at = ?"
        " WHERE status = 'sending' AND claimed_at < ?",
        (INTERRUPTED, store.now(), iso(claimed_before)),
    )
    return cursor.rowcount


def prune(store: Store, finished_before: datetime) -> int:
    """Forget deliveries that ended well: the conversations keep the history that matters."""
    cursor = store.conn.execute(
        "DELETE FROM deliveries WHERE status IN (?, ?, ?) AND finished_at < ?",
        (SENT, SKIPPED, SUPERSEDED, iso(finished_before)),
    )
    return cursor.rowcount


def next_wake(store: Store) -> datetime | None:
    """The earliest moment anything is due: two index lookups."""
    found = [
        store.conn.execute(
            "SELECT min(next_due) FROM schedules WHERE next_due IS NOT NULL"
        ).fetchone()[0],
        store.conn.execute(
            "SELECT min(due_at) FROM deliveries INDEXED BY deliveries_due WHERE status = 'pending'"
        ).fetchone()[0],
    ]
    moments = [parse_iso(m) for m in found if m]
    return min(moments) if moments else None


def schedule_counts(store: Store) -> tuple[int, int]:
    """Teams with check-ins on, and off."""
    row = store.conn.execute(
        "SELECT count(next_due), count(*) - count(next_due) FROM schedules"
    ).fetchone()
    return int(row[0]), int(row[1])


def counts(store: Store) -> dict[str, dict[str, int]]:
    """Deliveries by kind and status, for `coffee-coach status`."""
    result: dict[str, dict[str, int]] = {}
    for kind, status, count in store.conn.execute(
        "SELECT kind, status, count(*) FROM deliveries GROUP BY kind, status"
    ):
        result.setdefault(kind, {})[status] = count
    return result


def problems(store: Store, limit: int = 20) -> list[tuple[Delivery, str, str]]:
    """Failed and interrupted deliveries, newest first, with their team and member."""
    rows = store.conn.execute(
        f"SELECT {', '.join('d.' + c for c in _DELIVERY_COLUMNS.split(', '))},"
        " t.platform || ':' || t.team, coalesce(m.name, m.user, '(team)') FROM deliveries d"
        " JOIN teams t ON t.id = d.team_id LEFT JOIN members m ON m.id = d.member_id"
        " WHERE d.status IN (?, ?) ORDER BY d.finished_at DESC LIMIT ?",
        (FAILED, INTERRUPTED, limit),
    ).fetchall()
    return [(_delivery(row[:11]), row[11], row[12]) for row in rows]


def checkin_rounds(store: Store, team_id: int) -> list[tuple[str, int, int]]:
    """Each check-in round of a team: (when, members asked, members who answered).

    A check-in's conversation starts when its message is prepared, before it is sent: one
    whose send was given up or interrupted never reached the member, so they were not asked.
    """
    return store.checkin_rounds(team_id)


def checkin_count(store: Store, member_id: int) -> int:
    """How many check-ins the member was ever sent (every Nth has a stage check)."""
    row = store.conn.execute(
        "SELECT count(*) FROM conversations"
        " WHERE member_id = ? AND flow IN ('checkin', 'checkin_stage')",
        (member_id,),
    ).fetchone()
    return int(row[0])


def previous_outcome(store: Store, member_id: int, *, before: int) -> str | None:
    """How the member's previous answered check-in went (done, partly, not_yet)."""
    row = store.conn.execute(
        "SELECT a.value FROM answers a JOIN conversations c ON c.id = a.conversation_id"
        " WHERE c.member_id = ? AND c.id < ? AND c.flow IN ('checkin', 'checkin_stage')"
        " AND a.question = 'ci_progress' ORDER BY c.id DESC, a.version DESC LIMIT 1",
        (member_id, before),
    ).fetchone()
    return str(row[0]) if row else None


# --- the message a delivery carries ----------------------------------------------------


def encode(outgoing: Outgoing) -> str:
    """The prepared message as JSON, so a retry sends exactly what was claimed."""
    key = outgoing.key
    return json.dumps(
        {
            "address": outgoing.address,
            "key": [key.platform, key.workspace, key.user, key.team] if key else None,
            "replies": [
                {
                    "text": r.text,
                    "choices": [[c.label, c.value, c.style, c.nav] for c in r.choices],
                    "prompt_token": r.prompt_token,
                }
                for r in outgoing.replies
                if r.text
            ],
        }
    )


def decode(payload: str) -> Outgoing:
    data = json.loads(payload)
    return Outgoing(
        address=data["address"],
        key=MemberKey(*data["key"]) if data["key"] else None,
        replies=tuple(
            Reply(
                text=r["text"],
                choices=tuple(Choice(*c) for c in r["choices"]),
                prompt_token=r["prompt_token"],
            )
            for r in data["replies"]
        ),
    )

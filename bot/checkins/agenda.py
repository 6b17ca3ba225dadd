"""Check-in schedules in and out of the store, and the message a delivery carries.

The check-in tables themselves, with their SQL, are in `bot/store/checkin_tables.py`.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import cast

from bot.checkins.schedules import Cadence, QuietHours, Rhythm, Schedule, next_due
from bot.messages import Choice, MemberKey, Outgoing, Reply
from bot.store import (
    ScheduleColumns,
    Store,
)
from bot.zones import canonical_zone

# --- schedules -------------------------------------------------------------------------


def _schedule(row: ScheduleColumns) -> Schedule:
    return Schedule(
        cadence=cast(Cadence, row.cadence),
        weekday=row.weekday,
        at=time.fromisoformat(row.local_time),
        day=row.day,
        anchor=date.fromisoformat(row.anchor),
        stage_check_every=row.stage_check_every,
        rhythm=Rhythm(
            zone=row.timezone,
            working_days=frozenset(int(d) for d in row.working_days.split(",")),
            quiet=QuietHours(
                time.fromisoformat(row.quiet_start), time.fromisoformat(row.quiet_end)
            ),
        ),
    )


def _schedule_values(schedule: Schedule) -> ScheduleColumns:
    rhythm = schedule.rhythm
    return ScheduleColumns(
        cadence=schedule.cadence,
        weekday=schedule.weekday,
        local_time=schedule.at.isoformat("minutes"),
        day=schedule.day,
        anchor=schedule.anchor.isoformat(),
        timezone=rhythm.zone,
        working_days=",".join(str(d) for d in sorted(rhythm.working_days)),
        quiet_start=rhythm.quiet.start.isoformat("minutes"),
        quiet_end=rhythm.quiet.end.isoformat("minutes"),
        stage_check_every=schedule.stage_check_every,
    )


def schedule_of(store: Store, team_id: int) -> tuple[Schedule, datetime | None] | None:
    """The team's schedule and its next due time, or None before check-ins were set up."""
    found = store.schedule_columns(team_id)
    if found is None:
        return None
    columns, due = found
    return _schedule(columns), due


def save_schedule(
    store: Store, team_id: int, schedule: Schedule, *, by: str | None
) -> datetime | None:
    """Write the team's schedule and its next due time from now; returns that time."""
    due = next_due(schedule, store.clock.now())
    store.save_schedule_columns(team_id, _schedule_values(schedule), due, by=by)
    return due


def ensure_schedule(store: Store, team_id: int, schedule: Schedule) -> bool:
    """Turn check-ins on with `schedule` unless the team already has one (even `off`)."""
    if schedule_of(store, team_id) is not None:
        return False
    save_schedule(store, team_id, schedule, by=None)
    return True


def due_schedules(store: Store, now: datetime, limit: int) -> list[tuple[int, Schedule, datetime]]:
    """Teams whose next check-in is due, earliest first (an index range, not a scan)."""
    return [
        (team, _schedule(columns), due)
        for team, columns, due in store.due_schedule_columns(now, limit)
    ]


# --- members -----------------------------------------------------------------------------


def rhythm_for(store: Store, team_id: int, member_id: int | None) -> Rhythm:
    """When someone may be pinged: the team's working days and quiet hours, in their zone."""
    found = schedule_of(store, team_id)
    team = found[0].rhythm if found else Rhythm(zone=store.team_zone(team_id))
    if member_id is None:
        return team
    zone = canonical_zone(store.member_zone(member_id))
    return Rhythm(zone or team.zone, team.working_days, team.quiet)


# --- deliveries ----------------------------------------------------------------------------


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

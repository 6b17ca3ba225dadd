"""When check-ins fall due: pure arithmetic over a team's schedule, in its own time zone.

Instants are timezone-aware datetimes (compared and stored in UTC); calendar reasoning
(which day, what time on the wall) happens in the team's or the member's zone through
zoneinfo, so a 09:30 check-in stays 09:30 local across daylight-saving changes. Nothing
here touches the store or the clock: callers pass `now`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.zones import canonical_zone

Cadence = Literal["weekly", "fortnightly", "monthly", "off"]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CADENCE_NAMES: dict[Cadence, str] = {
    "weekly": "weekly",
    "fortnightly": "every two weeks",
    "monthly": "monthly",
    "off": "off",
}
MAX_STAGE_CHECK_EVERY = 12
# Longest gap between two occurrences (a monthly day 31 moved past a weekend, plus slack).
_SEARCH_DAYS = 70


class ScheduleError(ValueError):
    """Input that cannot become a schedule; the message is the reply the member sees."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (possibly across midnight) in which nobody is pinged."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


WORKWEEK = frozenset(range(5))
NIGHT = QuietHours(time(20, 0), time(8, 0))


@dataclass(frozen=True, slots=True)
class Rhythm:
    """Where and when a person may be pinged: their zone, working days and quiet hours."""

    zone: str = "UTC"
    working_days: frozenset[int] = WORKWEEK
    quiet: QuietHours = NIGHT

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A team's check-in schedule. `anchor` fixes which weeks a fortnightly cadence uses."""

    cadence: Cadence = "weekly"
    weekday: int = 0
    at: time = time(9, 30)
    # Monthly: the day of the month, clamped to the month's last day (31 means "the last").
    day: int = 1
    anchor: date = date(2026, 1, 5)
    stage_check_every: int = 4
    rhythm: Rhythm = field(default_factory=Rhythm)

    @property
    def zone(self) -> str:
        return self.rhythm.zone

    def falls_on(self, day: date) -> bool:
        if self.cadence in ("weekly", "fortnightly"):
            if day.weekday() != self.weekday:
                return False
            weeks = (_monday(day) - _monday(self.anchor)).days // 7
            return self.cadence == "weekly" or weeks % 2 == 0
        if self.cadence == "monthly":
            previous = _month_before(day.year, day.month)
            return day in (self.monthly_date(day.year, day.month), self.monthly_date(*previous))
        return False

    def monthly_date(self, year: int, month: int) -> date:
        """The month's check-in day: clamped to the month's end, then on to a working day."""
        last = calendar.monthrange(year, month)[1]
        day = date(year, month, min(self.day, last))
        while day.weekday() not in self.rhythm.working_days:
            day += timedelta(days=1)
        return day

    def describe(self) -> str:
        if self.cadence == "off":
            return "off"
        when = f"at {self.at:%H:%M} ({self.zone})"
        if self.cadence == "monthly":
            day = "the last day" if self.day >= 31 else f"day {self.day}"
            return f"monthly on {day} {when}"
        return f"{CADENCE_NAMES[self.cadence]} on {WEEKDAYS[self.weekday]} {when}"


def default_schedule(zone: str | None, today: date) -> Schedule:
    """Weekly, Monday 09:30 in the team's zone, Monday to Friday, quiet 20:00 to 08:00."""
    schedule = Schedule(rhythm=Rhythm(zone=canonical_zone(zone) or "UTC"))
    return replace(schedule, anchor=next_weekday(today, schedule.weekday))


# --- instants ------------------------------------------------------------------------------


def localize(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time happens on a day, in UTC.

    A time that does not exist that day (clocks jumped forward over it) is read with the
    offset from before the jump, which moves it forward by the jump (02:30 becomes 03:30),
    as RFC 5545 does. A time that happens twice (clocks went back) is its first instant
    (fold=0), so it fires once.
    """
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first check-in strictly after `after`; None when check-ins are off."""
    if schedule.cadence == "off":
        return None
    zone = schedule.rhythm.tz
    day = after.astimezone(zone).date()
    for _ in range(_SEARCH_DAYS):
        if schedule.falls_on(day):
            moment = localize(day, schedule.at, zone)
            if moment > after:
                return moment
        day += timedelta(days=1)
    raise AssertionError(f"no occurrence of {schedule} within {_SEARCH_DAYS} days")


def catch_up(schedule: Schedule, due: datetime, now: datetime) -> tuple[datetime, int]:
    """The latest occurrence at or before `now`, from a due one; and how many it skips.

    After downtime only the latest missed check-in is sent, never a burst of them.
    """
    latest, missed = due, 0
    while (following := next_due(schedule, latest)) is not None and following <= now:
        latest, missed = following, missed + 1
    return latest, missed


def deliverable(moment: datetime, rhythm: Rhythm) -> datetime:
    """The first instant at or after `moment` on a working day and outside quiet hours.

    A weekend moves to the next working day at the end of the quiet hours (the start of
    the person's day); a quiet-hours moment moves to the end of the quiet hours.
    """
    zone = rhythm.tz
    for _ in range(16):
        local = moment.astimezone(zone)
        if local.weekday() not in rhythm.working_days:
            moment = localize(_next_working_day(local.date(), rhythm), rhythm.quiet.end, zone)
        elif rhythm.quiet.contains(local.time()):
            day = local.date()
            if local.time() >= rhythm.quiet.end:
                day += timedelta(days=1)
            moment = localize(day, rhythm.quiet.end, zone)
        else:
            return moment.astimezone(UTC)
    raise AssertionError(f"no deliverable moment for {rhythm}")


def add_working_days(moment: datetime, days: int, rhythm: Rhythm) -> datetime:
    """The same wall time `days` working days later (a Friday plus 2 is a Tuesday)."""
    zone = rhythm.tz
    local = moment.astimezone(zone)
    day = local.date()
    for _ in range(days):
        day = _next_working_day(day, rhythm)
    return localize(day, local.time(), zone)


def _next_working_day(day: date, rhythm: Rhythm) -> date:
    day += timedelta(days=1)
    while day.weekday() not in rhythm.working_days:
        day += timedelta(days=1)
    return day


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)

"""Reading what people type into schedule settings, and changing a schedule with them.

Anything that does not parse raises `ScheduleError` with the reply the member sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from difflib import get_close_matches

from bot.checkins.schedules import (
    MAX_STAGE_CHECK_EVERY,
    WEEKDAYS,
    Cadence,
    QuietHours,
    Rhythm,
    Schedule,
    ScheduleError,
    next_weekday,
)
from bot.zones import canonical_zone, close_zones, zone_named

# --- reading what people type ------------------------------------------------------------


def parse_zone(text: str) -> str:
    """An IANA zone name in its canonical spelling; a typo gets a suggestion."""
    found = canonical_zone(text)
    if found is None:
        close = get_close_matches(text.strip().casefold(), close_zones(), n=1, cutoff=0.75)
        hint = f" Did you mean {zone_named(close[0])}?" if close else ""
        raise ScheduleError(
            f"“{text}” isn't a time zone I know.{hint} Use an IANA name such as"
            " Europe/London, America/New_York or Asia/Tokyo."
        )
    return found


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


def parse_time(text: str) -> time:
    """`09:30`, `9:30`, `17:00`, `9am`, `5:30pm`."""
    match = _TIME.match(text.strip().casefold())
    if match is not None and (match.group(2) is not None or match.group(3) is not None):
        hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        if half is not None and 1 <= hour <= 12:
            hour = hour % 12 + (12 if half == "pm" else 0)
        elif half is not None:
            hour = 24
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ScheduleError(
        f"“{text}” isn't a time of day. Use 24-hour HH:MM such as 09:30 or 14:00 (or 9:30am)."
    )


_WEEKDAY_NAMES = {name.casefold(): i for i, name in enumerate(WEEKDAYS)} | {
    name[:3].casefold(): i for i, name in enumerate(WEEKDAYS)
}
_WEEKDAY_NAMES |= {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}


def weekday_number(text: str) -> int | None:
    """Monday is 0; `tue`, `tuesday` and `tuesdays` all name Tuesday."""
    wanted = text.strip().casefold()
    if wanted not in _WEEKDAY_NAMES and wanted.endswith("s"):
        wanted = wanted[:-1]
    return _WEEKDAY_NAMES.get(wanted)


def _weekday_hint(text: str) -> str:
    close = get_close_matches(text.strip().casefold(), list(_WEEKDAY_NAMES), n=1, cutoff=0.7)
    return f" Did you mean {WEEKDAYS[_WEEKDAY_NAMES[close[0]]]}?" if close else ""


def parse_weekday(text: str) -> int:
    weekday = weekday_number(text)
    if weekday is None:
        raise ScheduleError(f"“{text}” isn't a day of the week.{_weekday_hint(text)}")
    return weekday


def parse_days(text: str) -> frozenset[int]:
    """Working days: `mon-fri`, `sun-thu`, `mon,tue,thu`."""
    days: set[int] = set()
    for part in filter(None, re.split(r"[,\s]+", text.strip())):
        first, dash, last = part.partition("-")
        if dash:
            start, end = parse_weekday(first), parse_weekday(last)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(parse_weekday(part))
    if not days:
        raise ScheduleError("Name the working days, such as `mon-fri` or `sun-thu`.")
    return frozenset(days)


def describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0]][:3]}–{WEEKDAYS[ordered[-1]][:3]}"
    return ", ".join(WEEKDAYS[d][:3] for d in ordered)


def parse_quiet(text: str) -> QuietHours:
    start, dash, end = text.replace("–", "-").partition("-")
    if not dash:
        raise ScheduleError("Give quiet hours as a range such as 20:00-08:00.")
    quiet = QuietHours(parse_time(start), parse_time(end))
    if quiet.start == quiet.end:
        raise ScheduleError("Quiet hours need a start and an end that differ, such as 20:00-08:00.")
    return quiet


def parse_date(text: str, today: date) -> date:
    """A date after today: `2026-12-07`, `tomorrow`, or a weekday name (the next one)."""
    cleaned = text.strip().casefold()
    if cleaned == "tomorrow":
        return today + timedelta(days=1)
    if (weekday := weekday_number(cleaned)) is not None:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    try:
        day = date.fromisoformat(cleaned)
    except ValueError:
        raise ScheduleError(
            f"“{text}” isn't a date I can read. Use YYYY-MM-DD (such as 2026-12-07),"
            " `tomorrow`, or a weekday."
        ) from None
    if day <= today:
        raise ScheduleError(f"{day:%A %d %B %Y} is not in the future; pick a date after today.")
    return day


# --- changing a schedule -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """The settings a `schedule ...` command names; None leaves a setting as it is."""

    cadence: Cadence | None = None
    weekday: int | None = None
    at: time | None = None
    day: int | None = None
    zone: str | None = None
    working_days: frozenset[int] | None = None
    quiet: QuietHours | None = None
    stage_check_every: int | None = None

    @property
    def empty(self) -> bool:
        return self == ScheduleChange()


USAGE = (
    "`schedule weekly`, `schedule every two weeks`, `schedule monthly`, `schedule off`,"
    " `schedule tuesday 10:00`, `schedule zone Europe/Paris`, `schedule days mon-fri`,"
    " `schedule quiet 20:00-08:00`, `schedule day 15` (monthly; `day last` for month ends),"
    " `schedule stage check every 4`"
)

_CADENCE_WORDS: dict[str, Cadence] = {
    "weekly": "weekly",
    "every week": "weekly",
    "fortnightly": "fortnightly",
    "biweekly": "fortnightly",
    "bi-weekly": "fortnightly",
    "every two weeks": "fortnightly",
    "every 2 weeks": "fortnightly",
    "monthly": "monthly",
    "every month": "monthly",
    "off": "off",
    "never": "off",
}
_SETTING = re.compile(
    r"(?P<cadence>every (?:two|2) weeks|every week|every month|fortnightly|bi-?weekly|weekly"
    r"|monthly|off|never)"
    r"|(?:stage[ -]?check (?:every )?(?P<stage>\S+))"
    r"|(?:(?:working )?days (?P<days>[a-z]+(?:\s*[-,]\s*[a-z]+)*))"
    r"|(?:quiet(?: hours)? (?P<quiet>\S+\s*[-–]\s*\S+))"
    r"|(?:day (?P<day>\S+))"
    r"|(?:(?:zone|tz|timezone|time zone) (?P<zone>\S+))"
    r"|(?P<bare_zone>utc|[a-z_]+(?:/[a-z0-9_+-]+)+)"
    r"|(?:at )?(?P<time>\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})"
    r"|(?:on )?(?P<weekday>[a-z]+)"
)


def parse_change(text: str) -> ScheduleChange:
    """Read `schedule` settings, in any order: `every two weeks tuesday 10:00 Europe/Paris`."""
    rest = " ".join(text.replace("–", "-").split()).casefold()
    values: dict[str, object] = {}

    def put(name: str, value: object, shown: str) -> None:
        if name in values and values[name] != value:
            raise ScheduleError(f"That names two different {shown}s; give one.")
        values[name] = value

    while rest:
        match = _SETTING.match(rest)
        if match is None:
            raise ScheduleError(f"I don't understand “{rest.split()[0]}” there. Try {USAGE}.")
        kind = match.lastgroup
        value = match.group(kind or 0)
        if kind == "cadence":
            put("cadence", _CADENCE_WORDS[value], "cadence")
        elif kind == "stage":
            put("stage_check_every", parse_every(value), "stage-check interval")
        elif kind == "days":
            put("working_days", parse_days(value), "set of working day")
        elif kind == "quiet":
            put("quiet", parse_quiet(value), "quiet hour")
        elif kind == "day":
            put("day", parse_month_day(value), "day of the month")
        elif kind in ("zone", "bare_zone"):
            put("zone", parse_zone(value), "time zone")
        elif kind == "time":
            put("at", parse_time(value), "time")
        elif (weekday := weekday_number(value)) is not None:
            put("weekday", weekday, "weekday")
        else:
            raise ScheduleError(
                f"I don't understand “{value}” there.{_weekday_hint(value)} Try {USAGE}."
            )
        rest = rest[match.end() :].strip()
    return ScheduleChange(**values)  # type: ignore[arg-type]


def parse_cadence(text: str) -> Cadence:
    cadence = _CADENCE_WORDS.get(" ".join(text.casefold().split()))
    if cadence is None:
        raise ScheduleError(
            f"“{text}” isn't a cadence: use weekly, every two weeks, monthly or off."
        )
    return cadence


def parse_every(text: str) -> int:
    """How many check-ins apart the stage check comes: 1 to 12, or never (0)."""
    text = text.strip().casefold()
    if text in ("never", "off"):
        return 0
    if text.isdigit() and 1 <= int(text) <= MAX_STAGE_CHECK_EVERY:
        return int(text)
    raise ScheduleError(
        f"The stage check can come every 1 to {MAX_STAGE_CHECK_EVERY} check-ins, or `never`."
    )


def parse_month_day(text: str) -> int:
    """A day of the month, 1 to 31; 31 and `last` mean the month's last day."""
    text = text.strip().casefold()
    if text in ("last", "end"):
        return 31
    if text.rstrip("stndrh").isdigit() and 1 <= int(text.rstrip("stndrh")) <= 31:
        return int(text.rstrip("stndrh"))
    raise ScheduleError(f"“{text}” isn't a day of the month; use 1 to 31, or `last`.")


def apply_change(schedule: Schedule, change: ScheduleChange, today: date) -> Schedule:
    """The schedule with the change applied, or ScheduleError if the result makes no sense."""
    rhythm = Rhythm(
        zone=change.zone or schedule.rhythm.zone,
        working_days=change.working_days or schedule.rhythm.working_days,
        quiet=change.quiet or schedule.rhythm.quiet,
    )
    updated = Schedule(
        cadence=change.cadence or schedule.cadence,
        weekday=schedule.weekday if change.weekday is None else change.weekday,
        at=change.at or schedule.at,
        day=change.day or schedule.day,
        anchor=schedule.anchor,
        stage_check_every=(
            schedule.stage_check_every
            if change.stage_check_every is None
            else change.stage_check_every
        ),
        rhythm=rhythm,
    )
    if change.cadence is not None or change.weekday is not None:
        # A fortnightly cadence counts its weeks from the first chosen weekday from now.
        updated = replace(updated, anchor=next_weekday(today, updated.weekday))
    if updated.cadence in ("weekly", "fortnightly") and (
        updated.weekday not in rhythm.working_days
    ):
        raise ScheduleError(
            f"{WEEKDAYS[updated.weekday]} isn't one of the team's working days"
            f" ({describe_days(rhythm.working_days)}). Pick a working day, or change them"
            " with `schedule days ...`."
        )
    if updated.cadence == "monthly" and change.weekday is not None:
        raise ScheduleError(
            "A monthly check-in falls on a day of the month, not a weekday: use"
            " `schedule day 15`, or `schedule day last` for the month's end."
        )
    if change.day is not None and updated.cadence != "monthly":
        raise ScheduleError(
            "`day` sets the day of the month for a monthly cadence; for weekly check-ins"
            " name a weekday, such as `schedule tuesday`."
        )
    if rhythm.quiet.contains(updated.at):
        raise ScheduleError(
            f"{updated.at:%H:%M} is inside the quiet hours ({rhythm.quiet}), when nobody is"
            " pinged. Pick another time, or change them with `schedule quiet ...`."
        )
    return updated

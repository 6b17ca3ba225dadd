"""Due-time arithmetic: local times across daylight saving, month ends, working days,
quiet hours, catch-up; and reading what people type into `schedule`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.checkins.schedules import (
    QuietHours,
    Rhythm,
    Schedule,
    ScheduleError,
    add_working_days,
    catch_up,
    default_schedule,
    deliverable,
    next_due,
)
from bot.checkins.settings import ScheduleChange, apply_change, parse_change, parse_date, parse_zone

BERLIN, NEW_YORK, SYDNEY = "Europe/Berlin", "America/New_York", "Australia/Sydney"


def weekly(zone: str, *, weekday: int = 0, at: time = time(9, 30), **kw: object) -> Schedule:
    return Schedule(weekday=weekday, at=at, rhythm=Rhythm(zone=zone), **kw)  # type: ignore[arg-type]


def occurrences(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    found: list[datetime] = []
    moment = start
    for _ in range(count):
        following = next_due(schedule, moment)
        assert following is not None
        found.append(following)
        moment = following
    return found


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


@pytest.mark.parametrize(
    ("zone", "start", "offsets"),
    [
        # Berlin springs forward on 29 March 2026 and falls back on 25 October 2026.
        (BERLIN, datetime(2026, 3, 20, tzinfo=UTC), [1, 2]),
        (BERLIN, datetime(2026, 10, 18, tzinfo=UTC), [2, 1]),
        # New York springs forward on 8 March 2026 and falls back on 1 November 2026.
        (NEW_YORK, datetime(2026, 2, 28, tzinfo=UTC), [-5, -4]),
        (NEW_YORK, datetime(2026, 10, 24, tzinfo=UTC), [-4, -5]),
        # Sydney, the other way round: back on 5 April, forward on 4 October 2026.
        (SYDNEY, datetime(2026, 3, 28, tzinfo=UTC), [11, 10]),
    ],
)
def test_a_0930_check_in_stays_0930_local_across_a_daylight_saving_change(
    zone: str, start: datetime, offsets: list[int]
) -> None:
    found = occurrences(weekly(zone), start, 2)
    assert [local(m, zone).time() for m in found] == [time(9, 30), time(9, 30)]
    assert [local(m, zone).weekday() for m in found] == [0, 0]
    assert [local(m, zone).utcoffset() for m in found] == [timedelta(hours=h) for h in offsets]
    assert found[1] - found[0] != timedelta(days=7)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [(BERLIN, date(2026, 3, 29), time(3, 30)), (NEW_YORK, date(2026, 3, 8), time(3, 30))],
)
def test_a_local_time_that_does_not_exist_that_day_moves_forward(
    zone: str, day: date, expected: time
) -> None:
    schedule = weekly(zone, weekday=6, at=time(2, 30))
    before = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)) - timedelta(hours=1)
    due = next_due(schedule, before)
    assert due is not None
    assert local(due, zone).date() == day and local(due, zone).time() == expected


@pytest.mark.parametrize(
    ("zone", "day"), [(BERLIN, date(2026, 10, 25)), (NEW_YORK, date(2026, 11, 1))]
)
def test_a_local_time_that_happens_twice_fires_once(zone: str, day: date) -> None:
    schedule = weekly(zone, weekday=6, at=time(1, 30) if zone == NEW_YORK else time(2, 30))
    before = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone))
    first = next_due(schedule, before)
    assert first is not None
    second = next_due(schedule, first)
    assert second is not None
    # The first of the two instants, and nothing more that day: the next is a week on.
    assert first == datetime.combine(day, schedule.at, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert local(second, zone).date() == day + timedelta(days=7)


def test_every_two_weeks_skips_the_week_between() -> None:
    schedule = replace(weekly(BERLIN), cadence="fortnightly", anchor=date(2026, 11, 30))
    found = occurrences(schedule, datetime(2026, 11, 23, tzinfo=UTC), 3)
    assert [local(m, BERLIN).date() for m in found] == [
        date(2026, 11, 30),
        date(2026, 12, 14),
        date(2026, 12, 28),
    ]


def test_monthly_on_the_31st_falls_on_each_months_last_day_and_moves_off_weekends() -> None:
    schedule = replace(weekly(BERLIN), cadence="monthly", day=31)
    found = occurrences(schedule, datetime(2027, 12, 1, tzinfo=UTC), 6)
    assert [local(m, BERLIN).date() for m in found] == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),  # a leap year
        date(2028, 3, 31),
        date(2028, 5, 1),  # 30 April 2028 is a Sunday: on to Monday
        date(2028, 5, 31),
    ]


def test_monthly_on_the_30th_in_february_is_the_28th() -> None:
    schedule = replace(weekly(NEW_YORK), cadence="monthly", day=30)
    [due] = occurrences(schedule, datetime(2030, 2, 1, tzinfo=UTC), 1)
    assert local(due, NEW_YORK).date() == date(2030, 2, 28)


def test_off_is_never_due() -> None:
    assert next_due(replace(weekly(BERLIN), cadence="off"), datetime.now(UTC)) is None


def test_a_moment_on_the_weekend_moves_to_the_next_working_morning() -> None:
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo(BERLIN))
    moved = local(deliverable(saturday_noon, Rhythm(zone=BERLIN)), BERLIN)
    assert (moved.date(), moved.time()) == (date(2026, 11, 30), time(8, 0))


def test_a_sunday_to_thursday_week_moves_friday_to_sunday() -> None:
    rhythm = Rhythm(zone="Asia/Jerusalem", working_days=frozenset({6, 0, 1, 2, 3}))
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))
    moved = local(deliverable(friday, rhythm), "Asia/Jerusalem")
    assert (moved.weekday(), moved.time()) == (6, time(8, 0))


@pytest.mark.parametrize(
    ("wall", "expected_day", "expected_time"),
    [
        (time(21, 15), date(2026, 11, 25), time(8, 0)),  # evening: tomorrow morning
        (time(6, 0), date(2026, 11, 24), time(8, 0)),  # early: this morning
        (time(8, 0), date(2026, 11, 24), time(8, 0)),  # the end of quiet hours is allowed
        (time(19, 59), date(2026, 11, 24), time(19, 59)),
    ],
)
def test_nobody_is_pinged_in_quiet_hours(
    wall: time, expected_day: date, expected_time: time
) -> None:
    moment = datetime.combine(date(2026, 11, 24), wall, tzinfo=ZoneInfo(NEW_YORK))
    moved = local(deliverable(moment, Rhythm(zone=NEW_YORK)), NEW_YORK)
    assert (moved.date(), moved.time()) == (expected_day, expected_time)


def test_quiet_hours_that_do_not_cross_midnight() -> None:
    rhythm = Rhythm(zone=BERLIN, quiet=QuietHours(time(12, 0), time(13, 30)))
    lunch = datetime(2026, 11, 24, 12, 45, tzinfo=ZoneInfo(BERLIN))
    assert local(deliverable(lunch, rhythm), BERLIN).time() == time(13, 30)


def test_quiet_hours_friday_night_move_past_the_weekend() -> None:
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=ZoneInfo(BERLIN))
    moved = local(deliverable(friday_night, Rhythm(zone=BERLIN)), BERLIN)
    assert (moved.date(), moved.time()) == (date(2026, 11, 30), time(8, 0))


def test_working_days_are_counted_over_a_weekend() -> None:
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo(BERLIN))
    later = local(add_working_days(friday, 2, Rhythm(zone=BERLIN)), BERLIN)
    assert (later.date(), later.time()) == (date(2026, 12, 1), time(16, 0))


def test_catch_up_returns_the_latest_missed_occurrence_only() -> None:
    schedule = weekly(BERLIN)
    first = next_due(schedule, datetime(2026, 11, 1, tzinfo=UTC))
    assert first is not None
    now = first + timedelta(days=22)  # three more Mondays have passed
    latest, missed = catch_up(schedule, first, now)
    assert missed == 3
    assert latest == first + timedelta(days=21)
    assert next_due(schedule, latest) == first + timedelta(days=28)


def test_the_default_is_weekly_monday_0930_mon_to_fri_in_the_platforms_zone() -> None:
    schedule = default_schedule("europe/berlin", date(2026, 11, 25))
    assert schedule.describe() == "weekly on Monday at 09:30 (Europe/Berlin)"
    assert schedule.rhythm.working_days == frozenset(range(5))
    assert default_schedule("Not/AZone", date(2026, 11, 25)).zone == "UTC"


# --- reading input -------------------------------------------------------------------------


def test_settings_can_come_in_any_order() -> None:
    change = parse_change("every two weeks tuesday 10:15 europe/paris quiet 21:00-07:30")
    assert change == ScheduleChange(
        cadence="fortnightly",
        weekday=1,
        at=time(10, 15),
        zone="Europe/Paris",
        quiet=QuietHours(time(21, 0), time(7, 30)),
    )
    assert parse_change("on fri at 9am").at == time(9, 0)
    assert parse_change("days sun-thu").working_days == frozenset({6, 0, 1, 2, 3})
    assert parse_change("monthly day last").day == 31
    assert parse_change("stage check every 6").stage_check_every == 6


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("zone Mars/Olympus", "isn't a time zone"),
        ("zone europe/berln", "Did you mean Europe/Berlin?"),
        ("25:00", "isn't a time of day"),
        ("13:00pm", "isn't a time of day"),
        ("tuesdy", "Did you mean Tuesday?"),
        ("hourly", "I don't understand “hourly”"),
        ("weekly monthly", "two different cadences"),
        ("day 32", "isn't a day of the month"),
        ("quiet 20:00-20:00", "differ"),
        ("stage check every 40", "every 1 to 12"),
        ("days funday", "isn't a day of the week"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        parse_change(text)


def test_zone_names_are_checked_and_spelled_canonically() -> None:
    assert parse_zone("america/new_york") == "America/New_York"
    with pytest.raises(ScheduleError):
        parse_zone("../../etc/passwd")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (ScheduleChange(weekday=5), "Saturday isn't one of the team's working days"),
        (ScheduleChange(at=time(22, 0)), "inside the quiet hours"),
        (ScheduleChange(working_days=frozenset({1, 2})), "Monday isn't one of"),
        (ScheduleChange(cadence="monthly", weekday=2), "not a weekday"),
        (ScheduleChange(day=15), "for a monthly cadence"),
    ],
)
def test_a_change_that_makes_no_sense_is_refused(change: ScheduleChange, says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        apply_change(weekly(BERLIN), change, date(2026, 11, 25))


def test_a_fortnightly_cadence_starts_at_the_next_chosen_weekday() -> None:
    updated = apply_change(
        weekly(BERLIN), ScheduleChange(cadence="fortnightly", weekday=3), date(2026, 11, 24)
    )
    assert updated.anchor == date(2026, 11, 26)
    due = next_due(updated, datetime(2026, 11, 24, tzinfo=UTC))
    assert due is not None and local(due, BERLIN).date() == date(2026, 11, 26)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07", date(2026, 12, 7)),
        ("tomorrow", date(2026, 11, 26)),
        ("monday", date(2026, 11, 30)),
        ("wednesday", date(2026, 12, 2)),  # today is a Wednesday: the next one
    ],
)
def test_dates_people_type(text: str, expected: date) -> None:
    assert parse_date(text, date(2026, 11, 25)) == expected


@pytest.mark.parametrize("text", ["2026-11-25", "2025-01-01", "31/12/2026", "soon"])
def test_dates_in_the_past_or_unreadable_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_date(text, date(2026, 11, 25))

"""The commands around check-ins, in chat and on the command line: `schedule` (the lead's),
`snooze`, `opt out`, `opt in`, `checkin now`, and `coffee-coach tick`, `schedule`."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.checkins import agenda
from bot.checkins.schedules import Schedule
from bot.checkins.service import CheckIns
from bot.cli import main
from bot.clock import ManualClock
from bot.config import Config
from bot.engine import Coach
from bot.messages import Incoming, mention, named
from bot.server import tick
from bot.store import Store
from tests.checkin_support import interviewed_team, join, key
from tests.interview import ANSWERS
from tests.sqlite_support import connection

BERLIN = ZoneInfo("Europe/Berlin")


def say(coach: Coach, text: str, user: str = "ann", **kw: object) -> str:
    incoming = Incoming(key=key(user), text=text, **kw)  # type: ignore[arg-type]
    return "\n".join(named(r.text) for r in coach.handle(incoming).replies)


def schedule(store: Store, user: str = "ann") -> tuple[Schedule, datetime | None] | None:
    member = store.member(key(user))
    assert member is not None
    return agenda.schedule_of(store, member.team.id)


def test_schedule_shows_when_check_ins_come_and_how_to_change_them(
    coach: Coach, checkins: CheckIns
) -> None:
    join(coach, "ann")
    before = say(coach, "schedule")
    assert "start after the team's first completed interview" in before
    assert "weekly on Monday at 09:30 (Europe/Berlin)" in before
    interviewed_team(coach, ["ann"])
    shown = say(coach, "schedule")
    assert "working days Mon–Fri; quiet hours 20:00–08:00" in shown
    assert "Next check-in: Monday 30 November 2026, 09:30 (Europe/Berlin)" in shown
    assert "`schedule every two weeks`" in shown and "`opt out`" in shown


def test_the_lead_changes_the_schedule(coach: Coach, checkins: CheckIns, store: Store) -> None:
    interviewed_team(coach)
    reply = say(coach, "schedule every two weeks thursday 10:00 zone america/new_york")
    assert "now every two weeks on Thursday at 10:00 (America/New_York)" in reply
    assert "Next check-in: Thursday 26 November 2026, 10:00 (America/New_York)" in reply
    found = schedule(store)
    assert found is not None
    assert (found[0].cadence, found[0].weekday, found[0].at) == ("fortnightly", 3, time(10))


def test_someone_who_is_not_the_lead_cannot_change_it(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    before = schedule(store)
    reply = say(coach, "schedule off", user="bob")
    assert "Only the team's lead (ann) or a workspace admin" in reply
    assert "nothing changed" in reply
    assert schedule(store) == before


def test_a_workspace_admin_can_change_it(coach: Coach, checkins: CheckIns, store: Store) -> None:
    interviewed_team(coach)
    assert "are off" in say(coach, "schedule off", user="bob", is_admin=True)
    found = schedule(store)
    assert found is not None and found[1] is None


def test_the_lead_of_one_team_cannot_change_another_teams_schedule(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    join(coach, "fay", team="florists")
    join(coach, "ann", team="florists")
    florists = store.member(key("fay", "florists"))
    assert florists is not None
    reply = coach.handle(Incoming(key=key("ann", "florists"), text="schedule tuesday"))
    assert "Only the team's lead (fay)" in named(reply.replies[0].text)
    assert mention("fay", "fay") in reply.replies[0].text
    assert agenda.schedule_of(store, florists.team.id) is None


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("schedule zone Mars/Olympus", "isn't a time zone I know"),
        ("schedule 25:00", "isn't a time of day"),
        ("schedule tuesdy", "Did you mean Tuesday?"),
        ("schedule hourly", "I don't understand “hourly”"),
        ("schedule saturday", "Saturday isn't one of the team's working days"),
        ("schedule 23:00", "inside the quiet hours"),
        ("schedule days tue-thu", "Monday isn't one of the team's working days"),
        ("schedule monthly day 40", "isn't a day of the month"),
    ],
)
def test_bad_schedule_input_gets_a_clear_reply_and_changes_nothing(
    coach: Coach, checkins: CheckIns, store: Store, command: str, says: str
) -> None:
    interviewed_team(coach)
    before = schedule(store)
    reply = say(coach, command)
    assert says in reply and "Nothing changed." in reply
    assert schedule(store) == before


def test_schedule_off_stops_check_ins_and_weekly_brings_them_back(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    say(coach, "schedule off")
    found = schedule(store)
    assert found is not None and found[1] is None
    assert "Check-ins are off" in say(coach, "schedule")
    say(coach, "schedule weekly")
    found = schedule(store)
    assert found is not None and found[1] is not None


def test_monthly_check_ins_on_the_last_day_of_the_month(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    reply = say(coach, "schedule monthly day last 16:00")
    assert "monthly on the last day at 16:00" in reply
    assert "Next check-in: Monday 30 November 2026, 16:00" in reply


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("snooze 7", "until Monday 30 November 2026"),
        ("snooze until 2026-12-07", "until Monday 07 December 2026"),
        ("snooze until friday", "until Friday 27 November 2026"),
    ],
)
def test_snooze_pauses_check_ins_and_reminders_until_a_date(
    coach: Coach, checkins: CheckIns, store: Store, command: str, says: str
) -> None:
    join(coach, "ann")
    reply = say(coach, command)
    assert "Snoozed: no check-ins or reminders" in reply and says in reply
    member = store.member(key("ann"))
    assert member is not None
    prefs = store.prefs_of(member.id)
    assert prefs.snoozed_until is not None and prefs.snoozed_until.astimezone(BERLIN).hour == 0
    say(coach, "snooze off")
    assert store.prefs_of(member.id).snoozed_until is None


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("snooze until 2026-11-01", "is not in the future"),
        ("snooze until someday", "isn't a date I can read"),
        ("snooze 0", "1 to 365 days"),
        ("snooze 400", "1 to 365 days"),
        ("snooze until 2028-01-01", "at most 365 days"),
    ],
)
def test_a_snooze_that_makes_no_sense_changes_nothing(
    coach: Coach, checkins: CheckIns, store: Store, command: str, says: str
) -> None:
    join(coach, "ann")
    reply = say(coach, command)
    assert says in reply and "Nothing changed." in reply
    member = store.member(key("ann"))
    assert member is not None and store.prefs_of(member.id).snoozed_until is None


def test_opting_out_and_back_in_is_each_members_own_choice(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    assert "opted out" in say(coach, "opt out", user="bob")
    bob, ann = store.member(key("bob")), store.member(key("ann"))
    assert bob is not None and ann is not None
    assert store.prefs_of(bob.id).opted_out and not store.prefs_of(ann.id).opted_out
    assert "You have opted out" in say(coach, "schedule", user="bob")
    assert "back on" in say(coach, "opt in", user="bob")
    assert not store.prefs_of(bob.id).opted_out


def test_only_the_lead_starts_a_check_in_for_the_whole_team_now(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach)
    join(coach, "cem")  # has not done the interview: not checked in with
    assert "Only the team's lead" in say(coach, "checkin now", user="bob")
    assert "Starting a check-in for 2 member(s) of bakers" in say(coach, "checkin now")
    assert store.delivery_counts() == {"checkin": {"pending": 2}}


def test_an_answer_that_starts_with_schedule_stays_an_answer(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    join(coach, "ann")
    for text in ("start", "b2b", *list(ANSWERS.values())[:6]):
        say(coach, text)
    say(coach, "schedule posts every Monday and reply daily")
    member = store.member(key("ann"))
    assert member is not None
    conv = store.conversation(member.id)
    assert conv is not None
    assert store.answers(conv.id)["sustain"].text == "schedule posts every Monday and reply daily"


def test_the_zone_the_platform_reports_is_remembered_for_each_member(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    join(coach, "ann", zone="asia/tokyo")
    say(coach, "help", timezone="Europe/Paris")  # ann travels
    say(coach, "help", timezone="Mars/Olympus")  # not a zone: ignored
    ann = store.member(key("ann"))
    assert ann is not None
    assert agenda.rhythm_for(store, ann.team.id, ann.id).zone == "Europe/Paris"
    assert agenda.rhythm_for(store, ann.team.id, None).zone == "Asia/Tokyo"  # the team's


# --- the command line --------------------------------------------------------------------


def test_tick_dry_run_prints_what_would_be_sent_and_records_nothing(
    coach: Coach, checkins: CheckIns, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    interviewed_team(coach)
    before = list(connection(store).iterdump())
    assert main(["--db", store.path, "tick", "--dry-run", "--at", "2026-11-30T09:31:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert "Dry run at 2026-11-30T09:31:00+01:00: nothing is sent and nothing is recorded." in out
    assert "→ ann (console, team bakers)" in out and "→ bob (console, team bakers)" in out
    assert "How far did you get?" in out and "[Done]  [Partly]  [Not yet]" in out
    assert "Would send 2 message(s)." in out
    assert list(connection(store).iterdump()) == before


def test_tick_at_is_only_for_a_dry_run(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", store.path, "tick", "--at", "2026-11-30T09:31:00+01:00"]) == 2
    assert "--at goes with --dry-run" in capsys.readouterr().err
    assert main(["--db", store.path, "tick", "--dry-run", "--at", "2026-11-30T09:31"]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err


async def test_tick_prints_terminal_check_ins_to_answer_with_chat(
    coach: Coach, checkins: CheckIns, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    interviewed_team(coach, ["ann"])
    clock.set(datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN))
    report = await tick(coach, checkins, Config(scheduler=False))
    assert report.sent == 1
    assert "→ ann (console, team bakers)" in capsys.readouterr().out


def test_schedule_on_the_command_line(
    coach: Coach, checkins: CheckIns, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    interviewed_team(coach, ["ann"])
    db = str(db_path)
    assert (
        main(["--db", db, "schedule", "--team", "bakers", "--weekday", "wed", "--time", "11:00"])
        == 0
    )
    assert "weekly on Wednesday at 11:00 (Europe/Berlin)" in capsys.readouterr().out
    assert main(["--db", db, "schedule", "--team", "bakers", "--zone", "Mars/Olympus"]) == 2
    assert "Nothing changed." in capsys.readouterr().err
    assert main(["--db", db, "schedule", "--team", "bakers"]) == 0
    assert "on Wednesday at 11:00" in capsys.readouterr().out
    assert main(["--db", db, "schedule", "--team", "nobody"]) == 2

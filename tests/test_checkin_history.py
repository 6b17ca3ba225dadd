"""How many members answered each check-in: in the team report card and everywhere it is
shown (the terminal, the Markdown export, Slack's report and App Home, the Teams card)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.slack.blocks import report_blocks
from adapters.slack.home import home_view
from adapters.teams.cards import card_for
from bot.checkins import agenda
from bot.checkins.service import CheckIns
from bot.clock import ManualClock
from bot.engine import Coach
from bot.export import export_team
from bot.messages import CheckinRound, Incoming, TeamKey, TeamReportCard
from bot.port import CoachPort
from bot.render import RECENT_CHECKINS, checkins_line, report_lines
from bot.report import team_report
from bot.store import Store, Team
from tests.checkin_support import TEAM, FakeSender, interviewed_team, key, run_pass

BERLIN = ZoneInfo("Europe/Berlin")
# The first check-in after the interviews: Monday 30 November 2026, 09:30 in Berlin.
FIRST = datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)
ROUNDS = (CheckinRound(date(2026, 11, 30), 3, 1), CheckinRound(date(2026, 12, 7), 3, 2))
LINE = "Check-ins answered: 1 of 3 (2026-11-30) · 2 of 3 (2026-12-07)"


def the_team(store: Store) -> Team:
    team = store.team(TeamKey("console", "local", TEAM))
    assert team is not None
    return team


async def check_in(
    coach: Coach, checkins: CheckIns, clock: ManualClock, at: datetime, *answering: str
) -> None:
    """Run the scheduler at `at`, then have `answering` say how their step went."""
    clock.set(at)
    sender = FakeSender()
    assert (await run_pass(checkins, sender)).sent == 3
    for user in answering:
        coach.handle(Incoming(key=key(user), text="done"))


@pytest.fixture
async def report(
    coach: Coach, checkins: CheckIns, clock: ManualClock, store: Store
) -> TeamReportCard:
    """Two rounds for ann, bob and cem: ann answered the first, ann and bob the second."""
    interviewed_team(coach, ["ann", "bob", "cem"])
    await check_in(coach, checkins, clock, FIRST, "ann")
    await check_in(coach, checkins, clock, FIRST + timedelta(weeks=1), "ann", "bob")
    return team_report(coach, the_team(store))


def test_the_report_card_counts_who_was_asked_and_who_answered_each_round(
    report: TeamReportCard,
) -> None:
    assert report.checkins == ROUNDS


def test_the_terminal_report_has_a_line_of_check_ins(report: TeamReportCard) -> None:
    assert LINE in report_lines(report)


async def test_the_markdown_export_lists_every_round_with_its_answers(
    coach: Coach, report: TeamReportCard, store: Store
) -> None:
    markdown, _ = export_team(coach, the_team(store), "md")
    section = markdown.split("## Check-ins\n", 1)[1]
    assert section.splitlines()[1:5] == [
        "| Date | Answered | Asked |",
        "| --- | ---: | ---: |",
        "| 2026-11-30 | 1 | 3 |",
        "| 2026-12-07 | 2 | 3 |",
    ]


def test_the_slack_report_shows_the_check_ins_beside_the_stage_history(
    report: TeamReportCard,
) -> None:
    contexts = [b["elements"][0]["text"] for b in report_blocks(report) if b["type"] == "context"]
    assert any(text.startswith("Stage history: ") for text in contexts)
    assert LINE in contexts


async def test_the_app_home_shows_the_stage_history_and_the_check_ins(
    coach: Coach, report: TeamReportCard
) -> None:
    text = json.dumps(home_view(CoachPort(coach).home(key("cem")))["blocks"], ensure_ascii=False)
    assert "Stage history: Listen (2026-11-23)" in text
    assert LINE in text


def test_the_teams_card_shows_the_check_ins(report: TeamReportCard) -> None:
    assert LINE in json.dumps(card_for(report), ensure_ascii=False)


def test_chat_shows_the_latest_rounds_and_leaves_the_rest_to_the_export() -> None:
    start = date(2026, 1, 5)
    rounds = [
        CheckinRound(start + timedelta(weeks=w), 4, w % 5) for w in range(RECENT_CHECKINS + 3)
    ]
    line = checkins_line(rounds)
    assert line.count(" of 4 ") == RECENT_CHECKINS
    assert "(2026-01-26)" in line and "(2026-01-19)" not in line
    assert line.endswith("; 3 earlier in the export")


async def test_a_round_is_dated_by_the_teams_day_not_utcs(
    coach: Coach, checkins: CheckIns, clock: ManualClock, store: Store
) -> None:
    # Monday 09:30 in Auckland is Sunday evening in UTC.
    interviewed_team(coach, ["ann"], zone="Pacific/Auckland")
    found = agenda.schedule_of(store, the_team(store).id)
    assert found is not None and found[1] is not None
    due = found[1]
    clock.set(due)
    await run_pass(checkins, FakeSender())

    [round_] = team_report(coach, the_team(store)).checkins
    assert round_.day == due.astimezone(ZoneInfo("Pacific/Auckland")).date()
    assert round_.day.weekday() == 0
    assert due.astimezone(UTC).date() != round_.day


async def test_a_member_the_check_in_never_reached_was_not_asked(
    coach: Coach, checkins: CheckIns, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann", "bob", "cem"])
    clock.set(FIRST)
    sender = FakeSender()
    sender.refuse()
    assert (await run_pass(checkins, sender)).failed == 1
    reached = sender.sent[0].key
    assert reached is not None
    coach.handle(Incoming(key=reached, text="done"))

    assert team_report(coach, the_team(store)).checkins == (CheckinRound(date(2026, 11, 30), 2, 1),)

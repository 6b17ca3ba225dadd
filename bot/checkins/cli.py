"""`coffee-coach tick`, `schedule` and `status`: the check-in scheduler from the shell.

`tick` runs one scheduler pass and exits, for cron deployments; `tick --dry-run --at T`
shows what a pass at T would send, inside a transaction that is rolled back, so nothing
is sent or recorded. `status` shows the schedules, the deliveries and their failures.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.checkins import agenda
from bot.checkins.chat_commands import describe_schedule, when
from bot.checkins.extension import install
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.schedules import ScheduleError, default_schedule
from bot.checkins.service import CheckIns
from bot.checkins.settings import (
    ScheduleChange,
    apply_change,
    parse_cadence,
    parse_days,
    parse_every,
    parse_month_day,
    parse_quiet,
    parse_time,
    parse_weekday,
    parse_zone,
)
from bot.clock import Clock, ManualClock, SystemClock
from bot.config import Config
from bot.engine import Coach
from bot.errors import CliError
from bot.messages import Outgoing, TeamKey
from bot.render import reply_text
from bot.store import Store, Team, open_store


class Recorder:
    """A Sender that keeps what it is given: the dry run's stand-in for every platform."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[Outgoing] = []

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        self.sent.append(outgoing)


class TerminalSender:
    """Check-ins for terminal teams, printed: answer them with `coffee-coach chat`."""

    platform = "console"

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        self.out.write(_shown(outgoing) + "\n")


class _Discard(Exception):
    """Rolls the dry run's transaction back."""


async def preview(checkins: CheckIns) -> tuple[PassReport, list[Outgoing]]:
    """What a pass would send now, with every write rolled back afterwards."""
    store = checkins.store
    platforms = store.platforms()
    recorders = {p: Recorder(p) for p in platforms}
    report = PassReport()
    try:
        with store.transaction():
            report = await Scheduler(checkins, recorders).run_pass()
            raise _Discard
    except _Discard:
        pass
    return report, [o for r in recorders.values() for o in r.sent]


ThroughDoors = Callable[[Coach, CheckIns, Config], Coroutine[Any, Any, PassReport]]


def cmd_tick(args: argparse.Namespace, *, through_doors: ThroughDoors) -> int:
    """`tick`, given the composition root's way to send one pass through the real doors."""
    if args.at is not None and not args.dry_run:
        raise CliError("--at goes with --dry-run: a real pass runs at the real time.")
    at = _moment(args.at) if args.at is not None else None
    clock: Clock = SystemClock() if at is None else ManualClock(at)
    coach = Coach(open_store(args.db, clock=clock))
    checkins = install(coach)
    if args.dry_run:
        report, outgoing = asyncio.run(preview(checkins))
        shown = (at or clock.now()).isoformat(timespec="seconds")
        print(f"Dry run at {shown}: nothing is sent and nothing is recorded.\n")
        for message in outgoing:
            print(_shown(message) + "\n")
        print(f"Would send {len(outgoing)} message(s). Pass: {report}.")
        return 0
    config = Config.from_env(db=args.db)
    report = asyncio.run(through_doors(coach, checkins, config))
    print(f"Pass done: {report}.")
    return 1 if report.failed else 0


def cmd_schedule(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    team = _team(store, args)
    try:
        change = ScheduleChange(
            cadence=parse_cadence(args.cadence) if args.cadence else None,
            weekday=parse_weekday(args.weekday) if args.weekday else None,
            at=parse_time(args.time) if args.time else None,
            day=parse_month_day(args.day) if args.day else None,
            zone=parse_zone(args.zone) if args.zone else None,
            working_days=parse_days(args.days) if args.days else None,
            quiet=parse_quiet(args.quiet) if args.quiet else None,
            stage_check_every=(
                parse_every(args.stage_check_every) if args.stage_check_every else None
            ),
        )
        found = agenda.schedule_of(store, team.id)
        now = store.clock.now()
        current = found[0] if found else default_schedule(team.timezone, now.date())
        if not change.empty:
            zone = change.zone or current.zone
            updated = apply_change(current, change, now.astimezone(ZoneInfo(zone)).date())
            with store.transaction():
                agenda.save_schedule(store, team.id, updated, by="coffee-coach schedule")
            found = agenda.schedule_of(store, team.id)
    except ScheduleError as exc:
        raise CliError(f"{exc} Nothing changed.") from None
    if found is None:
        print(
            f"Check-ins for {team.label} start after the team's first completed interview:"
            f" {describe_schedule(current)}."
        )
        return 0
    schedule, due = found
    print(f"Check-ins for {team.label}: {describe_schedule(schedule)}.")
    print(f"Next check-in: {when(due, schedule.rhythm)}." if due else "Check-ins are off.")
    for round_key, asked, answered in store.checkin_rounds(team.id)[-5:]:
        print(f"  {round_key[:16]}: {answered} of {asked} answered")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    store = open_store(args.db)
    on, off = store.schedule_counts()
    due = store.next_wake()
    print(f"Schedules: {on} team(s) with check-ins on, {off} off.")
    print(f"Next due: {due.isoformat() if due else 'nothing'}.")
    for kind, statuses in sorted(store.delivery_counts().items()):
        shown = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        print(f"{kind}: {shown}")
    problems = store.problems()
    if problems:
        print("\nProblems (newest first):")
    for delivery, team, member in problems:
        print(
            f"  {delivery.status:<11} {delivery.kind:<11} {team} {member}:"
            f" {delivery.attempts} attempt(s); {delivery.error}"
        )
    return 1 if problems else 0


def _team(store: Store, args: argparse.Namespace) -> Team:
    team = store.team(TeamKey(args.platform, args.workspace, args.team))
    if team is None:
        raise CliError(f"No team {args.team!r} on {args.platform} (workspace {args.workspace}).")
    return team


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--at {text!r} is not an ISO date and time.") from None
    if moment.tzinfo is None:
        raise CliError("--at needs a UTC offset, such as 2026-12-07T09:31:00+01:00.")
    return moment


def _shown(outgoing: Outgoing) -> str:
    key = outgoing.key
    whom = f"{key.user} ({key.platform}, team {key.team})" if key else "the team's place"
    lines = [f"→ {whom} at {outgoing.address}"]
    for reply in outgoing.replies:
        text = reply_text(reply)
        answers = [c.label for c in reply.choices if not c.nav]
        if answers:
            text += "\n" + "  ".join(f"[{label}]" for label in answers)
        lines.extend("  " + line for line in text.splitlines())
    return "\n".join(lines)

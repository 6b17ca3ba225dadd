"""The scheduler: due check-ins go out once, whatever happens.

Claim-and-deliver with two schedulers (two connections, and two processes) on one file, a
crash mid-send, catch-up after downtime, retries and giving up, quiet hours and weekends
in each member's zone, snooze and opt-out, stalled-interview reminders, the server task.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from adapters.console import incoming as terminal
from bot.checkins import agenda
from bot.checkins.extension import install
from bot.checkins.passes import FIRST_RETRY, MAX_ATTEMPTS
from bot.checkins.scheduler import Scheduler
from bot.checkins.service import CheckIns
from bot.cli import main
from bot.clock import ManualClock, iso
from bot.config import Config
from bot.engine import Coach
from bot.messages import Incoming, Outgoing
from bot.pacing import Limit, Pacer
from bot.server import SENDERS, build_app
from bot.store import Delivery, SQLiteStore, Store
from tests.checkin_support import (
    FakeSender,
    VirtualTime,
    crash_mid_send_then_recover,
    interviewed_team,
    join,
    key,
    passes_at_once,
    run_pass,
)
from tests.interview import ANSWERS, run_interview
from tests.sqlite_support import connection

BERLIN = ZoneInfo("Europe/Berlin")
# The clock starts on Monday 23 November 2026, 10:00 in Berlin; the first check-in after
# the interviews is the next Monday at 09:30 Berlin time.
NEXT = datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)
ROOT = Path(__file__).resolve().parents[1]


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def checkin_conversations(store: Store, user: str) -> int:
    member = store.member(key(user))
    assert member is not None
    return store.checkin_count(member.id)


async def test_check_ins_turn_on_after_the_first_completed_interview(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    join(coach, "ann")
    member = store.member(key("ann"))
    assert member is not None
    assert agenda.schedule_of(store, member.team.id) is None
    turns = run_interview(coach, key("ann"))
    said = "\n".join(r.text for r in turns[-1].replies)
    assert "Check-ins are now on for bakers: weekly on Monday at 09:30 (Europe/Berlin)" in said
    found = agenda.schedule_of(store, member.team.id)
    assert found is not None and found[1] == NEXT


async def test_nothing_is_sent_before_a_check_in_is_due_then_each_member_gets_one(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach)
    clock.set(NEXT - timedelta(minutes=1))
    await run_pass(checkins, sender)
    assert sender.sent == []
    clock.set(NEXT)
    report = await run_pass(checkins, sender)
    assert (report.rounds, report.sent) == (1, 2)
    [ann] = sender.to("ann")
    intro, prompt = ann.replies
    assert "check-in" in intro.text and "Last time you committed to:" in prompt.text
    assert [c.label for c in prompt.choices if not c.nav] == ["Done", "Partly", "Not yet"]
    await run_pass(checkins, sender)
    assert len(sender.sent) == 2


async def test_a_scheduler_without_the_teams_platform_leaves_its_check_ins_untouched(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender, store: Store
) -> None:
    interviewed_team(coach)  # a terminal team: `serve` has no sender for it
    clock.set(NEXT)
    slack = FakeSender("slack")
    serving = Scheduler(checkins, {"slack": slack})

    for _ in range(MAX_ATTEMPTS + 1):
        report = await serving.run_pass()
        assert (report.sent, report.failed, report.retrying) == (0, 0, 0)
    assert await serving.next_wake() != NEXT

    assert store.delivery_counts()["checkin"] == {"pending": 2}
    assert slack.sent == []
    # `coffee-coach tick`, which sends to the terminal, still has every attempt.
    report = await run_pass(checkins, sender)
    assert report.sent == 2
    assert len(sender.to("ann")) == 1


async def test_after_downtime_only_the_latest_missed_check_in_is_sent_once(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender, store: Store
) -> None:
    interviewed_team(coach)
    clock.set(NEXT + timedelta(weeks=3, hours=2))
    report = await run_pass(checkins, sender)
    assert (report.rounds, report.missed, report.sent) == (1, 3, 2)
    assert Counter(o.key.user for o in sender.sent if o.key) == {"ann": 1, "bob": 1}
    member = store.member(key("ann"))
    assert member is not None
    conv = store.conversation(member.id)
    assert conv is not None and conv.context["round"] == iso(NEXT + timedelta(weeks=3))
    found = agenda.schedule_of(store, member.team.id)
    assert found is not None and found[1] == NEXT + timedelta(weeks=4)
    await run_pass(checkins, sender)
    assert len(sender.sent) == 2


async def test_two_schedulers_on_one_database_file_never_send_a_check_in_twice(
    coach: Coach, checkins: CheckIns, clock: ManualClock, db_path: Path
) -> None:
    interviewed_team(coach, ["ann", "bob", "cem", "dee", "eve"])
    other = SQLiteStore(db_path, clock=clock)
    first, second = FakeSender(), FakeSender()
    try:
        clock.set(NEXT)
        await asyncio.gather(
            Scheduler(checkins, {"console": first}, batch=1).run_pass(),
            Scheduler(install(Coach(other)), {"console": second}, batch=1).run_pass(),
            Scheduler(checkins, {"console": first}, batch=2).run_pass(),
        )
    finally:
        other.close()
    users = [o.key.user for o in first.sent + second.sent if o.key]
    assert sorted(users) == ["ann", "bob", "cem", "dee", "eve"]
    assert first.sent and second.sent  # both took part
    assert checkin_conversations(coach.store, "cem") == 1


USERS = [f"m{i:02}" for i in range(12)]


async def test_two_scheduler_processes_never_send_a_check_in_twice(
    coach: Coach, tmp_path: Path
) -> None:
    install(coach)
    interviewed_team(coach, USERS)
    sent = passes_at_once(coach.store.path, NEXT, tmp_path / "sent.txt", processes=2)
    assert sent == USERS


async def test_a_crash_mid_send_sends_the_claimed_check_ins_again_so_none_is_lost(
    coach: Coach, checkins: CheckIns, clock: ManualClock, tmp_path: Path
) -> None:
    interviewed_team(coach, USERS)
    await crash_mid_send_then_recover(
        checkins, clock, coach.store.path, NEXT, tmp_path / "sent.txt", USERS
    )


async def test_a_failed_send_is_retried_with_backoff_then_given_up_and_shown(
    coach: Coach,
    checkins: CheckIns,
    clock: ManualClock,
    sender: FakeSender,
    store: Store,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    interviewed_team(coach, ["ann"])
    sender.fail(MAX_ATTEMPTS)
    clock.set(NEXT)
    attempts = [NEXT]
    for n in range(1, MAX_ATTEMPTS):
        report = await run_pass(checkins, sender)
        assert report.retrying == 1
        wait = FIRST_RETRY * 4 ** (n - 1)
        clock.set(attempts[-1] + wait - timedelta(seconds=1))
        assert (await run_pass(checkins, sender)).idle
        clock.set(attempts[-1] + wait)
        attempts.append(attempts[-1] + wait)
    with caplog.at_level(logging.ERROR, logger="coffee_coach.scheduler"):
        report = await run_pass(checkins, sender)
    assert (report.failed, sender.sent) == (1, [])
    assert [a - NEXT for a in attempts] == [timedelta(minutes=m) for m in (0, 1, 5, 21, 85)]
    assert "given up after 5 attempt(s): ConnectionError: connection refused" in caplog.text
    assert checkin_conversations(store, "ann") == 1  # retries resend, they don't restart
    capsys.readouterr()
    assert main(["--db", store.path, "status"]) == 1
    shown = capsys.readouterr().out
    assert "failed" in shown and "ann" in shown and "5 attempt(s)" in shown


async def test_a_send_that_can_never_succeed_is_given_up_at_once(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach, ["ann"])
    sender.refuse()
    clock.set(NEXT)
    report = await run_pass(checkins, sender)
    assert (report.failed, report.retrying) == (1, 0)


async def test_a_member_in_another_zone_gets_the_check_in_when_their_day_starts(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach, ["ann"])
    join(coach, "lee", zone="America/Los_Angeles")
    run_interview(coach, key("lee"))
    clock.set(NEXT)  # 00:30 in Los Angeles
    await run_pass(checkins, sender)
    assert [o.key.user for o in sender.sent if o.key] == ["ann"]
    morning = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    clock.set(morning - timedelta(minutes=1))
    await run_pass(checkins, sender)
    assert sender.to("lee") == []
    clock.set(morning)
    await run_pass(checkins, sender)
    assert len(sender.to("lee")) == 1


async def test_snooze_skips_check_ins_until_the_date_and_opting_out_stops_them(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach)
    coach.handle(Incoming(key=key("ann"), text="snooze until 2026-12-08"))
    coach.handle(Incoming(key=key("bob"), text="opt out"))
    for week in range(3):
        clock.set(NEXT + timedelta(weeks=week))
        await run_pass(checkins, sender)
    assert len(sender.to("ann")) == 1  # 14 December only
    assert sender.to("bob") == []
    coach.handle(Incoming(key=key("bob"), text="opt in"))
    clock.set(NEXT + timedelta(weeks=3))
    await run_pass(checkins, sender)
    assert len(sender.to("bob")) == 1


def stall(coach: Coach, user: str = "cem", *, answers: int = 3) -> None:
    """Start the interview, answer a few questions, stop."""
    join(coach, user)
    coach.handle(terminal(key(user), "start"))
    coach.handle(Incoming(key=key(user), text="b2b"))
    for question in list(ANSWERS)[:answers]:
        coach.handle(Incoming(key=key(user), text=ANSWERS[question]))


async def passes(checkins: CheckIns, sender: FakeSender, clock: ManualClock, *at: datetime) -> None:
    for moment in at:
        clock.set(moment)
        await run_pass(checkins, sender)


async def test_a_stalled_interview_is_reminded_after_2_and_5_working_days_then_never(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    stall(coach)  # Monday 23 November, 10:00 in Berlin
    await passes(checkins, sender, clock, berlin(23, 10), berlin(25, 9, 59))
    assert sender.sent == []
    await passes(checkins, sender, clock, berlin(25, 10))
    [first] = sender.texts("cem")
    assert "question 4 of 9" in first and "opt out" in first
    assert [c.value for c in sender.to("cem")[0].replies[0].choices] == ["start"]
    await passes(checkins, sender, clock, berlin(30, 9, 59), berlin(30, 10))
    assert len(sender.to("cem")) == 2 and "last reminder" in sender.texts("cem")[1]
    await passes(checkins, sender, clock, berlin(7, 10, month=12), berlin(31, 10, month=12))
    assert len(sender.to("cem")) == 2


async def test_the_reminder_clock_restarts_when_the_member_carries_on(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    stall(coach)
    await passes(checkins, sender, clock, berlin(23, 10))
    clock.set(berlin(24, 15))
    coach.handle(Incoming(key=key("cem"), text=ANSWERS["experience"]))
    await passes(checkins, sender, clock, berlin(25, 10), berlin(26, 14, 59))
    assert sender.sent == []
    await passes(checkins, sender, clock, berlin(26, 15))
    assert "question 5 of 9" in sender.texts("cem")[0]


async def test_reminders_wait_for_the_morning_and_never_come_at_the_weekend(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    clock.set(berlin(26, 21))  # Thursday evening: two working days on is Monday evening
    stall(coach)
    await passes(checkins, sender, clock, berlin(26, 21), berlin(28, 12), berlin(30, 21))
    assert sender.sent == []
    await passes(checkins, sender, clock, berlin(1, 7, 59, month=12), berlin(1, 8, month=12))
    assert len(sender.to("cem")) == 1


async def test_nobody_is_reminded_after_opting_out(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    stall(coach)
    await passes(checkins, sender, clock, berlin(23, 10))
    coach.handle(Incoming(key=key("cem"), text="opt out"))
    await passes(checkins, sender, clock, berlin(25, 10), berlin(30, 10))
    assert sender.sent == []


async def test_finished_interviews_get_no_reminder(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach, ["ann"])
    await passes(checkins, sender, clock, berlin(23, 10), berlin(25, 10), berlin(30, 10))
    assert all("stopped at" not in text for text in sender.texts("ann"))


def test_finding_what_is_due_reads_indexes_not_tables(store: Store) -> None:
    executed: list[str] = []
    connection(store).set_trace_callback(executed.append)
    now = datetime.now(UTC)
    agenda.due_schedules(store, now, 100)
    store.due_deliveries(now, 100)
    store.next_wake()
    store.due_deliveries(now, 100, platforms=("slack", "msteams"))
    store.next_wake(platforms=("slack",))
    connection(store).set_trace_callback(None)
    assert len(executed) == 7
    for query in executed:
        plan = " ".join(
            str(row[3]) for row in connection(store).execute(f"EXPLAIN QUERY PLAN {query}")
        )
        assert "INDEX schedules_by_due" in plan or "INDEX deliveries_due" in plan, plan
        # The earliest pending delivery on given platforms walks the pending index in due
        # order and stops at the first one: the only scan allowed, never of a table.
        walk = "SCAN deliveries USING INDEX deliveries_due LIST SUBQUERY 1"
        assert "SCAN" not in plan.replace(walk, "") and "TEMP B-TREE" not in plan, plan


async def test_pacing_keeps_each_workspace_and_conversation_inside_its_limit() -> None:
    clock = VirtualTime()
    pacer = Pacer(
        {"slack": Limit(per_second=4.0, gap=1.0)},
        monotonic=clock.now,
        sleep_until=clock.sleep_until,
    )
    sent: dict[str, list[float]] = {}

    async def send(workspace: str, address: str) -> None:
        await pacer.wait("slack", workspace, address, 2)
        sent.setdefault(address, []).append(clock.t)

    await asyncio.gather(*(send("T1", f"D{i % 3}") for i in range(12)))
    everything = sorted(t for times in sent.values() for t in times)
    assert all(b - a >= 0.5 for a, b in pairwise(everything))  # 2 messages at 4 a second
    assert all(b - a >= 2.0 for times in sent.values() for a, b in pairwise(times))
    before = clock.t
    await send("T2", "D9")  # another workspace is not held up...
    await send("T1", "D7")  # ...while this one still is
    assert (sent["D9"], sent["D7"]) == ([before], [before + 0.5])


class LateWaking(VirtualTime):
    """Virtual time in which every sleeper wakes 10 ms after the moment it asked for."""

    async def sleep_until(self, moment: float) -> None:
        self.t = max(self.t, moment) + 0.01


async def test_a_workspaces_sends_keep_its_rate_when_every_sleeper_wakes_late() -> None:
    clock = LateWaking()
    pacer = Pacer(
        {"slack": Limit(per_second=4.0, gap=1.0)},
        monotonic=clock.now,
        sleep_until=clock.sleep_until,
    )
    sent: list[float] = []

    async def send(address: str) -> None:
        await pacer.wait("slack", "T1", address, 1)
        sent.append(clock.t)

    await asyncio.gather(*(send(f"D{i}") for i in range(20)))
    # Slots every 0.25 s from the first: the last goes 19 slots on, late by one wake-up
    # only, not by nineteen of them added up.
    assert sent[-1] == pytest.approx(19 * 0.25 + 0.01)
    assert all(b - a >= 0.25 - 1e-9 for a, b in pairwise(sent[1:]))


class SteppedTime:
    """Time that moves only when the test says; sleepers really wait until it does."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, moment: float) -> None:
        if moment <= self.t:
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((moment, woken))
        await woken

    async def advance_to(self, moment: float) -> None:
        """Move to `moment`, wake everyone due by then, and let them run."""
        self.t = moment
        due = [(m, f) for m, f in self._sleepers if m <= moment]
        self._sleepers = [(m, f) for m, f in self._sleepers if m > moment]
        for _, woken in due:
            woken.set_result(None)
        for _ in range(10):
            await asyncio.sleep(0)


async def test_senders_held_up_by_a_stalled_loop_do_not_go_together_when_it_frees() -> None:
    clock = SteppedTime()
    pacer = Pacer(
        {"slack": Limit(per_second=4.0, gap=1.0)},
        monotonic=clock.now,
        sleep_until=clock.sleep_until,
    )
    sent: list[float] = []

    async def send(address: str) -> None:
        await pacer.wait("slack", "T1", address, 1)
        sent.append(clock.t)

    tasks = [asyncio.create_task(send(f"D{i}")) for i in range(4)]
    await clock.advance_to(0.0)
    assert sent == [0.0]
    await clock.advance_to(2.0)  # the loop was held up for two seconds
    for moment in (2.25, 2.5, 2.75):
        await clock.advance_to(moment)
    await asyncio.gather(*tasks)
    assert sent == [0.0, 2.0, 2.25, 2.5]


async def first_pass(store: Store) -> None:
    """Until a pass has run: the first one records how far it looked for new interviews."""
    while (
        connection(store).execute("SELECT 1 FROM meta WHERE key LIKE 'checkins.%'").fetchone()
        is None
    ):
        await asyncio.sleep(0)


class Signalling(FakeSender):
    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    async def send(self, outgoing: Outgoing) -> None:
        await super().send(outgoing)
        self.arrived.set()


async def test_the_server_task_wakes_as_soon_as_a_check_in_is_queued(
    coach: Coach, clock: ManualClock
) -> None:
    interviewed_team(coach)
    clock.set(NEXT - timedelta(days=3))  # Friday morning
    app = build_app(coach, Config(scheduler=True))
    sender = Signalling()
    app[SENDERS]["console"] = sender
    async with TestServer(app):
        # The task's first pass finds nothing due until Monday, then naps.
        await asyncio.wait_for(first_pass(coach.store), timeout=10)
        turn = coach.handle(Incoming(key=key("ann"), text="checkin now"))
        assert "Starting a check-in for 2 member(s)" in turn.replies[0].text
        await asyncio.wait_for(sender.arrived.wait(), timeout=10)
    assert {o.key.user for o in sender.sent if o.key} <= {"ann", "bob"}


async def test_a_page_of_skipped_deliveries_does_not_end_the_pass(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender
) -> None:
    interviewed_team(coach, ["ann", "bob", "cem"])
    for user in ("ann", "bob"):
        coach.handle(Incoming(key=key(user), text="snooze 14"))
    clock.set(NEXT)
    report = await Scheduler(checkins, {"console": sender}, batch=2).run_pass()
    assert (report.skipped, report.sent) == (2, 1)
    assert [o.key.user for o in sender.sent if o.key] == ["cem"]


async def test_a_check_in_that_cannot_be_prepared_does_not_hold_up_the_others(
    coach: Coach,
    checkins: CheckIns,
    clock: ManualClock,
    sender: FakeSender,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interviewed_team(coach)
    prepare = checkins.prepare

    def broken_for_ann(delivery: Delivery, now: datetime) -> object:
        result = prepare(delivery, now)
        if isinstance(result, Outgoing) and result.key and result.key.user == "ann":
            raise RuntimeError("a bug")
        return result

    monkeypatch.setattr(checkins, "prepare", broken_for_ann)
    clock.set(NEXT)
    report = await run_pass(checkins, sender)
    assert (report.sent, report.skipped) == (1, 1)
    assert checkin_conversations(store, "ann") == 0  # its half-made conversation was undone
    assert checkin_conversations(store, "bob") == 1


async def test_delivered_check_ins_are_forgotten_after_90_days_but_their_conversations_stay(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    clock.set(NEXT)
    await run_pass(checkins, sender)
    clock.set(NEXT + timedelta(days=84))  # twelve weeks on: the latest round only
    await run_pass(checkins, sender)
    assert store.delivery_counts()["checkin"]["sent"] == 2
    clock.set(NEXT + timedelta(days=91))
    await run_pass(checkins, sender)
    assert store.delivery_counts()["checkin"]["sent"] == 2  # one more, and the first is gone
    assert checkin_conversations(store, "ann") == 3


async def test_a_pass_prunes_event_ids_old_enough_that_no_retry_can_come(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender, store: Store
) -> None:
    with store.transaction():
        store.claim_event("slack", "T1", "Ev-old")
    clock.advance(days=3)
    with store.transaction():
        store.claim_event("slack", "T1", "Ev-new")
    await run_pass(checkins, sender)
    with store.transaction():
        assert store.claim_event("slack", "T1", "Ev-old")
        assert not store.claim_event("slack", "T1", "Ev-new")


class OnePost(FakeSender):
    """A platform that packs a check-in's replies into one message, as Slack's door does."""

    def messages(self, outgoing: Outgoing) -> int:
        return 1


class RecordingPacer(Pacer):
    def __init__(self) -> None:
        time = VirtualTime()
        super().__init__(monotonic=time.now, sleep_until=time.sleep_until)
        self.asked: list[int] = []

    async def wait(self, platform: str, workspace: str, address: str, messages: int) -> None:
        self.asked.append(messages)


async def test_pacing_counts_the_messages_the_platform_will_post_not_the_replies(
    coach: Coach, checkins: CheckIns, clock: ManualClock
) -> None:
    interviewed_team(coach)
    clock.set(NEXT)
    sender, pacer = OnePost(), RecordingPacer()
    report = await Scheduler(checkins, {sender.platform: sender}, pacer=pacer).run_pass()
    assert report.sent == 2
    assert all(len(o.replies) == 2 for o in sender.sent)
    assert pacer.asked == [1, 1]


async def test_an_address_the_platform_refuses_for_good_is_dropped_until_they_write_again(
    coach: Coach, checkins: CheckIns, clock: ManualClock, sender: FakeSender, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    member = store.member(key("ann"))
    assert member is not None
    with store.transaction():
        store.touch_member(member, address="D-ANN")
    sender.refuse()
    clock.set(NEXT)
    assert (await run_pass(checkins, sender)).failed == 1
    refused = store.member(key("ann"))
    assert refused is not None and refused.address is None

    coach.handle(Incoming(key=key("ann"), text="status", dm_address="D-ANN-2"))
    back = store.member(key("ann"))
    assert back is not None and back.address == "D-ANN-2"


def test_dropping_a_refused_address_keeps_one_that_changed_meanwhile(store: Store) -> None:
    member = store.ensure_member(key("ann"))
    with store.transaction():
        store.touch_member(member, address="D-NEW")
        store.forget_address(team_id=member.team.id, member_id=member.id, address="D-OLD")
    kept = store.member(key("ann"))
    assert kept is not None and kept.address == "D-NEW"

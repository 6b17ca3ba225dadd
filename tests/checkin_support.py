"""Shared pieces for the check-in tests: a recording Sender, a team that did the interview,
and scheduler passes in processes of their own (tests/checkin_worker.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from adapters.console import incoming as terminal
from bot.checkins.passes import LEASE
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.service import CheckIns
from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import MemberKey, Outgoing, Undeliverable
from tests.interview import run_interview

TEAM = "bakers"


def key(user: str, team: str = TEAM) -> MemberKey:
    return MemberKey("console", "local", user, team)


class FakeSender:
    """Records what it is asked to send; can fail the next sends on request."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(outgoing)

    def fail(self, times: int, error: Exception | None = None) -> None:
        self.failures.extend([error or ConnectionError("connection refused")] * times)

    def refuse(self) -> None:
        self.failures.append(Undeliverable("the member left the workspace"))

    def to(self, user: str) -> list[Outgoing]:
        return [o for o in self.sent if o.key is not None and o.key.user == user]

    def texts(self, user: str) -> list[str]:
        return ["\n".join(r.text for r in o.replies) for o in self.to(user)]


def join(coach: Coach, user: str, *, zone: str | None = "Europe/Berlin", team: str = TEAM) -> None:
    """The member's first message, carrying the zone their platform reports."""
    coach.handle(replace(terminal(key(user, team), "help"), timezone=zone))


def interviewed_team(
    coach: Coach,
    users: Sequence[str] = ("ann", "bob"),
    *,
    zone: str = "Europe/Berlin",
    rung: int = 2,
    commit: str = "1",
) -> None:
    """A team whose members all finished the interview (ann, the first, is the lead)."""
    for user in users:
        join(coach, user, zone=zone)
        run_interview(coach, key(user), rung=rung, commit=commit)


async def run_pass(checkins: CheckIns, sender: FakeSender) -> PassReport:
    return await Scheduler(checkins, {sender.platform: sender}).run_pass()


class VirtualTime:
    """Pacing time that moves only when a send waits for its slot: no test ever sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep_until(self, moment: float) -> None:
        self.t = max(self.t, moment)

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


ROOT = Path(__file__).resolve().parents[1]
# A scheduler process claims batches of this many (tests/checkin_worker.py).
WORKER_BATCH = 7


def scheduler_process(db: str, at: datetime, out: Path, *extra: str) -> subprocess.Popen[str]:
    """One pass at `at` on the store `db` (a path or a URL), once told to go."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.checkin_worker", db, at.isoformat(), str(out), *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def go(*workers: subprocess.Popen[str]) -> None:
    """Start the waiting scheduler processes, all at once."""
    for process in workers:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def passes_at_once(db: str, at: datetime, out: Path, *, processes: int) -> list[str]:
    """`processes` scheduler processes started together; whom they sent to, sorted."""
    workers = [scheduler_process(db, at, out) for _ in range(processes)]
    go(*workers)
    results = [process.communicate(timeout=120) for process in workers]
    assert all(p.returncode == 0 for p in workers), results
    return sorted(out.read_text().split())


async def crash_mid_send_then_recover(
    checkins: CheckIns, clock: ManualClock, db: str, at: datetime, out: Path, users: list[str]
) -> None:
    """A scheduler process killed mid-send, then passes in this one: once its lease runs
    out, what it had claimed is sent again, so everyone gets theirs (the crashed batch
    perhaps twice)."""
    crashing = scheduler_process(db, at, out, "hang")
    assert crashing.stdout is not None
    go(crashing)
    assert crashing.stdout.readline().strip() == "sent"
    crashing.send_signal(signal.SIGKILL)
    crashing.wait(timeout=30)
    crashed_sent = out.read_text().split()  # the worker sends its claimed batch at once
    assert 1 <= len(crashed_sent) <= WORKER_BATCH

    sender = FakeSender()
    clock.set(at)
    report = await run_pass(checkins, sender)
    assert report.sent == len(users) - WORKER_BATCH
    clock.set(at + LEASE + timedelta(minutes=1))
    report = await run_pass(checkins, sender)
    assert (report.sent, report.interrupted) == (WORKER_BATCH, WORKER_BATCH)
    again = [o.key.user for o in sender.sent if o.key]
    assert sorted(again) == sorted(users)
    assert set(crashed_sent) <= set(again)

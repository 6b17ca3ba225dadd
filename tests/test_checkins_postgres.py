"""Check-ins on PostgreSQL: several scheduler processes on one database send each due
check-in once, and a crash mid-send is never followed by a second send.

The schedulers are processes of their own (tests/checkin_worker.py), started together,
on a fresh database of the session's real PostgreSQL server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.checkins.extension import install
from bot.checkins.scheduler import LEASE
from bot.clock import ManualClock
from bot.engine import Coach
from bot.store.postgres import PostgresStore
from tests.checkin_support import FakeSender, interviewed_team, run_pass

NEXT = datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
ROOT = Path(__file__).resolve().parents[1]
USERS = [f"m{i:02}" for i in range(24)]


@pytest.fixture
def pg_coach(postgres_db_url: str, clock: ManualClock) -> Iterator[Coach]:
    store = PostgresStore(postgres_db_url, clock=clock)
    yield Coach(store)
    store.close()


def worker(url: str, at: datetime, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.checkin_worker", url, at.isoformat(), str(out), *extra],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def go(*workers: subprocess.Popen[str]) -> None:
    for process in workers:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def test_postgres_four_scheduler_processes_send_each_check_in_once(
    pg_coach: Coach, postgres_db_url: str, tmp_path: Path
) -> None:
    install(pg_coach)
    interviewed_team(pg_coach, USERS)
    out = tmp_path / "sent.txt"
    workers = [worker(postgres_db_url, NEXT, out) for _ in range(4)]
    go(*workers)
    results = [process.communicate(timeout=120) for process in workers]
    assert all(p.returncode == 0 for p in workers), results
    assert sorted(out.read_text().split()) == USERS


async def test_postgres_a_crash_mid_send_never_sends_the_claimed_check_ins_again(
    pg_coach: Coach, postgres_db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    checkins = install(pg_coach)
    interviewed_team(pg_coach, USERS)
    out = tmp_path / "sent.txt"
    crashing = worker(postgres_db_url, NEXT, out, "hang")
    assert crashing.stdout is not None
    go(crashing)
    assert crashing.stdout.readline().strip() == "sent"
    crashing.send_signal(signal.SIGKILL)
    crashing.wait(timeout=30)
    crashed_sent = out.read_text().split()
    assert 1 <= len(crashed_sent) <= 7

    sender = FakeSender()
    clock.set(NEXT)
    report = await run_pass(checkins, sender)
    assert report.sent == len(USERS) - 7  # the crashed worker had claimed a batch of 7
    clock.set(NEXT + LEASE + timedelta(minutes=1))
    report = await run_pass(checkins, sender)
    assert (report.sent, report.interrupted) == (0, 7)
    users = [*crashed_sent, *(o.key.user for o in sender.sent if o.key)]
    assert len(users) == len(set(users))

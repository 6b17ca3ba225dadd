"""Check-ins on PostgreSQL: several scheduler processes on one database send each due
check-in once, and what a crashed one had claimed is sent again once its lease runs out.

The schedulers are processes of their own (tests/checkin_worker.py), started together,
on a fresh database of the session's real PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.checkins.extension import install
from bot.clock import ManualClock
from bot.engine import Coach
from bot.store.postgres import PostgresStore
from tests.checkin_support import (
    crash_mid_send_then_recover,
    interviewed_team,
    passes_at_once,
)

NEXT = datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
ROOT = Path(__file__).resolve().parents[1]
USERS = [f"m{i:02}" for i in range(24)]


@pytest.fixture
def pg_coach(postgres_db_url: str, clock: ManualClock) -> Iterator[Coach]:
    store = PostgresStore(postgres_db_url, clock=clock)
    yield Coach(store)
    store.close()


def test_postgres_four_scheduler_processes_send_each_check_in_once(
    pg_coach: Coach, postgres_db_url: str, tmp_path: Path
) -> None:
    install(pg_coach)
    interviewed_team(pg_coach, USERS)
    sent = passes_at_once(postgres_db_url, NEXT, tmp_path / "sent.txt", processes=4)
    assert sent == USERS


async def test_postgres_a_crash_mid_send_sends_the_claimed_check_ins_again_so_none_is_lost(
    pg_coach: Coach, postgres_db_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    checkins = install(pg_coach)
    interviewed_team(pg_coach, USERS)
    await crash_mid_send_then_recover(
        checkins, clock, postgres_db_url, NEXT, tmp_path / "sent.txt", USERS
    )

"""Shared fixtures: a real store on a temporary SQLite file, a coach, a controllable clock,
the coach's check-ins and a recording Sender."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.checkins.extension import install
from bot.checkins.service import CheckIns
from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import Incoming, MemberKey, Turn
from bot.store import SQLiteStore, Store
from tests.checkin_support import FakeSender


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "coach.db"


@pytest.fixture
def store(db_path: Path, clock: ManualClock) -> Iterator[Store]:
    opened = SQLiteStore(db_path, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def coach(store: Store) -> Coach:
    return Coach(store)


@pytest.fixture
def checkins(coach: Coach) -> CheckIns:
    return install(coach)


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


class Member:
    """A member typing into the coach, for readable tests."""

    def __init__(self, coach: Coach, user: str = "ann", team: str = "bakers") -> None:
        self.coach = coach
        self.key = MemberKey("console", "local", user, team)

    def say(self, text: str, **kw: object) -> Turn:
        return self.coach.handle(Incoming(key=self.key, text=text, **kw))  # type: ignore[arg-type]

    def text(self, said: str, **kw: object) -> str:
        return "\n".join(r.text for r in self.say(said, **kw).replies)


@pytest.fixture
def ann(coach: Coach) -> Member:
    return Member(coach, "ann")


@pytest.fixture
def bob(coach: Coach) -> Member:
    return Member(coach, "bob")

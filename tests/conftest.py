"""Shared fixtures: a real store on a temporary SQLite file, a coach, a controllable clock,
the coach's check-ins and a recording Sender, a fake Bot Connector and an HTTP client
session, and a real PostgreSQL server (see tests/postgres_server.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.checkins.extension import install
from bot.checkins.service import CheckIns
from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import Incoming, MemberKey, Turn
from bot.store import SQLiteStore, Store
from tests.checkin_support import FakeSender
from tests.fakes.bot_connector import FakeBotConnector
from tests.postgres_server import PostgresServer, ServerUnavailable


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """The Bot Connector's fake, serving on 127.0.0.1."""
    async with FakeBotConnector() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


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


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session, stopped and deleted at its end.

    Where none can be started the tests that need it are skipped, with the reason; under CI
    (CI=true) they fail instead, so CI never passes without having run them.
    """
    try:
        server = PostgresServer.start()
    except ServerUnavailable as err:
        if _under_ci():
            pytest.fail(f"CI must run the PostgreSQL tests, but no server started: {err}")
        pytest.skip(f"no PostgreSQL server could be started here: {err}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """postgresql://coach:PASSWORD@127.0.0.1:PORT/postgres, the server's maintenance database.

    Tests that write tables want `postgres_db_url`, a database of their own.
    """
    return postgres_server.url()


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_db_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database for this test alone, dropped after it."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    started = PostgresServer.last_started_in_s
    if started is not None:
        terminalreporter.write_line(f"PostgreSQL test server started in {started:.2f}s")

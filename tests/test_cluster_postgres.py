"""Three `serve` processes and two `coffee-coach tick` processes on one PostgreSQL database.

Slack and Teams traffic is spread over the servers as a load balancer would: each of a
member's messages lands on another server than the one before, and every delivery is
sent twice at once, to two servers (as a platform retrying a slow answer may). Check-ins
fall due meanwhile and two cron ticks race to send them. Everything is real: the command
line in processes of its own, the fake Slack Web API and Bot Connector over HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import psycopg
import pytest

from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import Incoming, MemberKey
from bot.store import ScheduleColumns, SQLiteStore
from bot.store.postgres import PostgresStore
from tests.checkin_support import interviewed_team
from tests.fakes.bot_connector import FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver
from tests.serve_cluster import coffee_coach, servers, slack_drivers

SECRET = "cluster-signing-secret"
SLACK_MEMBERS = ["U1", "U2", "U3", "U4"]
STEPS = ["start", "1"] + [
    f"answer {n}: the bakeries and cafes of district {n} who order every week" for n in range(6)
]
CONSOLE_MEMBERS = [f"c{n:02}" for n in range(16)]
WAIT_S = 60.0


def wait_until(condition: Any, what: str) -> None:
    """Poll the database until `condition()` holds; fail, naming `what`, after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        for user in SLACK_MEMBERS:
            fake.add_user(user, f"Member {user}")
        yield fake


@pytest.fixture
def cluster(postgres_db_url: str, slack_api: FakeSlackAPI) -> Iterator[list[str]]:
    PostgresStore(postgres_db_url).close()  # the schema, before three servers race for it
    env = {
        "COFFEE_COACH_DB": postgres_db_url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api.url,
        "COFFEE_COACH_TEAMS_DEV": "1",
    }
    with servers(3, env, "--no-scheduler") as urls:
        yield urls


def due_console_team(url: str) -> None:
    """A terminal team whose members finished the interview days ago, its check-in due now."""
    now = datetime.now(UTC)
    store = PostgresStore(url, clock=ManualClock(now - timedelta(days=3)))
    try:
        coach = Coach(store)
        interviewed_team(coach, CONSOLE_MEMBERS)
        team = store.teams()[0]
        # A zone where it is about noon, every day a working day: due now, whatever the hour.
        offset = 12 - now.hour
        zone = "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset else "")
        local = now + timedelta(hours=offset)
        columns = ScheduleColumns(
            "weekly",
            local.weekday(),
            f"{local:%H:%M}",
            1,
            f"{local:%Y-%m-%d}",
            zone,
            "0,1,2,3,4,5,6",
            "20:00",
            "08:00",
            4,
        )
        with store.transaction():
            store.save_schedule_columns(team.id, columns, now - timedelta(minutes=1), by=None)
    finally:
        store.close()


def reference_version() -> int:
    """The conversation's version after STEPS in one process on SQLite."""
    store = SQLiteStore(":memory:")
    coach = Coach(store)
    key = MemberKey("console", "local", "ref", "team")
    for text in STEPS:
        coach.handle(Incoming(key=key, text=text))
    found = store.member_and_conversation(key)
    assert found is not None and found[1] is not None
    return found[1].version


async def slack_member(user: str, drivers: list[SlackDriver], url: str, offset: int) -> None:
    """One member's messages, each to the next server and twice at once."""
    for n, text in enumerate(STEPS):
        event_id = f"Ev-{user}-{n}"
        first, second = drivers[(n + offset) % 3], drivers[(n + offset + 1) % 3]
        body = first.event_body(first.dm_event(user, text), event_id=event_id)
        statuses = await asyncio.gather(
            first.post(body, "application/json"), second.post(body, "application/json")
        )
        assert [s.status for s in statuses] == [200, 200]
        await asyncio.to_thread(wait_until, functools.partial(claimed, url, event_id), event_id)


def claimed(url: str, event_id: str) -> bool:
    # The claim commits with the turn it began: once it is there, the turn is done.
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT 1 FROM events WHERE event_id = %s", (event_id,)).fetchone()
    return row is not None


async def teams_installs(urls: list[str], connector: FakeBotConnector) -> list[str]:
    """Three personal installs, each announcement delivered to two servers at once."""
    people = [Person(f"29:person-{n}", f"Person {n}") for n in range(3)]
    async with aiohttp.ClientSession() as session:
        teams = TeamsService(session, urls[0] + "/api/messages", connector)
        chats = []
        for n, person in enumerate(people):
            chat = teams.personal_chat(person)
            chats.append(chat.conversation_id)
            for k, activity in enumerate(
                [
                    teams.members_added(chat, person, [teams.bot]),
                    teams.installation_update(chat, person),
                ]
            ):
                pair = [urls[(n + k) % 3], urls[(n + k + 1) % 3]]
                answers = await asyncio.gather(
                    *(session.post(u + "/api/messages", json=activity) for u in pair)
                )
                for answer in answers:
                    assert answer.status == 200
                    answer.release()
    return chats


async def test_postgres_three_servers_and_two_ticks_apply_everything_exactly_once(
    cluster: list[str],
    postgres_db_url: str,
    slack_api: FakeSlackAPI,
    connector: FakeBotConnector,
) -> None:
    urls = cluster
    due_console_team(postgres_db_url)
    ticks = [coffee_coach("tick", env={"COFFEE_COACH_DB": postgres_db_url}) for _ in range(2)]

    async with aiohttp.ClientSession() as session:
        drivers = slack_drivers(session, urls, secret=SECRET, api=slack_api)
        installs = asyncio.create_task(teams_installs(urls, connector))
        await asyncio.gather(
            *(
                slack_member(user, drivers, postgres_db_url, n)
                for n, user in enumerate(SLACK_MEMBERS)
            )
        )
        chats = await installs
    outputs = [proc.communicate(timeout=120) for proc in ticks]
    assert [proc.returncode for proc in ticks] == [0, 0], outputs

    # Every Slack answer stored once, in order, and no conversation advanced twice.
    version = reference_version()
    with psycopg.connect(postgres_db_url) as conn:
        for user in SLACK_MEMBERS:
            rows = conn.execute(
                "SELECT a.question, a.text, c.version FROM answers a"
                " JOIN conversations c ON c.id = a.conversation_id"
                ' JOIN members m ON m.id = c.member_id WHERE m."user" = %s ORDER BY a.id',
                (user,),
            ).fetchall()
            assert [text for _, text, _ in rows] == ["B2B", *STEPS[2:]], user
            assert len({question for question, _, _ in rows}) == len(rows)
            assert {v for _, _, v in rows} == {version}, user

    # One Teams welcome per install, though each was announced twice, to two servers each.
    welcomes = Counter(call.conversation_id for call in connector.posts())
    assert welcomes == Counter({chat: 1 for chat in chats})

    # Every due check-in sent once, by one tick or the other.
    sent = Counter(
        match[1]
        for out, _ in outputs
        for match in re.finditer(r"^→ (\S+) \(console", out, re.MULTILINE)
    )
    assert sent == Counter({user: 1 for user in CONSOLE_MEMBERS}), outputs
    with psycopg.connect(postgres_db_url) as conn:
        statuses = conn.execute(
            "SELECT status, count(*) FROM deliveries WHERE kind = 'checkin' GROUP BY status"
        )
        assert dict(statuses.fetchall()) == {"sent": len(CONSOLE_MEMBERS)}

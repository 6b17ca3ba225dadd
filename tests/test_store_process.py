"""The store's work in a process of its own (`serve` on a SQLite file).

The real server on 127.0.0.1, its doors' calls sent to a real child process that owns the
store: a Slack DM answer and press, a Teams answer and press, go through it and come back
as posts; a check-in pass claims, prepares and records in it; the wait stays bounded (a
call that waited too long never starts, a late commit still hands its reply on); a child
that dies fails what was in flight with a 503, and the next call starts another.
"""

from __future__ import annotations

import asyncio
import functools
import os
import pickle
import signal
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.slack import posts
from adapters.slack.door import SLACK_DOOR
from adapters.teams.door import TEAMS
from bot.checkins.extension import install
from bot.checkins.scheduler import Scheduler
from bot.clock import ManualClock
from bot.config import Config
from bot.engine import INTERVIEW, Coach
from bot.messages import Incoming, MemberKey
from bot.server import WORKER, build_app, store_process_for
from bot.store import SQLiteStore
from bot.store_process import PASSES, PORT, StoreProcess, StoreSpec, _frame, remote
from tests.checkin_support import FakeSender, interviewed_team, key
from tests.fakes.bot_connector import Call, FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlackAPI, SlackDriver, dm_channel
from tests.sqlite_support import LockHolder

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ANN = Person("29:ann", "Ann Baker", "aad-ann")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "coach.db")
    yield opened
    opened.close()


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        fake.add_user("U1", "Ann")
        fake.add_user("U2", "Bob")
        yield fake


def slack_config(api: FakeSlackAPI) -> Config:
    return Config(
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api.url,
        scheduler=False,
    )


async def started(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def serving_slack(
    store: SQLiteStore, slack_api: FakeSlackAPI
) -> tuple[web.Application, TestServer]:
    """`serve`'s app with the Slack door, its turns in a store process, started."""
    coach = Coach(store)
    app = build_app(coach, slack_config(slack_api), store_process=store_process_for(coach))
    return app, await started(app)


def child_of(app: web.Application) -> subprocess.Popen[bytes]:
    worker = app[WORKER]
    assert isinstance(worker, StoreProcess)
    assert worker._child is not None
    return worker._child


def test_serve_runs_a_sqlite_file_s_turns_in_a_process_and_keeps_memory_on_the_thread(
    store: SQLiteStore,
) -> None:
    spec = store_process_for(Coach(store))
    assert spec is not None and spec.db == store.path
    assert store_process_for(Coach(SQLiteStore(":memory:"))) is None


async def test_a_slack_dm_answer_and_a_press_are_turns_of_the_store_process(
    store: SQLiteStore, slack_api: FakeSlackAPI, session: aiohttp.ClientSession
) -> None:
    app, server = await serving_slack(store, slack_api)
    try:
        child = child_of(app)
        assert child.pid != os.getpid() and child.poll() is None
        slack = SlackDriver(
            session, signing_secret=SECRET, url=str(server.make_url("/slack/events")), api=slack_api
        )
        assert (await slack.message("U1", "start")).status == 200
        [first] = await slack_api.wait_for("chat.postMessage", count=1)
        prompt = slack_api.message(first)
        label = prompt.labels()[0]
        assert (await slack.press("U1", prompt, label)).status == 200
        [redrawn] = await slack_api.wait_for("chat.update", count=1)
        posts = await slack_api.wait_for("chat.postMessage", count=2)
        assert label in redrawn.rendered(), "the pressed prompt shows the answer"
        assert "Question 1" in posts[-1].rendered()
        assert (
            await slack.message("U1", "Facilities managers at mid-sized hospitals")
        ).status == 200
        posts = await slack_api.wait_for("chat.postMessage", count=3)
        assert "Question 2" in posts[-1].rendered()
        member = store.member(MemberKey("slack", TEAM, "U1"))
        assert member is not None
        conversation = store.conversation(member.id, flow=INTERVIEW)
        assert conversation is not None
        answers = store.answers(conversation.id)
        assert [a.text for a in answers.values()][
            -1
        ] == "Facilities managers at mid-sized hospitals"
        assert all(p.args["channel"] == dm_channel("U1") for p in posts)
    finally:
        await server.close()
    assert child.returncode == 0, "the store process stops with serve"


async def test_a_teams_answer_and_a_card_press_are_turns_of_the_store_process(
    store: SQLiteStore, connector: FakeBotConnector, session: aiohttp.ClientSession
) -> None:
    coach = Coach(store)
    app = build_app(
        coach, Config(teams_dev=True, scheduler=False), store_process=store_process_for(coach)
    )
    server = await started(app)
    try:
        url = str(server.make_url("/api/messages"))
        teams = TeamsService(session, url, connector, settle=app[TEAMS].relay.drain)
        chat = teams.personal_chat(ANN)
        [card] = [c for c in await teams.exchange(teams.message(ANN, chat, "start")) if c.card]
        mark = len(connector.calls)
        assert await teams.press(ANN, chat, card, card.buttons[0]["title"]) == 200
        [redrawn] = await connector.wait_for(Call.is_update, after=mark)
        [following] = await connector.wait_for(after=mark)
        assert card.buttons[0]["title"] in redrawn.everything, "the card shows the answer"
        assert "Question 1" in following.everything
    finally:
        await server.close()


class ServeThread:
    """`serve`'s own store thread, which a pass in the store process never needs."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    async def run(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(fn)
        return fn(*args, **kwargs)

    async def run_then(self, late: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await self.run(fn, *args, **kwargs)

    def close(self) -> None:
        pass


async def test_a_check_in_pass_claims_prepares_and_records_in_the_store_process(
    tmp_path: Path,
) -> None:
    # The team's first check-in: Monday 30 November 2026, 09:30 in Berlin.
    due = datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    store = SQLiteStore(tmp_path / "coach.db", clock=clock)
    coach = Coach(store)
    checkins = install(coach)
    interviewed_team(coach)
    clock.set(due)
    thread = ServeThread()
    worker = StoreProcess(StoreSpec(store.path, clock=ManualClock(due)), local=thread)
    sender = FakeSender()
    sender.fail(1)  # the first send fails: its retry is recorded in the child as well
    scheduler = Scheduler(
        checkins, {"console": sender}, store_worker=worker, work=remote(PASSES), worker="serve"
    )
    try:
        report = await scheduler.run_pass()
        child = worker.pid
    finally:
        await asyncio.to_thread(worker.close)
    assert child is not None and child != os.getpid()
    assert (report.rounds, report.queued, report.sent, report.retrying) == (1, 2, 1, 1)
    assert thread.calls == [], "no store work of the pass ran in serve's own process"
    [arrived] = sender.sent
    assert arrived.key in (key("ann"), key("bob"))
    assert "Last time you committed to:" in arrived.replies[1].text
    assert store.delivery_counts()["checkin"] == {"sent": 1, "pending": 1}
    [retried] = store.due_deliveries(due + timedelta(minutes=1), 10)
    assert retried.attempts == 1 and retried.error == "ConnectionError: connection refused"
    store.close()


async def test_a_lead_s_checkin_now_in_the_store_process_wakes_serve_s_scheduler(
    tmp_path: Path,
) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    store = SQLiteStore(tmp_path / "coach.db", clock=clock)
    interviewed_team(Coach(store))
    worker = StoreProcess(StoreSpec(store.path, clock=clock), local=ServeThread())
    woken = asyncio.Event()
    worker.subscribe(woken.set)
    port = remote(PORT)
    try:
        for _ in range(2):  # a notice of the first would come before the second's answer
            turn = await worker.run(port.handle, Incoming(key=key("bob"), text="help"))
        assert turn.replies and not woken.is_set(), "a turn that changes nothing is quiet"
        turn = await worker.run(port.handle, Incoming(key=key("ann"), text="checkin now"))
        assert "Starting a check-in for 2 member(s)" in turn.replies[0].text
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await asyncio.to_thread(worker.close)
        store.close()


async def test_a_call_that_waited_too_long_never_starts_and_a_late_commit_still_replies(
    tmp_path: Path, slack_api: FakeSlackAPI, session: aiohttp.ClientSession
) -> None:
    path = tmp_path / "coach.db"
    store = SQLiteStore(path)
    # The child waits for the lock longer than serve waits for the child.
    spec = StoreSpec(str(path), busy_timeout_ms=4000, wait_s=1.0)
    app = build_app(Coach(store), slack_config(slack_api), store_process=spec)
    server = await started(app)
    slack = SlackDriver(
        session, signing_secret=SECRET, url=str(server.make_url("/slack/events")), api=slack_api
    )
    # One turn first: the outbox's start-up scan, queued before it, is then out of the way.
    slack_api.add_user("U3", "Cy")
    assert (await slack.message("U3", "hello")).status == 200
    await slack_api.wait_for("chat.postMessage", count=1)
    slack_api.forget()
    holder = LockHolder(path)
    try:
        first = asyncio.ensure_future(slack.message("U1", "hello", event_id="Ev1"))
        await asyncio.sleep(0.2)  # U1's turn is in the child, waiting for the lock
        second = asyncio.ensure_future(slack.message("U2", "hello", event_id="Ev2"))
        assert (await first).status == 503
        assert (await second).status == 503
        holder.release()
        # U1's turn got the lock after its 503 and committed: its reply goes out anyway.
        [late] = await slack_api.wait_for("chat.postMessage", count=1)
        assert late.args["channel"] == dm_channel("U1")
        assert store.member(MemberKey("slack", TEAM, "U1")) is not None
        # U2's had waited past its time before the child reached it: never started.
        await app[SLACK_DOOR].relay.drain(timeout=2)
        assert store.member(MemberKey("slack", TEAM, "U2")) is None
        assert [c.args["channel"] for c in slack_api.sent("chat.postMessage")] == [dm_channel("U1")]
    finally:
        if holder.process.poll() is None:
            holder.process.kill()
        await server.close()
        store.close()


async def test_a_store_process_that_dies_fails_its_call_with_a_503_and_the_next_starts_anew(
    store: SQLiteStore, slack_api: FakeSlackAPI, session: aiohttp.ClientSession
) -> None:
    app, server = await serving_slack(store, slack_api)
    try:
        slack = SlackDriver(
            session, signing_secret=SECRET, url=str(server.make_url("/slack/events")), api=slack_api
        )
        assert (await slack.message("U1", "start")).status == 200
        first = child_of(app)
        first.send_signal(signal.SIGSTOP)  # mid-flight: it takes the call and never answers
        answer = asyncio.ensure_future(slack.message("U1", "b2b", event_id="Ev2"))
        await asyncio.sleep(0.3)
        first.kill()
        assert (await answer).status == 503
        assert (await slack.message("U1", "b2b", event_id="Ev2", retry=1)).status == 200
        second = child_of(app)
        assert second.pid != first.pid
        posts = await slack_api.wait_for("chat.postMessage", count=2)
        assert "Question 1" in posts[-1].rendered()
    finally:
        await server.close()


def test_what_crosses_to_the_store_process_and_back_is_rebuilt_equal(store: SQLiteStore) -> None:
    from bot.port import CoachPort

    port = CoachPort(Coach(store))
    key = MemberKey("slack", TEAM, "U1", None)
    incoming = Incoming(key, "start", dm_address="DU1", message_id="1.1")
    render = functools.partial(posts.to_channel, "DU1")
    turn = port.coach.handle(replace(incoming, message_id="1.0"))
    posted = port.handle_and_post(replace(incoming, text="b2b"), render, claim="here")

    def crossed(value: object) -> Any:
        frame = _frame(value)
        (size,) = struct.unpack("!I", frame[:4])
        assert size == len(frame) - 4
        return pickle.loads(frame[4:])

    request: tuple[object, ...] = (1, "port", "handle_and_post", (incoming,), {})
    values: tuple[object, ...] = (incoming, turn, posted, request)
    for value in values:
        assert crossed(value) == value
    assert posted.parcels and not posted.duplicate
    again = crossed(render)
    assert (again.func, again.args) == (posts.to_channel, ("DU1",))


@dataclass(frozen=True)
class Doubled:
    """A dataclass whose own constructor does not take its fields as they are."""

    twice: int

    def __init__(self, n: int) -> None:
        object.__setattr__(self, "twice", 2 * n)


def test_a_dataclass_with_a_constructor_of_its_own_crosses_as_pickle_makes_it() -> None:
    frame = _frame(Doubled(21))
    assert pickle.loads(frame[4:]) == Doubled(21)

"""Store work runs off the event loop, with a bounded wait.

A second process holds the database's write lock (a real `BEGIN IMMEDIATE` in another
Python process). Slack's event and Teams' activity are answered 503 within the wait, so
the platform retries; `/healthz` keeps answering while they wait; once the lock is gone,
the platform's retry is processed exactly once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.slack.door import SLACK_DOOR
from adapters.teams.door import TEAMS
from bot.clock import ManualClock
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey
from bot.server import build_app
from bot.store import SQLiteStore, StoreBusy
from bot.worker import StoreWorker
from tests.fakes.bot_connector import FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlackAPI, SlackDriver
from tests.sqlite_support import LockHolder

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WAIT_S = 1.5
ANN = Person("29:ann", "Ann Baker", "aad-ann")


@pytest.fixture
def quick_store(tmp_path: Path, clock: ManualClock) -> Iterator[SQLiteStore]:
    """A store that waits for a lock no longer than the worker waits for it."""
    store = SQLiteStore(tmp_path / "coach.db", clock=clock, busy_timeout_ms=int(WAIT_S * 500))
    yield store
    store.close()


@pytest.fixture
def lock(quick_store: SQLiteStore) -> Iterator[LockHolder]:
    holder = LockHolder(Path(quick_store.path))
    yield holder
    holder.release()


# --- the worker on its own --------------------------------------------------------------


async def test_a_call_still_queued_when_its_wait_is_up_is_never_started() -> None:
    worker = StoreWorker(wait_s=0.2)
    gate = threading.Event()
    started: list[str] = []

    def blocking() -> None:
        started.append("first")
        gate.wait(10)

    def queued() -> None:
        started.append("second")

    first = asyncio.ensure_future(worker.run(blocking))
    while not started:
        await asyncio.sleep(0.01)
    with pytest.raises(StoreBusy):
        await worker.run(queued)
    gate.set()
    with pytest.raises(StoreBusy):
        await first  # it too outlived its wait, though it ran to its end
    worker.close()
    assert started == ["first"]


async def test_a_call_that_outlives_its_wait_and_then_succeeds_hands_its_result_on() -> None:
    worker = StoreWorker(wait_s=0.1)
    gate = threading.Event()
    late: list[int] = []
    handed = asyncio.Event()

    def slow() -> int:
        gate.wait(10)
        return 42

    def hand_on(result: int) -> None:
        late.append(result)
        handed.set()

    with pytest.raises(StoreBusy):
        await worker.run_then(hand_on, slow)
    assert late == []
    gate.set()
    await asyncio.wait_for(handed.wait(), 5)
    worker.close()
    assert late == [42]


async def test_a_cancelled_caller_s_call_not_yet_started_never_starts() -> None:
    worker = StoreWorker(wait_s=5)
    gate = threading.Event()
    started: list[str] = []

    def blocking() -> None:
        started.append("first")
        gate.wait(10)

    first = asyncio.ensure_future(worker.run(blocking))
    while not started:
        await asyncio.sleep(0.01)
    second = asyncio.ensure_future(worker.run(started.append, "second"))
    await asyncio.sleep(0.01)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    gate.set()
    await first
    await worker.run(started.append, "third")
    worker.close()
    assert started == ["first", "third"]


async def test_closing_finishes_the_running_call_and_starts_no_queued_one() -> None:
    worker = StoreWorker(wait_s=5)
    gate = threading.Event()
    started: list[str] = []

    def blocking() -> str:
        started.append("first")
        gate.wait(10)
        return "done"

    first = asyncio.ensure_future(worker.run(blocking))
    while not started:
        await asyncio.sleep(0.01)
    queued = asyncio.ensure_future(worker.run(started.append, "second"))
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(asyncio.to_thread(worker.close))
    while not worker._stopping:
        await asyncio.sleep(0.01)
    gate.set()
    await closing
    assert await first == "done"
    with pytest.raises(StoreBusy):
        await queued
    with pytest.raises(RuntimeError):
        await worker.run(started.append, "third")
    assert started == ["first"]


async def test_the_worker_answers_with_the_call_s_own_result_and_error() -> None:
    worker = StoreWorker(wait_s=5)

    def fails() -> None:
        raise ValueError("no")

    assert await worker.run(sum, [1, 2, 3]) == 6
    with pytest.raises(ValueError, match="no"):
        await worker.run(fails)
    worker.close()


async def test_store_calls_run_on_the_worker_s_thread_not_the_loop_s() -> None:
    worker = StoreWorker()
    names = await asyncio.gather(
        *(worker.run(lambda: threading.current_thread().name) for _ in "ab")
    )
    worker.close()
    assert all(name.startswith("coffee-coach store") for name in names)
    assert threading.current_thread().name not in names


def test_a_transaction_that_cannot_get_the_lock_is_store_busy_and_writes_nothing(
    quick_store: SQLiteStore, lock: LockHolder
) -> None:
    key = MemberKey("slack", "T1", "U1", "C1")
    with pytest.raises(StoreBusy), quick_store.transaction():
        quick_store.ensure_member(key)
    lock.release()
    assert quick_store.member(key) is None


# --- Slack -------------------------------------------------------------------------------


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        fake.add_user("U1", "Ann")
        yield fake


@pytest.fixture
async def slack_client(
    quick_store: SQLiteStore, slack_api: FakeSlackAPI, aiohttp_client: object
) -> TestClient[web.Request, web.Application]:
    config = Config(
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack_api.url,
        scheduler=False,
    )
    app = build_app(Coach(quick_store), config, worker=StoreWorker(wait_s=WAIT_S))
    client: TestClient[web.Request, web.Application] = await aiohttp_client(app)  # type: ignore[operator]
    return client


async def test_slack_event_while_the_file_is_locked_is_a_503_and_its_retry_is_processed_once(
    slack_client: TestClient[web.Request, web.Application],
    slack_api: FakeSlackAPI,
    quick_store: SQLiteStore,
    lock: LockHolder,
) -> None:
    slack = SlackDriver(slack_client, signing_secret=SECRET, api=slack_api)
    event = slack.dm_event("U1", "hello")

    answer = asyncio.ensure_future(slack.event(event, event_id="Ev1"))
    health = await slack_client.get("/healthz")
    assert health.status == 200, "the health check waits behind a locked turn"
    assert not answer.done()
    refused = await answer
    assert refused.status == 503

    lock.release()
    retried = await slack.event(event, event_id="Ev1", retry=1)
    again = await slack.event(event, event_id="Ev1", retry=2)
    assert (retried.status, again.status) == (200, 200)
    await slack_client.app[SLACK_DOOR].relay.drain(timeout=5)
    [reply] = slack_api.sent("chat.postMessage")
    assert reply.args["channel"] == event["channel"]
    assert quick_store.member(MemberKey("slack", TEAM, "U1")) is not None


async def test_slack_command_while_the_file_is_locked_says_it_is_busy_and_stores_nothing(
    slack_client: TestClient[web.Request, web.Application],
    slack_api: FakeSlackAPI,
    quick_store: SQLiteStore,
    lock: LockHolder,
) -> None:
    slack = SlackDriver(slack_client, signing_secret=SECRET, api=slack_api)

    response = await slack.command("U1", "status")

    assert response.status == 200
    body = await response.json()
    assert body["response_type"] == "ephemeral"
    assert "try `/coffee` again" in body["text"]
    lock.release()
    assert quick_store.teams() == []


# --- Teams -------------------------------------------------------------------------------


async def test_teams_activity_while_the_file_is_locked_is_a_503_and_its_redelivery_counts_once(
    quick_store: SQLiteStore,
    connector: FakeBotConnector,
    aiohttp_server: object,
    lock: LockHolder,
) -> None:
    app = build_app(
        Coach(quick_store),
        Config(teams_dev=True, scheduler=False),
        worker=StoreWorker(wait_s=WAIT_S),
    )
    server = await aiohttp_server(app)  # type: ignore[operator]
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url("/api/messages"))
        teams = TeamsService(session, url, connector, settle=app[TEAMS].relay.drain)
        chat = teams.personal_chat(ANN)
        activity = teams.message(ANN, chat, "hello")

        status = asyncio.ensure_future(teams.post(activity))
        async with session.get(server.make_url("/healthz")) as health:
            assert health.status == 200
        assert not status.done()
        assert await status == 503
        assert connector.posts() == []

        lock.release()
        assert await teams.post(activity) == 200
        assert await teams.post(activity) == 200
        assert len(connector.posts(chat.conversation_id)) == 1

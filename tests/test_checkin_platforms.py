"""Check-ins end to end through the real doors: the `serve` app on 127.0.0.1, a fake Slack
Web API and a fake Bot Connector recording what the bot sent, and a controlled clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml
from aiohttp import web

from adapters.slack.blocks import escape
from adapters.slack.door import SLACK_DOOR
from adapters.teams.door import TEAMS
from bot.checkins.extension import install
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.service import CheckIns
from bot.clock import ManualClock
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey, Sender
from bot.pacing import ConversationPacer, Pacer
from bot.server import SENDERS, build_app
from tests.checkin_support import VirtualTime
from tests.fakes.bot_connector import Call, FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlackAPI, Message, SlackDriver, dm_channel
from tests.interview import ANSWERS

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0001"
PARIS, LONDON = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London")
# The clock starts on Monday 23 November 2026; check-ins come the next Monday at 09:30.
MONDAY = datetime(2026, 11, 30, 9, 30)
ROOT = Path(__file__).resolve().parents[1]
# The stage-check answers of a team on the top rung.
PUBLISHER = (
    "Sharing our own content hub",
    "Yes, and it changes what we do",
    "We reply and join conversations",
    "On our own blog or resource hub",
    "Written and measurable",
    "Owners plus service, product and staff",
)


async def scheduler_pass(app: web.Application, checkins: CheckIns) -> PassReport:
    virtual = VirtualTime()
    senders: dict[str, Sender] = app[SENDERS]
    pacer = Pacer(monotonic=virtual.now, sleep_until=virtual.sleep_until)
    return await Scheduler(checkins, senders, pacer=pacer).run_pass()


# --- Slack ---------------------------------------------------------------------------------


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    async with FakeSlackAPI(
        scopes=manifest["oauth_config"]["scopes"]["bot"], public_channels=[CHANNEL]
    ) as fake:
        fake.add_user("U1", "Ann", tz="Europe/Paris")
        fake.add_user("U2", "Bob", tz="Europe/Paris")
        yield fake
        assert fake.errors() == []


class SlackTeam:
    """Members using Coffee Coach in Slack, through signed requests to the real app."""

    def __init__(self, app: web.Application, driver: SlackDriver, api: FakeSlackAPI) -> None:
        self.app, self.driver, self.api = app, driver, api
        still = VirtualTime()
        app[SLACK_DOOR].pacer = ConversationPacer(clock=still.now, sleep=still.sleep)

    async def settle(self) -> None:
        await self.app[SLACK_DOOR].queue.drain(timeout=5)

    def last(self, user: str) -> Message:
        return self.api.conversation(dm_channel(user))[-1]

    async def command(self, user: str, text: str = "") -> None:
        assert (await self.driver.command(user, text, channel=CHANNEL)).status == 200
        await self.settle()

    async def say(self, user: str, text: str) -> Message:
        assert (await self.driver.message(user, text)).status == 200
        await self.settle()
        return self.last(user)

    async def press(self, user: str, label: str) -> Message:
        assert (await self.driver.press(user, self.last(user), label)).status == 200
        await self.settle()
        return self.last(user)

    async def interview(
        self, user: str, *, stage_choice: int = 0, commit: Sequence[str] = ("1",)
    ) -> None:
        await self.command(user)
        await self.press(user, "B2B")
        for answer in ANSWERS.values():
            await self.say(user, answer)
        for _ in range(6):
            await self.press(user, self.last(user).labels()[stage_choice])
        ticked = await self.driver.press(user, self.last(user), "Commit to these", ticked=commit)
        assert ticked.status == 200
        await self.settle()


@pytest.fixture
async def slack(
    coach: Coach, slack_api: FakeSlackAPI, aiohttp_client: Callable[..., Awaitable[Any]]
) -> SlackTeam:
    config = Config(
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack_api.url,
        scheduler=False,
    )
    app = build_app(coach, config)
    client = await aiohttp_client(app)
    return SlackTeam(app, SlackDriver(client, signing_secret=SECRET, api=slack_api), slack_api)


async def test_a_slack_check_in_arrives_in_the_dm_and_is_answered_with_its_buttons(
    coach: Coach, slack: SlackTeam, clock: ManualClock
) -> None:
    checkins = install(coach)
    await slack.interview("U1")
    member = coach.store.member(MemberKey("slack", TEAM, "U1", CHANNEL))
    assert member is not None and member.team.timezone == "Europe/Paris"

    clock.set(MONDAY.replace(tzinfo=PARIS) - timedelta(minutes=1))
    assert (await scheduler_pass(slack.app, checkins)).sent == 0
    clock.set(MONDAY.replace(tzinfo=PARIS))
    assert (await scheduler_pass(slack.app, checkins)).sent == 1

    prompt = slack.last("U1")
    assert "Last time you committed to:" in prompt.text
    assert prompt.labels()[:3] == ["Done", "Partly", "Not yet"]
    assert "What helped you get it done?" in (await slack.press("U1", "Done")).text
    offer = await slack.say("U1", "Blocking the slot in the calendar")
    assert "next step toward" in offer.text
    await slack.press("U1", "Yes, I'm in")
    texts = " ".join(m.text for m in slack.api.conversation(dm_channel("U1"))[-2:])
    assert "Committed:" in texts
    statuses = [c.status for c in coach.store.commitments(team_id=member.team.id)]
    assert statuses == ["done", "open"]
    assert (await scheduler_pass(slack.app, checkins)).sent == 0


async def test_a_slack_check_in_asks_about_each_commitment_on_its_own(
    coach: Coach, slack: SlackTeam, clock: ManualClock
) -> None:
    checkins = install(coach)
    await slack.interview("U1", commit=("1", "2"))
    member = coach.store.member(MemberKey("slack", TEAM, "U1", CHANNEL))
    assert member is not None
    first, second = [c.action for c in coach.store.commitments(team_id=member.team.id)]
    clock.set(MONDAY.replace(tzinfo=PARIS))
    assert (await scheduler_pass(slack.app, checkins)).sent == 1

    prompt = slack.last("U1")
    assert f"• {escape(first)}" in prompt.text and f"• {escape(second)}" in prompt.text
    assert f"How far did you get with “{escape(first)}”?" in prompt.text
    assert prompt.labels()[:3] == ["Done", "Partly", "Not yet"]
    nxt = await slack.press("U1", "Done")
    assert nxt.text.startswith("And the next one:")
    assert f"How far did you get with “{escape(second)}”?" in nxt.text
    assert escape(first) not in nxt.text
    assert nxt.labels()[:3] == ["Done", "Partly", "Not yet"]
    reflect = await slack.press("U1", "Not yet")

    assert "What helped, and what got in the way?" in reflect.text
    statuses = [c.status for c in coach.store.commitments(team_id=member.team.id)]
    assert statuses == ["done", "not_yet"]
    await slack.say("U1", "The first was easy, the second needs a budget")
    await slack.press("U1", "Yes, I'm in")
    statuses = [c.status for c in coach.store.commitments(team_id=member.team.id)]
    assert statuses == ["done", "replaced", "open"]


async def test_a_move_up_the_ladder_is_celebrated_in_the_slack_channel(
    coach: Coach, slack: SlackTeam, clock: ManualClock
) -> None:
    checkins = install(coach)
    await slack.interview("U1")  # the first answers everywhere: Broadcast
    await slack.command("U2", "schedule stage check every 1")
    assert "Only the team's lead" in slack.last("U2").text
    await slack.command("U1", "schedule stage check every 1")
    assert "a stage check at every check-in" in slack.last("U1").text

    clock.set(MONDAY.replace(tzinfo=PARIS))
    await scheduler_pass(slack.app, checkins)
    assert "includes a quick stage check" in slack.last("U1").text
    await slack.press("U1", "Done")
    await slack.say("U1", "We started replying every day")
    for label in PUBLISHER:
        await slack.press("U1", label)
    assert "moved up to *Publish*" in (await slack.press("U1", "Yes, I'm in")).text
    assert (await scheduler_pass(slack.app, checkins)).sent == 1
    [celebration] = slack.api.sent("chat.postMessage", channel=CHANNEL)
    assert "marketing has moved up the ladder to *Publish*" in celebration.args["text"]


async def slack_check_in_fails(
    coach: Coach, slack: SlackTeam, clock: ManualClock, error: str
) -> tuple[CheckIns, PassReport]:
    """U1's first check-in, with Slack answering `error` to its post."""
    checkins = install(coach)
    await slack.interview("U1")
    clock.set(MONDAY.replace(tzinfo=PARIS))
    slack.api.fail_once("chat.postMessage", error)
    return checkins, await scheduler_pass(slack.app, checkins)


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "account_inactive"]
)
async def test_a_slack_check_in_that_can_never_arrive_is_given_up_after_one_attempt(
    coach: Coach, slack: SlackTeam, clock: ManualClock, error: str
) -> None:
    checkins, report = await slack_check_in_fails(coach, slack, clock, error)

    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    assert coach.store.delivery_counts()["checkin"] == {"failed": 1}
    [(delivery, _, _)] = coach.store.problems()
    assert delivery.attempts == 1
    assert delivery.error == f"undeliverable: Slack answered {error} for {dm_channel('U1')}"
    clock.set(MONDAY.replace(tzinfo=PARIS) + timedelta(hours=2))
    assert (await scheduler_pass(slack.app, checkins)).idle


async def test_a_slack_check_in_that_fails_for_a_while_is_retried_and_arrives(
    coach: Coach, slack: SlackTeam, clock: ManualClock
) -> None:
    checkins, report = await slack_check_in_fails(coach, slack, clock, "internal_error")

    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    clock.set(MONDAY.replace(tzinfo=PARIS) + timedelta(minutes=1))
    assert (await scheduler_pass(slack.app, checkins)).sent == 1
    assert "Last time you committed to:" in slack.last("U1").text
    assert coach.store.delivery_counts()["checkin"] == {"sent": 1}


# --- Microsoft Teams ---------------------------------------------------------------------------

ANN = Person("29:ann", "Ann Baker", "aad-ann")


@pytest.fixture
async def teams_app(
    coach: Coach, aiohttp_server: Callable[..., Awaitable[Any]], connector: FakeBotConnector
) -> AsyncIterator[tuple[web.Application, TeamsService]]:
    app = build_app(coach, Config(teams_dev=True, scheduler=False))
    virtual = VirtualTime()
    app[TEAMS].outbox.sleep = virtual.sleep
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        url = str(server.make_url("/api/messages"))
        yield app, TeamsService(session, url, connector, settle=app[TEAMS].relay.drain)


async def teams_interview(teams: TeamsService, person: Person) -> None:
    chat = teams.personal_chat(person)
    await teams.exchange(teams.message(person, chat, "start"))
    await teams.exchange(teams.message(person, chat, "B2B"))
    answers = list(ANSWERS.values())
    for answer in answers[:-1]:
        await teams.exchange(teams.message(person, chat, answer))
    await teams.exchange(teams.message(person, chat, answers[-1]), replies=2)
    for _ in range(5):
        await teams.exchange(teams.message(person, chat, "1"))
    await teams.exchange(teams.message(person, chat, "1"), replies=3)
    await teams.exchange(teams.message(person, chat, "1"), replies=3)


def prompts(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.is_post() and c.buttons]


async def test_a_teams_check_in_continues_the_stored_conversation_and_is_answered_on_its_card(
    coach: Coach,
    connector: FakeBotConnector,
    teams_app: tuple[web.Application, TeamsService],
    clock: ManualClock,
) -> None:
    app, teams = teams_app
    checkins = install(coach)
    await teams_interview(teams, ANN)
    chat = teams.personal_chat(ANN)

    clock.set(MONDAY.replace(tzinfo=LONDON))
    mark = len(connector.calls)
    assert (await scheduler_pass(app, checkins)).sent == 1
    sent = connector.calls[mark:]
    assert {c.conversation_id for c in sent if c.is_post()} == {chat.conversation_id}
    [card] = prompts(sent)
    assert "Last time you committed to:" in card.everything
    assert [b["title"] for b in card.buttons][:3] == ["Done", "Partly", "Not yet"]

    [reflect] = prompts(await teams.exchange(teams.submit(ANN, chat, card, "Not yet")))
    assert "What got in the way?" in reflect.everything
    calls = await teams.exchange(teams.message(ANN, chat, "A product launch ate the week"))
    [offer] = prompts(calls)
    assert "a different step toward" in offer.everything
    mark = len(connector.calls)
    assert await teams.press(ANN, chat, offer, "Yes, I'm in") == 200
    await connector.wait_for(lambda c: c.is_post() and "Committed:" in c.everything, after=mark)


async def test_a_teams_send_the_connector_refuses_is_retried_later_and_arrives_once(
    coach: Coach,
    connector: FakeBotConnector,
    teams_app: tuple[web.Application, TeamsService],
    clock: ManualClock,
) -> None:
    app, teams = teams_app
    checkins = install(coach)
    await teams_interview(teams, ANN)
    clock.set(MONDAY.replace(tzinfo=LONDON))
    connector.fail_next(500)
    mark = len(connector.calls)
    report = await scheduler_pass(app, checkins)
    assert (report.sent, report.retrying) == (0, 1)
    clock.set(MONDAY.replace(tzinfo=LONDON) + timedelta(minutes=1))
    assert (await scheduler_pass(app, checkins)).sent == 1
    delivered = [c for c in connector.calls[mark:] if c.is_post() and c.ok]
    assert len(prompts(delivered)) == 1
    assert coach.store.delivery_counts()["checkin"] == {"sent": 1}


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound")],
)
async def test_a_teams_check_in_to_a_conversation_the_bot_left_is_given_up_after_one_attempt(
    coach: Coach,
    connector: FakeBotConnector,
    teams_app: tuple[web.Application, TeamsService],
    clock: ManualClock,
    status: int,
    code: str,
) -> None:
    app, teams = teams_app
    checkins = install(coach)
    await teams_interview(teams, ANN)
    clock.set(MONDAY.replace(tzinfo=LONDON))
    connector.fail_next(status, body={"error": {"code": code, "message": "gone"}})
    mark = len(connector.calls)

    report = await scheduler_pass(app, checkins)

    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    assert len(connector.calls[mark:]) == 1
    [(delivery, _, _)] = coach.store.problems()
    assert delivery.attempts == 1
    assert delivery.error == f"undeliverable: the connector answered {status} ({code})"
    clock.set(MONDAY.replace(tzinfo=LONDON) + timedelta(hours=2))
    assert (await scheduler_pass(app, checkins)).idle
    assert len(connector.calls[mark:]) == 1

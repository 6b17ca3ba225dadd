"""The Sender contract, run against every Sender: Slack's, Teams', the terminal's, the dry
run's and the test double.

What the scheduler relies on: `messages()` counts the platform messages a send really makes
(the rate limits are paced on it); a failure no retry can fix raises `Undeliverable`, so
the delivery is given up at once; any other failure raises something else, so it is
retried later.
"""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from adapters.slack.door import SLACK_DOOR
from adapters.teams.door import TEAMS
from bot.checkins.cli import Recorder, TerminalSender
from bot.config import Config
from bot.engine import Coach
from bot.messages import Choice, MemberKey, Outgoing, Reply, Sender, Undeliverable
from bot.pacing import ConversationPacer
from bot.server import SENDERS, build_app
from tests.checkin_support import FakeSender, VirtualTime
from tests.fakes.bot_connector import TENANT, FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlackAPI, dm_channel

REPLIES = (
    Reply("Time for your check-in."),
    Reply("How did it go?", choices=(Choice("Done", "done"), Choice("Not yet", "not_yet"))),
)
ANN = Person("29:ann", "Ann Baker", "aad-ann")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Subject:
    """A Sender with a way to count what arrived and to make the next send fail."""

    sender: Sender
    address: str
    key: MemberKey | None
    delivered: Callable[[], int]
    refuse_next: Callable[[], None] | None = None
    falter_next: Callable[[], None] | None = None

    def outgoing(self) -> Outgoing:
        return Outgoing(self.address, REPLIES, self.key)


async def slack_subject(coach: Coach, aiohttp_client: Any) -> AsyncGenerator[Subject, None]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    async with FakeSlackAPI(scopes=manifest["oauth_config"]["scopes"]["bot"]) as api:
        api.add_user("U1", "Ann")
        config = Config(
            slack_signing_secret="secret",
            slack_bot_token=BOT_TOKEN,
            slack_api_url=api.url,
            scheduler=False,
        )
        app = build_app(coach, config)
        await aiohttp_client(app)
        still = VirtualTime()
        app[SLACK_DOOR].pacer = ConversationPacer(clock=still.now, sleep=still.sleep)
        address = dm_channel("U1")
        yield Subject(
            sender=app[SENDERS]["slack"],
            address=address,
            key=MemberKey("slack", TEAM, "U1"),
            delivered=lambda: len(api.sent("chat.postMessage", channel=address)),
            refuse_next=lambda: api.fail_once("chat.postMessage", "channel_not_found"),
            falter_next=lambda: api.fail_once("chat.postMessage", "internal_error"),
        )


async def teams_subject(coach: Coach, aiohttp_server: Any) -> AsyncGenerator[Subject, None]:
    async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
        app = build_app(coach, Config(teams_dev=True, scheduler=False))
        virtual = VirtualTime()
        app[TEAMS].outbox.sleep = virtual.sleep
        server = await aiohttp_server(app)
        teams = TeamsService(
            session,
            str(server.make_url("/api/messages")),
            connector,
            settle=app[TEAMS].relay.drain,
        )
        await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))
        member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
        assert member is not None and member.address is not None
        mark = len(connector.calls)

        def refused(status: int, code: str) -> Callable[[], None]:
            body = {"error": {"code": code, "message": "refused"}}
            return lambda: connector.fail_next(status, body=body)

        yield Subject(
            sender=app[SENDERS]["msteams"],
            address=member.address,
            key=member.key,
            delivered=lambda: sum(1 for c in connector.calls[mark:] if c.is_post() and c.ok),
            refuse_next=refused(404, "ConversationNotFound"),
            falter_next=refused(500, "InternalServerError"),
        )


async def terminal_subject() -> AsyncGenerator[Subject, None]:
    out = io.StringIO()
    yield Subject(
        sender=TerminalSender(out),
        address="ann",
        key=MemberKey("console", "local", "ann", "bakers"),
        delivered=lambda: sum(1 for reply in REPLIES if reply.text in out.getvalue()),
    )


async def dry_run_subject() -> AsyncGenerator[Subject, None]:
    recorder = Recorder("console")
    yield Subject(
        sender=recorder,
        address="ann",
        key=None,
        delivered=lambda: sum(len(o.replies) for o in recorder.sent),
    )


async def double_subject() -> AsyncGenerator[Subject, None]:
    double = FakeSender()
    yield Subject(
        sender=double,
        address="ann",
        key=MemberKey("console", "local", "ann", "bakers"),
        delivered=lambda: sum(len(o.replies) for o in double.sent),
        refuse_next=double.refuse,
        falter_next=lambda: double.fail(1),
    )


SUBJECTS = ["slack", "teams", "terminal", "dry-run", "test-double"]


@pytest.fixture(params=SUBJECTS)
async def subject(
    request: pytest.FixtureRequest,
    coach: Coach,
    aiohttp_client: Callable[..., Awaitable[Any]],
    aiohttp_server: Callable[..., Awaitable[Any]],
) -> AsyncGenerator[Subject, None]:
    made: dict[str, Callable[[], AsyncGenerator[Subject, None]]] = {
        "slack": lambda: slack_subject(coach, aiohttp_client),
        "teams": lambda: teams_subject(coach, aiohttp_server),
        "terminal": terminal_subject,
        "dry-run": dry_run_subject,
        "test-double": double_subject,
    }
    subjects = made[request.param]()
    yield await anext(subjects)
    await subjects.aclose()


async def test_a_send_makes_as_many_platform_messages_as_it_counts(subject: Subject) -> None:
    outgoing = subject.outgoing()
    await subject.sender.send(outgoing)
    assert subject.delivered() == subject.sender.messages(outgoing) > 0


async def test_a_send_that_can_never_arrive_raises_undeliverable(subject: Subject) -> None:
    if subject.refuse_next is None:
        pytest.skip("this Sender has no platform that can refuse")
    subject.refuse_next()
    with pytest.raises(Undeliverable):
        await subject.sender.send(subject.outgoing())
    assert subject.delivered() == 0


async def test_a_send_that_may_work_later_raises_something_else_and_can_be_retried(
    subject: Subject,
) -> None:
    if subject.falter_next is None:
        pytest.skip("this Sender has no platform that can fail")
    subject.falter_next()
    with pytest.raises(Exception) as raised:
        await subject.sender.send(subject.outgoing())
    assert not isinstance(raised.value, Undeliverable)
    assert subject.delivered() == 0
    await subject.sender.send(subject.outgoing())
    assert subject.delivered() == subject.sender.messages(subject.outgoing())

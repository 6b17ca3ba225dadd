"""The Teams door over real HTTP: the `serve` app on 127.0.0.1 receives activities shaped as
Teams sends them, and its replies are captured by a fake Bot Connector on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web

from adapters.teams.delivery import DeliveryError
from adapters.teams.door import TEAMS
from bot.clock import ManualClock
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey, Outgoing, Reply, TeamKey, Undeliverable
from bot.pacing import ConversationPacer
from bot.server import SENDERS, build_app
from bot.store import SQLiteStore
from tests.fakes.bot_connector import (
    TENANT,
    Call,
    Chat,
    FakeBotConnector,
    Person,
    TeamsService,
)

DEV = Config(teams_dev=True, scheduler=False)
APP_ID = "6b1f2a57-3c44-4a0e-9a3e-7d2c1b0f9e11"
ANN = Person("29:ann", "Ann Baker", "aad-ann")
BOB = Person("29:bob", "Bob Brewer", "aad-bob")
BAKERS = "19:bakers@thread.tacv2"
ANSWERS = (
    "facilities managers at mid-sized hospitals",
    "our engineers know their stuff deeply",
    "a monthly live clinic answering questions",
    "being trusted by the buyers",
    "LinkedIn first, then YouTube demos",
    "Sam writes and Lee approves weekly",
    "a weekly plan with two posts",
    "partners share our content monthly",
    "twenty qualified leads a month by June",
)

ServerFactory = Callable[[web.Application], Any]


@pytest.fixture
def waits() -> list[float]:
    """The pauses the Teams door took (for pace and backoff), recorded instead of slept."""
    return []


def record_waits(app: web.Application, waits: list[float]) -> web.Application:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    app[TEAMS].outbox.sleep = sleep
    return app


@pytest.fixture
def app(coach: Coach, waits: list[float]) -> web.Application:
    return record_waits(build_app(coach, DEV), waits)


@pytest.fixture
async def bot_url(aiohttp_server: ServerFactory, app: web.Application) -> str:
    server = await aiohttp_server(app)
    return str(server.make_url("/api/messages"))


@pytest.fixture
def teams(
    session: aiohttp.ClientSession, bot_url: str, connector: FakeBotConnector, app: web.Application
) -> TeamsService:
    return TeamsService(session, bot_url, connector, settle=app[TEAMS].relay.drain)


def prompts(calls: list[Call]) -> list[Call]:
    """The messages that ask something: a card with buttons."""
    return [c for c in calls if c.is_post() and c.buttons]


def answers_of(coach: Coach, user: str, team: str | None = None) -> dict[str, str]:
    member = coach.store.member(MemberKey("msteams", TENANT, user, team))
    assert member is not None
    interview = coach.store.interview(member)
    assert interview is not None
    return {q: a.text for q, a in interview.answers.items()}


async def interview(teams: TeamsService, user: Person, chat: Chat) -> list[Call]:
    """A whole interview typed in the personal chat; the calls it caused."""
    mark = len(teams.connector.calls)
    await teams.exchange(teams.message(user, chat, "start"))
    await teams.exchange(teams.message(user, chat, "B2B"))
    for answer in ANSWERS[:-1]:
        await teams.exchange(teams.message(user, chat, answer))
    await teams.exchange(teams.message(user, chat, ANSWERS[-1]), replies=2)
    for _ in range(5):
        await teams.exchange(teams.message(user, chat, "1"))
    await teams.exchange(teams.message(user, chat, "1"), replies=3)
    await teams.exchange(teams.message(user, chat, "all"), replies=2)
    return teams.connector.calls[mark:]


# --- installing ------------------------------------------------------------------------------


async def test_installing_in_a_personal_chat_welcomes_once_with_a_start_button(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.install(chat, ANN)  # Teams sends conversationUpdate and installationUpdate

    [welcome] = connector.posts()
    assert welcome.conversation_id == chat.conversation_id
    assert "nine questions" in welcome.everything
    assert [b["title"] for b in welcome.buttons] == ["Start", "Help"]


@pytest.mark.parametrize("kind", ["channel", "groupChat"])
async def test_installing_in_a_team_or_group_chat_welcomes_it_once_and_records_it(
    kind: str, teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    if kind == "channel":
        chat = teams.channel(BAKERS, "Bakers")
    else:
        chat = teams.group_chat("19:meeting_bakers@thread.v2", "Bakers")
    await teams.install(chat, ANN)

    [welcome] = connector.posts()
    assert welcome.conversation_id == chat.conversation_id
    assert "@Coffee Coach report" in welcome.everything
    [open_chat] = welcome.buttons
    assert open_chat["type"] == "Action.OpenUrl"
    assert open_chat["url"].endswith(f"users={teams.bot.id}")
    team = coach.store.team(TeamKey("msteams", TENANT, chat.team_id or chat.conversation_id))
    assert team is not None
    assert team.name == "Bakers"
    assert team.lead == ANN.id
    assert json.loads(team.address or "")["conversation"]["id"] == chat.conversation_id


async def test_a_member_joining_a_team_later_brings_no_second_welcome(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.channel(BAKERS, "Bakers")
    await teams.install(chat, ANN)
    await teams.post(teams.members_added(chat, ANN, [BOB]))

    assert len(connector.posts()) == 1


# --- the interview in the personal chat ----------------------------------------------------------


async def test_a_whole_interview_from_install_to_the_stage_report(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.install(chat, ANN)
    [welcome] = connector.posts()

    calls = await teams.exchange(teams.submit(ANN, chat, welcome, "Start"))
    [question] = prompts(calls)
    assert "B2B" in [b["title"] for b in question.buttons]
    calls = await teams.exchange(teams.submit(ANN, chat, question, "B2B"))
    [question] = prompts(calls)
    for number, answer in enumerate(ANSWERS, start=1):
        assert f"Question {number} of 9" in question.everything
        assert [b["title"] for b in question.buttons] == ["Skip", "Back", "Pause"]
        calls = await teams.exchange(
            teams.message(ANN, chat, answer), replies=2 if number == 9 else 1
        )
        question = prompts(calls)[-1]
    for _ in range(5):
        calls = await teams.exchange(
            teams.submit(ANN, chat, question, question.buttons[0]["title"])
        )
        [question] = prompts(calls)
    calls = await teams.exchange(
        teams.submit(ANN, chat, question, question.buttons[0]["title"]), replies=3
    )
    summary, stage, commit = [c for c in calls if c.is_post()][:3]

    assert "Your answers" in summary.everything
    assert "1. Your customers: " not in summary.everything  # rows are headings, not facts
    assert ANSWERS[0] in summary.everything
    assert "Rung 1 of 4: Broadcast" in stage.everything
    assert "Next actions toward Listen" in stage.everything
    assert "Commit to these" in [b["title"] for b in commit.buttons]
    calls = await teams.exchange(teams.submit(ANN, chat, commit, "All of them"), replies=2)
    assert any("Committed:" in c.text for c in calls)
    assert answers_of(coach, ANN.id)["success"] == ANSWERS[-1]


async def test_pressing_a_button_redraws_the_card_with_the_chosen_answer(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.personal_chat(ANN)
    calls = await teams.exchange(teams.message(ANN, chat, "start"))
    [question] = prompts(calls)

    calls = await teams.exchange(teams.submit(ANN, chat, question, "B2C"))

    [redraw] = [c for c in calls if c.is_update()]
    assert redraw.conversation_id == chat.conversation_id
    assert redraw.activity_id == question.id
    assert "does your business mainly sell" in redraw.everything
    assert "✓ B2C" in redraw.card_texts
    assert redraw.buttons == []


async def test_a_press_on_an_old_card_does_not_answer_again(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    calls = await teams.exchange(teams.message(ANN, chat, "start"))
    [first] = prompts(calls)
    await teams.exchange(teams.submit(ANN, chat, first, "B2B"))

    calls = await teams.exchange(teams.submit(ANN, chat, first, "B2C"))

    [notice] = [c for c in calls if c.is_post()]
    assert "already answered" in notice.text
    [redraw] = [c for c in calls if c.is_update()]
    assert redraw.activity_id == first.id
    assert redraw.buttons == []
    assert "Already answered." in redraw.card_texts
    assert "✓ B2C" not in redraw.card_texts
    assert answers_of(coach, ANN.id)["business_model"] == "B2B"


async def test_skip_back_and_pause_are_buttons_on_every_question(
    teams: TeamsService, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    calls = await teams.exchange(teams.message(ANN, chat, "start"))
    await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "B2B"))
    calls = await teams.exchange(teams.message(ANN, chat, ANSWERS[0]))

    calls = await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "Skip"))
    assert "Question 3 of 9" in prompts(calls)[-1].everything
    calls = await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "Back"))
    assert "Question 2 of 9" in prompts(calls)[-1].everything
    calls = await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "Pause"))
    assert "paused" in " ".join(c.everything for c in calls if c.is_post()).casefold()


async def test_a_repeated_activity_is_handled_once(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.exchange(teams.message(ANN, chat, "start"))
    await teams.exchange(teams.message(ANN, chat, "B2B"))
    answer = teams.message(ANN, chat, ANSWERS[0])
    await teams.exchange(answer)
    before = len(connector.calls)

    assert await teams.post(answer) == 200  # Teams retries the delivery
    calls = await teams.exchange(teams.message(ANN, chat, ANSWERS[1]))

    assert connector.calls[before:] == calls  # nothing in between
    assert "Question 3 of 9" in calls[-1].everything
    assert answers_of(coach, ANN.id)["customers"] == ANSWERS[0]


async def test_editing_a_typed_answer_in_teams_updates_it(
    teams: TeamsService, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.exchange(teams.message(ANN, chat, "start"))
    await teams.exchange(teams.message(ANN, chat, "B2B"))
    answer = teams.message(ANN, chat, ANSWERS[0])
    await teams.exchange(answer)

    [reply] = await teams.exchange(teams.edit(answer, "theatre nurses in Leeds hospitals"))

    assert "Updated your answer to question 1" in reply.text
    assert answers_of(coach, ANN.id)["customers"] == "theatre nurses in Leeds hospitals"


async def test_help_export_and_forget_work_in_the_personal_chat(
    teams: TeamsService, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    await interview(teams, ANN, chat)

    [help_text] = await teams.exchange(teams.message(ANN, chat, "help"))
    assert "`report`" in help_text.text
    [export] = await teams.exchange(teams.message(ANN, chat, "export csv"))
    assert "```" in export.text
    assert ANSWERS[0] in export.text
    [confirm] = await teams.exchange(teams.message(ANN, chat, "forget"))
    [done] = [
        c
        for c in await teams.exchange(teams.submit(ANN, chat, confirm, "Delete my data"))
        if c.is_post()
    ]
    assert "deleted" in done.text
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is None or coach.store.interview(member) is None


# --- teams and group chats -----------------------------------------------------------------------


async def test_the_mention_is_stripped_before_the_command_is_read(
    teams: TeamsService,
) -> None:
    chat = teams.channel(BAKERS, "Bakers")

    [reply] = await teams.exchange(teams.message(ANN, chat, "report", mention=True))

    assert reply.card is not None
    assert "Team picture for" in reply.everything
    assert "personal chat" not in reply.everything


async def test_start_in_a_channel_points_to_the_personal_chat_and_links_the_member_to_the_team(
    teams: TeamsService, coach: Coach
) -> None:
    await teams.install(teams.channel(BAKERS, "Bakers"), BOB)

    [hint] = await teams.exchange(
        teams.message(ANN, teams.channel(BAKERS, "Bakers"), "start", mention=True)
    )

    assert "personal chat" in hint.everything
    assert "Bakers" in hint.everything
    [open_chat] = hint.buttons
    assert open_chat["url"].endswith(f"users={teams.bot.id}")
    await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None
    assert member.team.team == BAKERS


async def test_an_at_mention_in_a_second_team_never_moves_the_member_silently(
    teams: TeamsService, coach: Coach, clock: ManualClock
) -> None:
    brewers = "19:brewers@thread.tacv2"
    personal = MemberKey("msteams", TENANT, ANN.id, None)
    await teams.exchange(teams.message(ANN, teams.channel(BAKERS, "Bakers"), "start", mention=True))
    await interview(teams, ANN, teams.personal_chat(ANN))
    clock.advance(minutes=5)

    [card] = await teams.exchange(
        teams.message(ANN, teams.channel(brewers, "Brewers"), "start", mention=True)
    )

    assert "you answer for Bakers" in card.everything
    assert "@Coffee Coach team" in card.everything
    member = coach.store.member(personal)
    assert member is not None and member.team.team == BAKERS
    assert "customers" in answers_of(coach, ANN.id, BAKERS)
    calls = await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "status"))
    assert "Your interview is complete" in calls[-1].everything


async def test_typing_in_a_channel_never_answers_the_interview(
    teams: TeamsService, coach: Coach
) -> None:
    await teams.exchange(teams.message(ANN, teams.channel(BAKERS), "start", mention=True))
    await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))

    [hint] = await teams.exchange(teams.message(ANN, teams.channel(BAKERS), "B2B", mention=True))

    assert "personal chat" in hint.everything
    assert answers_of(coach, ANN.id, BAKERS) == {}


@pytest.mark.parametrize("kind", ["channel", "groupChat"])
async def test_report_in_a_team_posts_the_team_picture_as_a_card(
    kind: str, teams: TeamsService, connector: FakeBotConnector
) -> None:
    if kind == "channel":
        chat = teams.channel(BAKERS, "Bakers")
    else:
        chat = teams.group_chat("19:meeting_bakers@thread.v2", "Bakers")
    await teams.install(chat, ANN)
    if kind == "groupChat":
        # A group chat is a team by its members' choice only.
        [explained] = await teams.exchange(teams.message(ANN, chat, "report", mention=True))
        assert "This group chat isn't a team" in explained.everything
        calls = await teams.exchange(teams.submit(ANN, chat, explained, "Make Bakers a team"))
        assert any("Bakers** is a team now" in c.everything for c in calls), [
            c.everything for c in calls
        ]
    for member in (ANN, BOB):
        await teams.exchange(teams.message(member, chat, "start", mention=True))
        await interview(teams, member, teams.personal_chat(member))

    [report] = await teams.exchange(teams.message(BOB, chat, "report", mention=True))

    assert report.conversation_id is not None
    assert report.conversation_id.startswith(chat.conversation_id)
    texts = report.everything
    assert "Team Bakers" in texts
    assert "2 member(s): Ann Baker, Bob Brewer" in texts
    assert f"Ann Baker: {ANSWERS[0]}" in texts
    assert "Rung 1 of 4: Broadcast" in texts
    assert report.card is not None
    assert report.card["msteams"] == {"width": "Full"}


# --- platform correctness --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"hello": "world"}',
        b'{"type": "message", "timestamp": "yesterday"}',
        b'{"type": "message", "text": "hi"}',
    ],
    ids=["not-json", "a-list", "no-type", "bad-timestamp", "no-service-url"],
)
async def test_a_body_that_is_not_an_activity_gets_a_400(
    body: bytes, bot_url: str, session: aiohttp.ClientSession, connector: FakeBotConnector
) -> None:
    headers = {"Content-Type": "application/json"}
    async with session.post(bot_url, data=body, headers=headers) as response:
        assert response.status == 400
    assert connector.calls == []


def _foreign_token() -> str:
    """A well-formed JWT from an issuer the Bot Framework does not trust."""
    claims = {"iss": "https://evil.example.com", "aud": APP_ID, "serviceurl": "x"}
    return jwt.encode(claims, "a key the Bot Framework never issued", algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YW5uOnNlY3JldA==", f"Bearer {_foreign_token()}"],
    ids=["missing", "empty-bearer", "unparseable", "basic", "foreign-issuer"],
)
async def test_with_an_app_id_a_request_without_a_valid_token_gets_a_401(
    authorization: str | None,
    aiohttp_server: ServerFactory,
    coach: Coach,
    session: aiohttp.ClientSession,
    connector: FakeBotConnector,
) -> None:
    config = Config(microsoft_app_id=APP_ID, microsoft_app_password="secret", scheduler=False)
    secured = build_app(coach, config)
    server = await aiohttp_server(secured)
    url = str(server.make_url("/api/messages"))
    teams = TeamsService(session, url, connector, settle=secured[TEAMS].relay.drain)
    headers = {"Authorization": authorization} if authorization is not None else {}

    status = await teams.post(
        teams.message(ANN, teams.personal_chat(ANN), "start"), headers=headers
    )

    assert status == 401
    assert connector.calls == []
    assert coach.store.member(MemberKey("msteams", TENANT, ANN.id, None)) is None


async def test_without_an_app_id_the_start_up_log_says_the_door_is_unauthenticated(
    coach: Coach, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="coffee_coach.teams"):
        build_app(coach, DEV)
    assert "WITHOUT authentication" in caplog.text
    assert "Local development only" in caplog.text


async def test_a_429_is_retried_after_its_retry_after_then_delivered(
    teams: TeamsService, connector: FakeBotConnector, waits: list[float]
) -> None:
    connector.fail_next(429, retry_after="3")

    calls = await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))

    assert [c.status for c in calls] == [429, 200]
    assert calls[0].body == calls[1].body  # the same message, sent again
    assert "does your business mainly sell" in calls[1].everything
    [wait] = waits
    assert 3.0 <= wait <= 3.3  # Retry-After, plus a little jitter


@pytest.mark.parametrize("status", [412, 502, 503, 504])
async def test_a_busy_connector_is_retried_with_backoff(
    status: int, teams: TeamsService, connector: FakeBotConnector, waits: list[float]
) -> None:
    connector.fail_next(status, times=2, method="POST")

    calls = await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))

    assert [c.status for c in calls] == [status, status, 200]
    first, second = waits
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


async def test_a_busy_connector_is_retried_for_a_card_update_too(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.personal_chat(ANN)
    calls = await teams.exchange(teams.message(ANN, chat, "start"))
    connector.fail_next(412, method="PUT")

    calls = await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "B2B"))

    assert [c.status for c in calls if c.method == "PUT"] == [412, 200]


async def test_messages_to_one_conversation_are_paced_at_seven_a_second(
    teams: TeamsService, app: web.Application, waits: list[float]
) -> None:
    app[TEAMS].outbox.pacer = ConversationPacer(
        rate=7, clock=lambda: 0.0
    )  # all within the same instant
    chat = teams.personal_chat(ANN)

    for _ in range(8):
        await teams.exchange(teams.message(ANN, chat, "status"))

    assert waits == [1.0]  # the eighth message waits for the first one's second to pass


async def test_a_refusal_is_not_retried_and_the_delivery_is_still_acknowledged(
    teams: TeamsService, connector: FakeBotConnector, caplog: pytest.LogCaptureFixture
) -> None:
    connector.fail_next(403)

    status = await teams.say(ANN, teams.personal_chat(ANN), "start")

    assert status == 200
    refused, *rest = connector.calls
    assert refused.status == 403
    # Never sent again; what came after it in the turn still goes.
    assert all(c.body != refused.body for c in rest)
    assert "cannot be delivered" in caplog.text


async def test_a_proactive_message_reaches_the_personal_chat_after_a_restart(
    aiohttp_server: ServerFactory,
    db_path: Path,
    clock: ManualClock,
    teams: TeamsService,
    connector: FakeBotConnector,
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.exchange(teams.message(ANN, chat, "start"))
    await teams.exchange(teams.message(ANN, chat, "B2B"))

    restarted = SQLiteStore(db_path, clock=clock)  # a new process: nothing shared but the file
    try:
        app = build_app(Coach(restarted), DEV)
        await aiohttp_server(app)
        member = restarted.member(MemberKey("msteams", TENANT, ANN.id, None))
        assert member is not None and member.address is not None
        mark = len(connector.calls)

        await app[SENDERS]["msteams"].send(
            Outgoing(address=member.address, replies=(Reply("Time for your check-in."),))
        )
    finally:
        restarted.close()

    [sent] = await connector.wait_for(after=mark)
    assert sent.path == f"/v3/conversations/{chat.conversation_id}/activities"
    assert sent.text == "Time for your check-in."
    assert sent.body["recipient"]["id"] == ANN.id
    assert sent.body["from"]["id"] == teams.bot.id
    assert json.loads(member.address)["conversation"]["tenantID"] == TENANT


@pytest.mark.parametrize(
    ("status", "code", "raised"),
    [
        (403, "BotNotInConversationRoster", Undeliverable),
        (404, "ConversationNotFound", Undeliverable),
        (500, "InternalServerError", DeliveryError),
    ],
)
async def test_a_proactive_message_the_connector_refuses_says_whether_a_retry_can_help(
    app: web.Application,
    teams: TeamsService,
    connector: FakeBotConnector,
    coach: Coach,
    status: int,
    code: str,
    raised: type[Exception],
) -> None:
    await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None and member.address is not None
    connector.fail_next(status, body={"error": {"code": code, "message": "refused"}})

    with pytest.raises(raised, match=f"{status} \\({code}\\)"):
        await app[SENDERS]["msteams"].send(
            Outgoing(address=member.address, replies=(Reply("Time for your check-in."),))
        )


async def test_the_stored_address_does_not_change_from_one_message_to_the_next(
    teams: TeamsService, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    key = MemberKey("msteams", TENANT, ANN.id, None)
    await teams.exchange(teams.message(ANN, chat, "start"))
    first = coach.store.member(key)
    await teams.exchange(teams.message(ANN, chat, "B2B"))
    second = coach.store.member(key)

    assert first is not None and second is not None
    assert first.address == second.address
    assert '"activityId"' not in (second.address or "")


async def test_expect_replies_come_back_in_the_http_response(
    teams: TeamsService, connector: FakeBotConnector, session: aiohttp.ClientSession
) -> None:
    activity = teams.message(ANN, teams.personal_chat(ANN), "start") | {
        "deliveryMode": "expectReplies"
    }

    async with session.post(teams.bot_url, json=activity) as response:
        assert response.status == 200
        body = await response.json()

    [question] = [a.get("text") or json.dumps(a.get("attachments")) for a in body["activities"]]
    assert "B2B" in question
    assert connector.calls == []


async def test_two_servers_on_one_database_welcome_one_install_once(
    aiohttp_server: ServerFactory,
    session: aiohttp.ClientSession,
    connector: FakeBotConnector,
    coach: Coach,
    db_path: Path,
    clock: ManualClock,
    waits: list[float],
) -> None:
    other = Coach(SQLiteStore(db_path, clock=clock))
    doors = []
    for each in (coach, other):
        door_app = record_waits(build_app(each, DEV), waits)
        server = await aiohttp_server(door_app)
        url = str(server.make_url("/api/messages"))
        doors.append(TeamsService(session, url, connector, settle=door_app[TEAMS].relay.drain))
    first, second = doors
    chat = first.personal_chat(ANN)
    # Teams' two events for one install, each reaching a different server process.
    assert await first.post(first.members_added(chat, ANN, [first.bot])) == 200
    assert await second.post(second.installation_update(chat, ANN)) == 200
    assert len(connector.posts()) == 1

    clock.advance(minutes=11)  # installed again later: welcomed again
    assert await second.post(second.installation_update(chat, ANN)) == 200
    assert len(connector.posts()) == 2


def checkin(address: str) -> Outgoing:
    return Outgoing(address=address, replies=(Reply("Time for your check-in."),))


async def address_of_ann(teams: TeamsService, coach: Coach) -> str:
    await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None and member.address is not None
    return member.address


async def test_replies_and_proactive_sends_share_one_connector_client_and_one_connection(
    app: web.Application, teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    address = await address_of_ann(teams, coach)  # the reply to Ann's "start"
    await teams.exchange(teams.message(BOB, teams.personal_chat(BOB), "start"))

    await app[SENDERS]["msteams"].send(checkin(address))
    await app[SENDERS]["msteams"].send(checkin(address))

    posts = connector.posts()
    assert len(posts) == 4
    # One kept-alive connection: the same client and session for every reply and check-in
    # (botbuilder opened a new connection for each proactive message).
    assert len({call.peer for call in posts}) == 1


async def test_with_an_app_id_one_token_serves_every_proactive_send(
    aiohttp_server: ServerFactory,
    coach: Coach,
    teams: TeamsService,
    connector: FakeBotConnector,
) -> None:
    address = await address_of_ann(teams, coach)
    config = Config(microsoft_app_id=APP_ID, microsoft_app_password="secret", scheduler=False)
    app = build_app(coach, config)
    app[TEAMS].connectors.login_url = connector.login_url
    await aiohttp_server(app)
    mark = len(connector.calls)

    for _ in range(3):
        await app[SENDERS]["msteams"].send(checkin(address))

    calls = connector.calls[mark:]
    [token] = connector.token_requests()
    assert token.path == "/botframework.com/oauth2/v2.0/token"
    assert token.body["client_id"] == APP_ID
    assert token.body["scope"] == "https://api.botframework.com/.default"
    sent = [c for c in calls if c.is_post()]
    assert len(sent) == 3
    assert {c.headers["Authorization"] for c in sent} == {f"Bearer {connector.token}"}
    assert len({c.peer for c in calls}) == 1  # the token came over the same session


async def test_a_single_tenant_app_asks_its_own_tenant_for_tokens(
    aiohttp_server: ServerFactory,
    coach: Coach,
    teams: TeamsService,
    connector: FakeBotConnector,
) -> None:
    address = await address_of_ann(teams, coach)
    config = Config(
        microsoft_app_id=APP_ID,
        microsoft_app_password="secret",
        microsoft_app_type="SingleTenant",
        microsoft_app_tenant_id=TENANT,
        scheduler=False,
    )
    app = build_app(coach, config)
    app[TEAMS].connectors.login_url = connector.login_url
    await aiohttp_server(app)

    await app[SENDERS]["msteams"].send(checkin(address))

    [token] = connector.token_requests()
    assert token.path == f"/{TENANT}/oauth2/v2.0/token"


async def test_a_refused_token_is_a_delivery_error_not_retried(
    aiohttp_server: ServerFactory,
    coach: Coach,
    teams: TeamsService,
    connector: FakeBotConnector,
) -> None:
    address = await address_of_ann(teams, coach)
    config = Config(microsoft_app_id=APP_ID, microsoft_app_password="wrong", scheduler=False)
    app = build_app(coach, config)
    app[TEAMS].connectors.login_url = connector.login_url
    await aiohttp_server(app)
    connector.fail_next(401, body={"error": "invalid_client"})

    with pytest.raises(DeliveryError, match="401"):
        await app[SENDERS]["msteams"].send(checkin(address))
    assert [c.status for c in connector.token_requests()] == [401]


async def test_a_proactive_message_throttled_with_429_waits_its_retry_after(
    app: web.Application,
    teams: TeamsService,
    connector: FakeBotConnector,
    coach: Coach,
    waits: list[float],
) -> None:
    address = await address_of_ann(teams, coach)
    mark = len(connector.calls)
    connector.fail_next(429, retry_after="2")

    await app[SENDERS]["msteams"].send(checkin(address))

    assert [c.status for c in connector.calls[mark:]] == [429, 200]
    [wait] = waits
    assert 2.0 <= wait <= 2.2


async def test_a_proactive_message_is_sent_again_after_a_503(
    app: web.Application,
    teams: TeamsService,
    connector: FakeBotConnector,
    coach: Coach,
    waits: list[float],
) -> None:
    address = await address_of_ann(teams, coach)
    mark = len(connector.calls)
    connector.fail_next(503)

    await app[SENDERS]["msteams"].send(checkin(address))

    first, second = connector.calls[mark:]
    assert (first.status, second.status) == (503, 200)
    assert first.body == second.body
    [wait] = waits
    assert 0.25 <= wait <= 0.5


async def test_a_proactive_message_refused_with_403_gives_up_at_once(
    app: web.Application,
    teams: TeamsService,
    connector: FakeBotConnector,
    coach: Coach,
    waits: list[float],
) -> None:
    address = await address_of_ann(teams, coach)
    mark = len(connector.calls)
    connector.fail_next(403, body={"error": {"code": "BotDisabledByAdmin"}})

    with pytest.raises(Undeliverable, match="403"):
        await app[SENDERS]["msteams"].send(checkin(address))

    assert [c.status for c in connector.calls[mark:]] == [403]
    assert waits == []


async def test_a_connector_that_cannot_be_reached_is_a_delivery_error(
    app: web.Application, teams: TeamsService, coach: Coach, waits: list[float]
) -> None:
    address = await address_of_ann(teams, coach)
    gone = json.loads(address)
    gone["serviceUrl"] = "http://127.0.0.1:9/"  # the discard port: nothing listens there

    with pytest.raises(DeliveryError, match="could not be reached"):
        await app[SENDERS]["msteams"].send(checkin(json.dumps(gone)))
    assert len(waits) == 4  # retried with backoff before giving up


async def test_member_text_quoted_back_in_a_message_never_becomes_a_link_or_image(
    teams: TeamsService,
) -> None:
    chat = teams.personal_chat(ANN)
    trap = "[Reset your password](https://evil.example/login) ![x](https://evil.example/i.png)"

    [reply] = await teams.exchange(teams.message(ANN, chat, trap))

    shown = reply.everything
    assert "Reset your password" in shown and "https://evil.example/login" in shown
    assert "](" not in shown and "![" not in shown


# --- who is on which team -------------------------------------------------------------------------

ALEX = Person("29:alex", "Alex Wilber", "aad-alex")


async def test_answers_from_the_personal_chat_count_for_the_team_the_member_adds_the_app_to(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    personal = teams.personal_chat(ALEX)
    await teams.install(personal, ALEX)
    await interview(teams, ALEX, personal)
    bakers = teams.channel(BAKERS, "Bakers")
    mark = len(connector.calls)

    await teams.install(bakers, ALEX)

    [welcome] = [c for c in connector.calls[mark:] if c.is_post()]
    assert "Alex Wilber: Everything you answered so far now counts for **Bakers**" in (
        welcome.everything
    )
    assert "customers" in answers_of(coach, ALEX.id, BAKERS)
    [report] = await teams.exchange(teams.message(ALEX, bakers, "report", mention=True))
    assert "Alex Wilber" in report.everything
    assert "nobody yet" not in report.everything
    calls = await teams.exchange(teams.message(ALEX, personal, "status"))
    assert "Your interview is complete" in calls[-1].everything
    assert "(personal)" not in calls[-1].everything


async def test_a_first_at_mention_in_a_team_brings_what_the_member_answered_privately(
    teams: TeamsService, coach: Coach
) -> None:
    bakers = teams.channel(BAKERS, "Bakers")
    await teams.install(bakers, ANN)
    personal = teams.personal_chat(BOB)
    await teams.exchange(teams.message(BOB, personal, "start"))
    await teams.exchange(teams.message(BOB, personal, "B2B"))
    await teams.exchange(teams.message(BOB, personal, ANSWERS[0]))

    [card] = await teams.exchange(teams.message(BOB, bakers, "start", mention=True))

    assert "Everything you answered so far now counts for **Bakers**" in card.everything
    assert answers_of(coach, BOB.id, BAKERS)["customers"] == ANSWERS[0]
    calls = await teams.exchange(teams.message(BOB, personal, ANSWERS[1]))
    assert "Question 3 of 9" in calls[-1].everything


async def test_team_in_another_team_offers_to_switch_and_moves_only_when_pressed(
    teams: TeamsService, coach: Coach
) -> None:
    brewers = teams.channel("19:brewers@thread.tacv2", "Brewers")
    await teams.exchange(teams.message(ANN, teams.channel(BAKERS, "Bakers"), "start", mention=True))
    await interview(teams, ANN, teams.personal_chat(ANN))

    [offer] = await teams.exchange(teams.message(ANN, brewers, "team", mention=True))

    assert "You answer for **Bakers**. Switch to **Brewers** instead?" in offer.everything
    assert "complete" not in offer.everything, "a channel hears nothing of anyone's progress"
    assert [b["title"] for b in offer.buttons] == ["Answer for Brewers", "Keep Bakers"]
    assert "customers" in answers_of(coach, ANN.id, BAKERS)
    calls = await teams.exchange(teams.submit(ANN, brewers, offer, "Answer for Brewers"))
    assert any("you answer for **Brewers** now" in c.everything for c in calls)
    assert "customers" in answers_of(coach, ANN.id, "19:brewers@thread.tacv2")


# --- commands in a channel ----------------------------------------------------------------------


async def test_help_in_a_channel_is_help_and_tells_nothing_private(teams: TeamsService) -> None:
    bakers = teams.channel(BAKERS, "Bakers")
    await teams.exchange(teams.message(ANN, bakers, "start", mention=True))
    await teams.exchange(teams.message(ANN, teams.personal_chat(ANN), "start"))

    [help_card] = await teams.exchange(teams.message(ANN, bakers, "help", mention=True))

    assert "Commands" in help_card.everything
    assert "report" in help_card.everything
    assert "Why I ask" not in help_card.everything
    assert "Open our chat" not in json.dumps(help_card.buttons)


async def test_status_in_a_channel_answers_in_the_personal_chat_and_says_so(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    bakers = teams.channel(BAKERS, "Bakers")
    personal = teams.personal_chat(ANN)
    await teams.exchange(teams.message(ANN, bakers, "start", mention=True))
    await teams.exchange(teams.message(ANN, personal, "start"))
    mark = len(connector.calls)

    await teams.exchange(teams.message(ANN, bakers, "status", mention=True), replies=2)

    posted = [c for c in connector.calls[mark:] if c.is_post()]
    [private] = [c for c in posted if c.conversation_id == personal.conversation_id]
    [public] = [c for c in posted if c.conversation_id != personal.conversation_id]
    assert "0 of 9 questions answered" in private.everything
    assert "I've sent it to our personal chat" in public.everything
    assert "questions answered" not in public.everything


async def test_status_in_a_channel_before_any_personal_chat_points_to_it(
    teams: TeamsService,
) -> None:
    bakers = teams.channel(BAKERS, "Bakers")

    [card] = await teams.exchange(teams.message(BOB, bakers, "status", mention=True))

    assert "Open our personal chat and type **status** there" in card.everything
    assert "questions answered" not in card.everything


async def test_a_command_with_arguments_it_does_not_take_gets_help_in_a_channel(
    teams: TeamsService,
) -> None:
    bakers = teams.channel(BAKERS, "Bakers")

    [card] = await teams.exchange(teams.message(ANN, bakers, "report now", mention=True))

    assert "doesn't take “now”" in card.everything


async def test_a_group_chat_without_a_topic_is_offered_as_a_team_by_its_members_names(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.group_chat("19:untitled@thread.v2")
    connector.members[chat.conversation_id] = [
        ANN.account(),
        BOB.account(),
        teams.bot.account(),
    ]
    await teams.install(chat, ANN)

    calls = await teams.exchange(teams.message(BOB, chat, "report", mention=True))

    [explained] = [c for c in calls if c.is_post()]
    assert "This group chat isn't a team" in explained.everything
    assert [b["title"] for b in explained.buttons] == ["Make Ann Baker and Bob Brewer a team"]
    assert "19:untitled" not in explained.everything
    await teams.exchange(teams.submit(BOB, chat, explained, "Make Ann Baker and Bob Brewer a team"))
    team = coach.store.team(TeamKey("msteams", TENANT, chat.conversation_id))
    assert team is not None and (team.kind, team.name) == ("team", "Ann Baker and Bob Brewer")


async def test_a_refusal_names_the_lead_with_a_teams_mention(teams: TeamsService) -> None:
    bakers = teams.channel(BAKERS, "Bakers")
    await teams.install(bakers, ANN)
    await teams.exchange(teams.message(ANN, bakers, "start", mention=True))
    await teams.exchange(teams.message(BOB, bakers, "start", mention=True))

    [refusal] = await teams.exchange(
        teams.message(BOB, teams.personal_chat(BOB), "schedule tuesday")
    )

    assert "Only the team's lead (<at>Ann Baker</at>)" in refusal.text
    assert refusal.body["entities"] == [
        {
            "type": "mention",
            "text": "<at>Ann Baker</at>",
            "mentioned": {"id": ANN.id, "name": "Ann Baker"},
        }
    ]
    assert "29:ann" not in refusal.text


async def test_the_app_added_to_a_team_brings_its_members_answers_and_tells_them_privately(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    personal = teams.personal_chat(ALEX)
    await teams.install(personal, ALEX)
    await interview(teams, ALEX, personal)
    bakers = teams.channel(BAKERS, "Bakers")
    connector.members[BAKERS] = [ANN.account(), ALEX.account(), BOB.account(), teams.bot.account()]
    mark = len(connector.calls)

    await teams.install(bakers, ANN)

    told = [
        c
        for c in connector.calls[mark:]
        if c.is_post() and c.conversation_id == personal.conversation_id
    ]
    assert len(told) == 1
    assert "Everything you answered so far now counts for **Bakers**" in told[0].everything
    assert "customers" in answers_of(coach, ALEX.id, BAKERS)
    # Members the coach never talked to join when they first write, not before.
    team = coach.store.team(TeamKey("msteams", TENANT, BAKERS))
    assert team is not None
    assert {m.user for m in coach.store.members(team.id)} == {ALEX.id, ANN.id}

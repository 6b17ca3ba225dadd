"""The Slack door end to end: the real `coffee-coach serve` app on 127.0.0.1, signed requests
exactly as Slack sends them, and the Web API answered and recorded by a fake Slack."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml
from aiohttp import web

from adapters.slack.blocks import escape
from adapters.slack.door import SLACK_DOOR, SlackDoor
from adapters.slack.names import SENT_TO_DM, SUBCOMMANDS
from bot.config import Config
from bot.engine import COMMANDS, Coach
from bot.messages import Choice, Incoming, MemberKey, Outgoing, Parcel, Reply, TeamKey
from bot.pacing import ConversationPacer
from bot.server import SENDERS, build_app
from tests.fakes.slack_api import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    FakeSlackAPI,
    Message,
    SlackDriver,
    dm_channel,
    manifest_scopes,
)
from tests.sqlite_support import connection

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0001"
ANSWERS = (
    "Facilities managers at mid-sized hospitals",
    "Fast repairs and friendly engineers who explain things",
    "Short videos of engineers solving real problems",
    "Being trusted before the tender is published",
    "LinkedIn first, then YouTube for the videos",
    "Priya writes, Tom replies, Sam approves",
    "Two posts a week and a monthly content calendar",
    "Engineers share our posts and we join hospital forums",
    "Twenty qualified leads a month from LinkedIn by June",
)
STAGE_CHECK_QUESTIONS = 6


@dataclass
class Harness:
    app: web.Application
    slack: SlackDriver
    api: FakeSlackAPI
    coach: Coach
    door: SlackDoor

    async def settle(self) -> None:
        """Let the door finish what it does after acknowledging (bounded)."""
        await self.door.queue.drain(timeout=5)

    def dm(self, user: str) -> list[Message]:
        return self.api.conversation(dm_channel(user))

    def last(self, user: str) -> Message:
        return self.dm(user)[-1]

    async def command(self, user: str, text: str = "", **kw: str) -> aiohttp.ClientResponse:
        response = await self.slack.command(user, text, **kw)
        assert response.status == 200
        await self.settle()
        return response

    async def say(self, user: str, text: str, *, ts: str | None = None) -> Message:
        response = await self.slack.message(user, text, ts=ts)
        assert response.status == 200
        await self.settle()
        return self.last(user)

    async def press(self, user: str, label: str, message: Message | None = None) -> Message:
        response = await self.slack.press(user, message or self.last(user), label)
        assert response.status == 200
        await self.settle()
        return self.last(user)

    async def interview(self, user: str, *, channel: str = CHANNEL) -> None:
        """One member's whole interview: /coffee in the team channel, to the commitments."""
        await self.command(user, channel=channel)
        await self.press(user, "B2B")
        for answer in ANSWERS:
            await self.say(user, answer)
        for _ in range(STAGE_CHECK_QUESTIONS):
            await self.press(user, self.last(user).labels()[0])
        await self.press(user, "All of them")

    def member(self, user: str, team: str | None = CHANNEL) -> object:
        return self.coach.store.member(MemberKey("slack", TEAM, user, team))


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI(scopes=manifest_scopes(), public_channels=[CHANNEL]) as fake:
        fake.add_user("U1", "Ann", tz="Europe/Paris", is_admin=True)
        fake.add_user("U2", "Bob")
        yield fake
        assert fake.errors() == [], "the fake refused calls the door made"


@pytest.fixture
async def h(
    coach: Coach,
    api: FakeSlackAPI,
    aiohttp_client: object,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Harness]:
    config = Config(
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api.url,
        scheduler=False,
    )
    app = build_app(coach, config)
    client = await aiohttp_client(app)  # type: ignore[operator]
    harness = Harness(
        app, SlackDriver(client, signing_secret=SECRET, api=api), api, coach, app[SLACK_DOOR]
    )
    # Pacing is its own test; here time stands still, so the door never waits a second.
    still = FakeTime()
    harness.door.pacer = ConversationPacer(clock=still.now, sleep=still.sleep)
    yield harness
    await harness.settle()
    failures = [
        r for r in caplog.records if r.name == "coffee_coach.slack" and r.levelno >= logging.ERROR
    ]
    assert failures == [], "background work failed"


# --- /coffee and the interview ----------------------------------------------------------------


async def test_coffee_in_a_channel_acks_privately_and_starts_the_interview_in_the_dm(
    h: Harness,
) -> None:
    response = await h.command("U1")

    assert json.loads(await response.text()) == {"text": SENT_TO_DM, "response_type": "ephemeral"}
    [first] = h.dm("U1")
    assert "Hi, I'm Coffee Coach" in first.text
    assert first.labels() == ["B2B", "B2C", "Both", "Skip", "Back", "Pause"]
    assert h.api.sent("chat.postMessage", channel=CHANNEL) == []


async def test_the_channel_where_coffee_is_first_run_is_the_team(h: Harness) -> None:
    await h.command("U1", channel="C0042", channel_name="growth-team")

    team = h.coach.store.team(TeamKey("slack", TEAM, "C0042"))
    assert team is not None
    assert (team.name, team.address, team.timezone) == ("growth-team", "C0042", "Europe/Paris")
    member = h.coach.store.member(MemberKey("slack", TEAM, "U1", "C0042"))
    assert member is not None
    # The member's DM is stored for proactive sends, and their name for reports.
    assert (member.address, member.name) == (dm_channel("U1"), "Ann")


async def test_coffee_acks_without_waiting_for_the_web_api(h: Harness) -> None:
    gate = h.api.hold("users.info")

    response = await h.slack.command("U1")

    assert response.status == 200
    assert h.api.sent("chat.postMessage") == []
    gate.set()
    await h.api.wait_for("chat.postMessage")


async def test_a_whole_interview_from_coffee_to_the_stage_report(h: Harness) -> None:
    await h.interview("U1")

    messages = h.dm("U1")
    rendered = json.dumps([m.blocks for m in messages])
    assert "Here's what you told me." in rendered
    assert escape(ANSWERS[0]) in rendered
    assert ":coffee:" in rendered, "the stage card draws the ladder"
    assert "Committed:" in rendered
    assert "Thanks, that's the interview done." in messages[-1].text

    await h.command("U1", "report")

    [report] = h.api.sent("chat.postMessage", channel=CHANNEL)
    blocks = report.blocks()
    assert {
        "type": "header",
        "text": {"type": "plain_text", "text": "Team picture: marketing", "emoji": True},
    } in blocks
    fields = [f["text"] for b in blocks for f in b.get("fields", [])]
    assert f"*Ann*\n{ANSWERS[0]}" in fields
    assert any("Rung 1 of 4" in b.get("text", {}).get("text", "") for b in blocks)
    assert "Commitments" in json.dumps(blocks)


async def test_every_prompt_offers_skip_back_and_pause(h: Harness) -> None:
    await h.command("U1")
    prompt = await h.press("U1", "B2C")

    assert "Question 1 of 9" in prompt.text
    assert prompt.labels() == ["Skip", "Back", "Pause"]

    paused = await h.press("U1", "Pause")
    assert "Paused at question 1 of 9" in paused.text
    resumed = await h.press("U1", "Resume")
    assert "Question 1 of 9" in resumed.text


async def test_a_pressed_prompt_shows_the_answer_in_place_of_its_buttons(h: Harness) -> None:
    await h.command("U1")
    [prompt] = h.dm("U1")

    await h.press("U1", "B2C", prompt)

    [update] = h.api.sent("chat.update")
    assert update.args["ts"] == prompt.ts
    settled = h.api.messages[(prompt.channel, prompt.ts)]
    assert settled.buttons() == []
    assert settled.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "✓ *B2C*"}],
    }


async def test_a_double_click_answers_once(h: Harness) -> None:
    await h.command("U1")
    [prompt] = h.dm("U1")

    first, second = await asyncio.gather(
        h.slack.press("U1", prompt, "B2B"), h.slack.press("U1", prompt, "B2C")
    )
    await h.settle()

    assert (first.status, second.status) == (200, 200)
    member = h.coach.store.member(MemberKey("slack", TEAM, "U1"))
    assert member is not None
    conv = h.coach.store.conversation(member.id)
    assert conv is not None
    [answer] = h.coach.store.answer_history(conv.id, "business_model")
    assert len(h.api.sent("chat.update")) == 1
    assert len(h.dm("U1")) == 2, "one next prompt, not two"
    assert "Question 1 of 9" in h.last("U1").text
    assert answer.text in ("B2B", "B2C")


async def test_a_press_on_a_prompt_answered_by_typing_changes_nothing(h: Harness) -> None:
    await h.command("U1")
    [prompt] = h.dm("U1")
    await h.say("U1", "b2b")

    await h.press("U1", "B2C", prompt)

    [note] = h.api.sent("chat.postEphemeral")
    assert note.args["user"] == "U1"
    assert "already answered" in note.args["text"]
    assert h.api.sent("chat.update") == []
    assert "Question 1 of 9" in h.last("U1").text


async def test_coffee_in_the_app_dm_continues_with_the_members_team(h: Harness) -> None:
    await h.command("U1", channel=CHANNEL)

    response = await h.command(
        "U1", "status", channel=dm_channel("U1"), channel_name="directmessage"
    )

    body = json.loads(await response.text())
    assert body["response_type"] == "ephemeral"
    assert "Team marketing has no rung yet" in body["text"]


async def test_coffee_run_again_in_the_app_dm_acks_silently(h: Harness) -> None:
    await h.command("U1")

    response = await h.command("U1", channel=dm_channel("U1"), channel_name="directmessage")

    assert await response.text() == ""
    assert "Welcome back" in h.last("U1").text


async def test_typed_answers_are_stored_with_their_message_ts(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.say("U1", ANSWERS[0], ts="1800000001.000100")

    member = h.coach.store.member(MemberKey("slack", TEAM, "U1"))
    assert member is not None
    assert h.coach.store.answer_for_message(member.id, "1800000001.000100") is not None


async def test_editing_an_answer_in_the_dm_adds_a_version_and_says_so(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    await h.say("U1", ANSWERS[0], ts="1800000001.000100")

    response = await h.slack.edit(
        "U1", "1800000001.000100", "Hospital estates teams", before=ANSWERS[0]
    )
    await h.settle()

    assert response.status == 200
    assert h.last("U1").text == "Updated your answer to question 1."
    member = h.coach.store.member(MemberKey("slack", TEAM, "U1"))
    assert member is not None
    conv = h.coach.store.conversation(member.id)
    assert conv is not None
    history = h.coach.store.answer_history(conv.id, "customers")
    assert [a.text for a in history] == [ANSWERS[0], "Hospital estates teams"]


# --- the subcommands --------------------------------------------------------------------------


async def test_coffee_help_lists_every_command_with_a_line_each(h: Harness) -> None:
    response = await h.command("U1", "help")

    body = json.loads(await response.text())
    assert body["response_type"] == "ephemeral"
    for name, what in COMMANDS.items():
        assert f"`{escape(name)}`: {what}" in body["text"]
    assert h.api.sent("chat.postMessage") == []


async def test_coffee_status_shows_progress_and_the_teams_rung(h: Harness) -> None:
    await h.interview("U1")
    await h.command("U2")
    await h.press("U2", "B2C")

    response = await h.command("U2", "status")

    text = json.loads(await response.text())["text"]
    assert "0 of 9 questions answered" in text
    assert "Team marketing is on rung 1 of 4: Broadcast (1 of 2 members placed)" in text


async def test_coffee_pause_and_resume_carry_on_in_the_dm(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.command("U1", "pause")
    assert "Paused at question 1 of 9" in h.last("U1").text
    assert h.last("U1").labels() == ["Resume"]

    await h.command("U1", "resume")
    assert "Question 1 of 9" in h.last("U1").text


async def test_coffee_restart_begins_again_from_the_top(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.command("U1", "restart")

    assert "Starting again from the top" in h.last("U1").text
    assert h.last("U1").labels()[:3] == ["B2B", "B2C", "Both"]


async def test_coffee_cancel_stops_the_interview(h: Harness) -> None:
    await h.command("U1")

    await h.command("U1", "cancel")

    assert h.last("U1").text.startswith("Cancelled.")


async def test_coffee_export_sends_the_markdown_strategy_to_the_dm_as_a_file(h: Harness) -> None:
    await h.interview("U1")

    await h.command("U1", "export")

    [asked] = h.api.sent("files.getUploadURLExternal")
    assert asked.args["filename"] == "coffee-coach-marketing.md"
    [shared] = h.api.sent("files.completeUploadExternal")
    assert shared.args["channel_id"] == dm_channel("U1")
    [content] = h.api.uploads.values()
    markdown = content.decode()
    assert markdown.startswith("# Social media strategy: marketing")
    assert ANSWERS[8] in markdown


async def test_coffee_export_json_sends_the_data(h: Harness) -> None:
    await h.interview("U1")

    await h.command("U1", "export json")

    [content] = h.api.uploads.values()
    assert json.loads(content)["team"]["team"] == CHANNEL


async def test_coffee_forget_deletes_the_members_data_after_a_confirm_button(h: Harness) -> None:
    await h.interview("U1")

    await h.command("U1", "forget")
    confirm = h.last("U1")
    assert confirm.labels() == ["Delete my data", "Keep it"]
    assert h.member("U1") is not None

    done = await h.press("U1", "Delete my data")

    assert done.text.startswith("Done: everything I stored about you")
    assert h.member("U1") is None


async def test_coffee_report_in_the_dm_is_only_for_the_member(h: Harness) -> None:
    await h.interview("U1")

    await h.command("U1", "report", channel=dm_channel("U1"), channel_name="directmessage")

    assert h.api.sent("chat.postMessage", channel=CHANNEL) == []
    [report] = h.api.sent("chat.postEphemeral")
    assert report.args["user"] == "U1"
    assert "Team picture: marketing" in report.rendered()


async def test_a_report_the_bot_cannot_post_in_the_channel_goes_to_the_dm(h: Harness) -> None:
    h.api.private_channels.add("G0007")
    h.api.expected_errors.add("not_in_channel")
    await h.interview("U1", channel="G0007")
    before = len(h.dm("U1"))

    await h.command("U1", "report", channel="G0007")

    refused = [c for c in h.api.calls if c.method == "chat.postMessage" and not c.result["ok"]]
    assert [c.result["error"] for c in refused] == ["not_in_channel"]
    sent = h.dm("U1")[before:]
    assert "invite me there" in sent[0].text
    assert "Team picture: marketing" in json.dumps([m.blocks for m in sent])


async def test_without_chat_write_public_a_report_cannot_reach_an_unjoined_channel(
    h: Harness,
) -> None:
    await h.interview("U1")
    assert h.api.scopes is not None
    h.api.scopes = h.api.scopes - {"chat:write.public"}
    h.api.expected_errors.add("not_in_channel")

    await h.command("U1", "report")

    refused = [c for c in h.api.calls if c.method == "chat.postMessage" and not c.result["ok"]]
    assert [c.result["error"] for c in refused] == ["not_in_channel"]
    assert "invite me there" in json.dumps([m.text for m in h.dm("U1")[-2:]])


# --- platform correctness -----------------------------------------------------------------------


async def test_a_retried_delivery_is_processed_once(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    before = len(h.dm("U1"))

    first = await h.slack.message("U1", ANSWERS[0], event_id="Ev0RETRY")
    retry = await h.slack.message("U1", ANSWERS[0], event_id="Ev0RETRY", retry=1)
    await h.settle()

    assert (first.status, retry.status) == (200, 200)
    assert len(h.dm("U1")) == before + 1
    assert "Question 2 of 9" in h.last("U1").text


async def test_a_repeated_event_id_is_processed_once_even_with_another_body(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.slack.message("U1", ANSWERS[0], event_id="Ev0SAME")
    await h.slack.message("U1", ANSWERS[1], event_id="Ev0SAME")
    await h.settle()

    assert "Question 2 of 9" in h.last("U1").text


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"user": BOT_USER, "bot_id": BOT_ID, "text": "Question 1"}, id="own message"),
        pytest.param({"bot_id": "BOTHER", "subtype": "bot_message", "text": "hi"}, id="other bot"),
        pytest.param({"user": "U1", "bot_id": "BOTHER", "text": "hi"}, id="bot as user"),
        pytest.param({"user": "U1", "subtype": "channel_join", "text": "joined"}, id="join"),
        pytest.param({"subtype": "message_deleted", "deleted_ts": "1.2"}, id="deleted"),
        pytest.param({"user": "U1", "subtype": "file_share", "text": "a file"}, id="file share"),
        pytest.param({"user": "U1", "text": "hi", "channel_type": "channel"}, id="channel"),
    ],
)
async def test_the_bot_ignores_bots_itself_and_other_subtypes(
    h: Harness, event: dict[str, str]
) -> None:
    await h.command("U1")
    stats = h.coach.store.stats()
    full = {"type": "message", "channel": dm_channel("U1"), "channel_type": "im", "ts": "9.1"}

    response = await h.slack.event(full | event)
    await h.settle()

    assert response.status == 200
    assert len(h.dm("U1")) == 1
    assert h.coach.store.stats() == stats


async def test_the_bots_own_button_updates_are_not_edits(h: Harness) -> None:
    await h.command("U1")
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": dm_channel("U1"),
        "channel_type": "im",
        "ts": "9.2",
        "message": {"user": BOT_USER, "bot_id": BOT_ID, "text": "✓ B2B", "ts": "9.1"},
        "previous_message": {"user": BOT_USER, "bot_id": BOT_ID, "text": "B2B?", "ts": "9.1"},
    }

    response = await h.slack.event(edit)
    await h.settle()

    assert response.status == 200
    assert len(h.dm("U1")) == 1


def _nothing_stored(h: Harness) -> bool:
    counts = connection(h.coach.store).execute("SELECT count(*) FROM events").fetchone()[0]
    return counts == 0 and set(h.coach.store.stats().values()) == {0}


@pytest.mark.parametrize("kind", ["command", "event"])
async def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(
    h: Harness, kind: str
) -> None:
    form = urlencode(
        {
            "command": "/coffee",
            "team_id": TEAM,
            "user_id": "U1",
            "channel_id": CHANNEL,
            "trigger_id": "1.t",
            "text": "",
        }
    )
    body = form.encode() if kind == "command" else h.slack.event_body({"type": "message"})
    kind_type = "application/x-www-form-urlencoded" if kind == "command" else "application/json"

    forged = await h.slack.post(body, kind_type, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    await h.settle()

    assert forged.status == 401
    assert _nothing_stored(h)
    assert h.api.calls == []


async def test_a_stale_timestamp_is_refused_with_401(h: Harness) -> None:
    body = h.slack.event_body(
        {
            "type": "message",
            "channel_type": "im",
            "user": "U1",
            "text": "start",
            "channel": dm_channel("U1"),
            "ts": "1.1",
        }
    )

    replayed = await h.slack.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    await h.settle()

    assert replayed.status == 401
    assert _nothing_stored(h)
    assert h.api.calls == []


async def test_a_request_without_signature_headers_is_refused_with_401(h: Harness) -> None:
    async with h.slack.session.post("/slack/events", data=b"{}") as response:
        assert response.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b"{not json", "application/json", id="not json"),
        pytest.param(b"[1, 2]", "application/json", id="json array"),
        pytest.param(b'"text"', "application/json", id="json string"),
        pytest.param(b"\xff\xfe{}", "application/json", id="not utf-8"),
        pytest.param(
            b'{"type": "event_callback", "event_id": "Ev1", "team_id": "T0001"}',
            "application/json",
            id="event_callback without event",
        ),
        pytest.param(
            b'{"type": "event_callback", "event_id": "Ev1", "team_id": "T0001",'
            b' "event": "message"}',
            "application/json",
            id="event not an object",
        ),
        pytest.param(b'{"type": "url_verification"}', "application/json", id="no challenge"),
        pytest.param(b'{"type": "surprise"}', "application/json", id="unknown type"),
        pytest.param(
            b"payload=%7Bnot+json", "application/x-www-form-urlencoded", id="payload not json"
        ),
        pytest.param(b"payload=%5B%5D", "application/x-www-form-urlencoded", id="payload list"),
        pytest.param(
            b"payload=%7B%22type%22%3A%22block_actions%22%7D",
            "application/x-www-form-urlencoded",
            id="block_actions without actions",
        ),
        pytest.param(
            b'payload={"type":"block_actions","actions":[1],"user":{"id":"U1"}}',
            "application/x-www-form-urlencoded",
            id="action not an object",
        ),
        pytest.param(
            b"command=%2Fcoffee&team_id=T0001&channel_id=C1&trigger_id=1",
            "application/x-www-form-urlencoded",
            id="command without user",
        ),
        pytest.param(b"a=1&b=2", "application/x-www-form-urlencoded", id="form of nothing"),
    ],
)
async def test_a_malformed_body_gets_400_and_nothing_is_stored(
    h: Harness, body: bytes, content_type: str
) -> None:
    response = await h.slack.post(body, content_type)
    await h.settle()

    assert response.status == 400
    assert _nothing_stored(h)


async def test_url_verification_answers_the_challenge(h: Harness) -> None:
    body = json.dumps(
        {"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV"}
    )

    response = await h.slack.post(body.encode(), "application/json")

    assert response.status == 200
    assert json.loads(await response.text()) == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


async def test_mentions_typed_as_answers_never_ping_when_repeated(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    # What Slack delivers when a member types "@channel", mentions someone, and types "<!here>".
    await h.say("U1", "<!channel> and <@U999|zed> & co")
    await h.say("U1", "Literally &lt;!here&gt; &amp; &lt;@U123&gt; as text")

    await h.command("U1", "report")

    sent = [c.rendered() for c in h.api.calls if c.method.startswith("chat.")]
    assert sent, "the report was posted"
    for markup in ("<!channel>", "<!here>", "<@U999", "<@U123>"):
        assert all(markup not in text for text in sent), markup
    report = h.api.sent("chat.postMessage", channel=CHANNEL)[0].rendered()
    assert "@channel and @zed &amp; co" in report
    assert "Literally &lt;!here&gt; &amp;amp; &lt;@U123&gt; as text" not in report
    assert "Literally &lt;!here&gt; &amp; &lt;@U123&gt; as text" in report


async def test_a_rate_limited_call_is_retried_after_retry_after(h: Harness) -> None:
    h.api.rate_limit_once("chat.postMessage", retry_after=0)

    await h.command("U1")

    attempts = [c for c in h.api.calls if c.method == "chat.postMessage"]
    assert [c.status for c in attempts] == [429, 200]
    assert "Hi, I'm Coffee Coach" in h.last("U1").text


async def test_report_broadcasts_post_about_one_message_per_second_per_channel(
    h: Harness,
) -> None:
    clock = FakeTime()
    h.door.pacer = ConversationPacer(clock=clock.now, sleep=clock.sleep)
    for n in range(30):
        _answer_everything(h.coach, f"U{100 + n}")
    await h.command("U1")

    await h.command("U1", "report")

    posts = h.api.sent("chat.postMessage", channel=CHANNEL)
    assert len(posts) >= 2, "the report needs several messages"
    assert clock.slept == [1.0] * (len(posts) - 1)


async def test_posts_to_different_channels_do_not_wait_for_each_other() -> None:
    clock = FakeTime()
    pacer = ConversationPacer(clock=clock.now, sleep=clock.sleep)

    for channel in ("C1", "C2", "C3", "C1"):
        await pacer.wait(channel)

    assert clock.slept == [1.0]


# --- App Home ---------------------------------------------------------------------------------


async def test_app_home_shows_the_ladder_progress_commitments_and_a_resume_button(
    h: Harness,
) -> None:
    await h.interview("U1")
    await h.command("U2")
    await h.press("U2", "B2C")
    await h.say("U2", ANSWERS[0])

    response = await h.slack.open_home("U2")
    await h.settle()

    assert response.status == 200
    [published] = h.api.sent("views.publish")
    text = json.dumps(published.view()["blocks"], ensure_ascii=False)
    assert f"Your team: <#{CHANNEL}>" in text
    assert ":coffee:  *1. Broadcast*   ← you are here" in text
    assert ":white_circle:  4. Publish" in text
    assert "Ann: ▰▰▰▰▰▰▰▰▰ 9/9 (done)" in text
    assert "Bob: ▰▱▱▱▱▱▱▱▱ 1/9 (active)" in text
    assert "Committed actions" in text
    assert "Team rung: Broadcast, from Ann's placement." in text

    await h.slack.press_home("U2", "Resume the interview")
    await h.settle()

    assert "Question 2 of 9" in h.last("U2").text
    assert len(h.api.sent("views.publish")) == 2, "the tab is refreshed after the press"


async def test_app_home_offers_a_stranger_to_start(h: Harness) -> None:
    await h.slack.open_home("U2")
    await h.settle()

    await h.slack.press_home("U2", "Start the interview")
    await h.settle()

    assert "Hi, I'm Coffee Coach" in h.dm("U2")[0].text
    member = h.coach.store.member(MemberKey("slack", TEAM, "U2"))
    assert member is not None
    assert member.address == dm_channel("U2")


# --- proactive sends ----------------------------------------------------------------------------


async def test_the_sender_posts_the_coachs_own_messages_to_a_stored_address(h: Harness) -> None:
    sender = h.app[SENDERS]["slack"]
    assert sender is h.door
    reply = Reply(
        "Time for your check-in!", choices=(Choice("Go", "go", "primary"),), prompt_token="7.1"
    )

    await sender.send(Outgoing(dm_channel("U1"), (reply,), MemberKey("slack", TEAM, "U1")))

    [post] = h.api.sent("chat.postMessage", channel=dm_channel("U1"))
    assert post.args["text"] == "Time for your check-in!"
    assert h.api.message(post).labels() == ["Go"]


async def test_the_sender_raises_when_slack_refuses(h: Harness) -> None:
    h.api.fail_once("chat.postMessage", "channel_not_found")

    with pytest.raises(Exception, match="channel_not_found"):
        await h.door.send(Outgoing("C0404", (Reply("hello"),)))


# --- helpers ------------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def _answer_everything(coach: Coach, user: str) -> None:
    """Arrange a member who finished the interview, straight through the coach."""
    key = MemberKey("slack", TEAM, user, CHANNEL)
    coach.handle(Incoming(key=key, text="start", display_name=f"Member {user}"))
    for text in ("b2b", *ANSWERS, *["1"] * STAGE_CHECK_QUESTIONS, "all"):
        coach.handle(Incoming(key=key, text=text))


# --- who is on which team ---------------------------------------------------------------------

GENERAL = "C0GEN"


def answers(h: Harness, user: str, team: str | None = None) -> dict[str, str]:
    member = h.coach.store.member(MemberKey("slack", TEAM, user, team))
    assert member is not None
    interview = h.coach.store.interview(member)
    assert interview is not None
    return {q: a.text for q, a in interview.answers.items()}


async def in_place(response: aiohttp.ClientResponse, channel: str) -> Message:
    """The ephemeral reply a command got in its ack, as a message its buttons can be pressed on."""
    body = json.loads(await response.text())
    assert body["response_type"] == "ephemeral"
    return Message(channel, "1800000000.000001", body["text"], body.get("blocks") or [])


async def test_a_member_who_began_in_the_dm_keeps_everything_when_their_team_is_known(
    h: Harness,
) -> None:
    hello = await h.say("U1", "hello")
    assert "Type `start` to begin" in hello.text
    await h.say("U1", "start")
    await h.press("U1", "B2B")
    await h.say("U1", ANSWERS[0])

    response = await h.command("U1", "status")

    text = json.loads(await response.text())["text"]
    assert "Everything you answered so far now counts for *marketing*" in text
    assert "1 of 9 questions answered" in text
    assert answers(h, "U1", CHANNEL)["customers"] == ANSWERS[0]
    nxt = await h.say("U1", ANSWERS[1])
    assert "Question 3 of 9" in nxt.text
    assert answers(h, "U1")["value"] == ANSWERS[1]
    assert h.coach.store.members(h.coach.store.team(TeamKey("slack", TEAM, CHANNEL)).id)  # type: ignore[union-attr]


async def test_coffee_in_a_second_channel_answers_for_that_place_and_moves_nobody(
    h: Harness,
) -> None:
    h.api.public_channels.add(GENERAL)
    await h.command("U1")
    await h.press("U1", "B2B")
    await h.say("U1", ANSWERS[0])

    status = await h.command("U1", "status", channel=GENERAL, channel_name="general")
    text = json.loads(await status.text())["text"]
    assert "1 of 9 questions answered" in text
    assert "You answer for *marketing*, not general" in text
    # The interview goes on, for the first team.
    assert "Question 3 of 9" in (await h.say("U1", ANSWERS[1])).text
    assert answers(h, "U1", CHANNEL)["value"] == ANSWERS[1]

    await h.command("U1", "report", channel=GENERAL, channel_name="general")
    [report] = h.api.sent("chat.postMessage", channel=GENERAL)
    assert "Team picture: general" in json.dumps(report.blocks())
    assert h.member("U1", GENERAL) is None


async def test_coffee_in_another_teams_channel_asks_before_the_interview_joins_it(
    h: Harness,
) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    await h.say("U1", ANSWERS[0])

    await h.command("U1", channel=GENERAL, channel_name="general")

    ask = h.last("U1")
    assert "You answer for *marketing*. Should your interview count for *general*" in ask.text
    assert ask.labels() == ["Answer for general", "Keep marketing"]
    kept = await h.press("U1", "Keep marketing")
    assert "Question 2 of 9" in kept.text
    assert h.member("U1", GENERAL) is None

    await h.command("U1", channel=GENERAL, channel_name="general")
    moved = await h.press("U1", "Answer for general")
    assert "Question 2 of 9" in moved.text
    assert any("you answer for *general* now" in m.text for m in h.dm("U1")[-3:])
    assert answers(h, "U1", GENERAL)["customers"] == ANSWERS[0]
    assert h.member("U1", CHANNEL) is None


async def test_coffee_team_shows_the_members_team_and_switches_it_from_another_channel(
    h: Harness,
) -> None:
    await h.interview("U1")

    here = await in_place(await h.command("U1", "team"), CHANNEL)
    assert "You answer for *marketing*." in here.text
    assert here.labels() == []

    there = await in_place(
        await h.command("U1", "team", channel=GENERAL, channel_name="general"), GENERAL
    )
    assert "You answer for *marketing*. Switch to *general* instead?" in there.text
    assert "complete" not in there.text, "a channel hears nothing of anyone's progress"
    await h.press("U1", "Answer for general", there)

    assert "you answer for *general* now" in h.last("U1").text
    member = h.member("U1", GENERAL)
    assert member is not None
    assert h.coach.store.commitments(team_id=member.team.id, member_id=member.id) != []  # type: ignore[attr-defined]
    status = json.loads(
        await (await h.command("U1", "status", channel=GENERAL, channel_name="general")).text()
    )
    assert "Your interview is complete" in status["text"]
    assert "Team general is on rung" in status["text"]


async def test_a_group_dm_is_a_team_only_once_its_members_make_it_one(h: Harness) -> None:
    h.api.add_user("U3", "Cy")
    group = "C0MPDM"
    h.api.add_channel(group, "mpdm-u1--u2--u3-1", members=["U1", "U2", "U3", BOT_USER], mpim=True)
    where = {"channel": group, "channel_name": "mpdm-u1--u2--u3-1"}

    await h.command("U1", "report", **where)

    [note] = h.api.sent("chat.postEphemeral", channel=group)
    assert note.args["user"] == "U1"
    explained = Message(group, "1800000000.000002", note.args["text"], note.blocks())
    assert "This group DM isn't a team" in explained.text
    assert "mpdm" not in explained.text
    assert explained.labels() == ["Make Ann, Bob and Cy a team"]
    assert h.api.sent("chat.postMessage", channel=group) == []

    made = await h.press("U1", "Make Ann, Bob and Cy a team", explained)
    assert "*Ann, Bob and Cy* is a team now, and your answers count for it" in made.text
    await h.command("U1", "report", **where)
    [report] = h.api.sent("chat.postMessage", channel=group)
    assert "Team picture: Ann, Bob and Cy" in json.dumps(report.blocks())


# --- commands are commands --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("frobnicate", "There's no command “frobnicate”; nothing was saved."),
        ("reprot", "Did you mean `report`?"),
        ("report now", "`report` doesn't take “now”; nothing was saved."),
    ],
)
async def test_words_after_coffee_are_never_taken_as_an_answer(
    h: Harness, typed: str, says: str
) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    prompts = len(h.dm("U1"))

    response = await h.command("U1", typed)

    body = json.loads(await response.text())
    assert body["response_type"] == "ephemeral"
    assert says in body["text"]
    assert "`status`" in body["text"] or "`help`" in body["text"]
    assert h.api.sent("chat.postMessage", channel=CHANNEL) == []
    assert "customers" not in answers(h, "U1")
    assert len(h.dm("U1")) == prompts
    assert "Question 2 of 9" in (await h.say("U1", ANSWERS[0])).text


async def test_coffee_export_names_the_formats_it_knows(h: Harness) -> None:
    await h.interview("U1")

    await h.command("U1", "export pdf")

    assert "I can export `md` (a one-page strategy), `json` or `csv`" in h.last("U1").text
    assert "“pdf” isn't one of them" in h.last("U1").text
    assert h.api.sent("files.getUploadURLExternal") == []


async def test_the_usage_hint_lists_every_subcommand() -> None:
    manifest = yaml.safe_load(Path("manifest.yml").read_text())
    [command] = manifest["features"]["slash_commands"]
    hint = command["usage_hint"]
    for sub in SUBCOMMANDS:
        assert sub in hint
    docs = Path("docs/slack.md").read_text().replace("\\|", "|")  # a table cell's escaped bar
    for sub in SUBCOMMANDS:
        assert f"`/coffee {sub}`" in docs, sub


# --- people and places by name ----------------------------------------------------------------


async def test_mentions_channels_and_links_in_an_answer_keep_their_meaning_and_stay_inert(
    h: Harness,
) -> None:
    h.api.add_user("U0SARA", "Sara")
    h.api.add_channel("C0SALES", "sales")
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.say(
        "U1",
        "Hotel buyers, says <@U0SARA> and <#C0SALES>, see <https://hotel.example/rates|our rates>",
    )

    said = answers(h, "U1")["customers"]
    assert (
        said == "Hotel buyers, says @Sara and #sales, see our rates (https://hotel.example/rates)"
    )
    for answer in ANSWERS[1:]:
        await h.say("U1", answer)
    for _ in range(STAGE_CHECK_QUESTIONS):
        await h.press("U1", h.last("U1").labels()[0])
    shown = json.dumps([m.blocks for m in h.dm("U1")])
    assert "@Sara and #sales" in shown
    assert "<@U0SARA>" not in shown and "<#C0SALES>" not in shown


async def test_messages_name_people_and_places_never_their_ids(h: Harness) -> None:
    await h.interview("U1")
    await h.command("U2")

    await h.command("U2", "schedule tuesday")

    refusal = h.last("U2")
    assert "Only the team's lead (<@U1>) or a workspace admin" in refusal.blocks[0]["text"]["text"]
    paused = await h.press("U2", "Pause", h.dm("U2")[0])
    assert "Paused at the first question" in paused.text
    assert "business_model" not in paused.text


async def test_a_private_channel_is_named_by_conversations_info(h: Harness) -> None:
    h.api.add_channel("C0PRIV", "secret-plans")
    h.api.public_channels.add("C0PRIV")

    await h.command("U1", "report", channel="C0PRIV", channel_name="privategroup")

    [report] = h.api.sent("chat.postMessage", channel="C0PRIV")
    assert "Team picture: secret-plans" in json.dumps(report.blocks())
    assert "C0PRIV" not in report.args["text"]


async def test_check_ins_begun_in_the_dm_go_on_for_the_team_the_member_joins(h: Harness) -> None:
    await h.say("U1", "start")
    await h.press("U1", "B2B")
    for answer in ANSWERS:
        await h.say("U1", answer)
    for _ in range(STAGE_CHECK_QUESTIONS):
        await h.press("U1", h.last("U1").labels()[0])
    await h.press("U1", "All of them")
    personal = h.coach.store.member(MemberKey("slack", TEAM, "U1"))
    assert personal is not None and personal.team.personal
    assert h.coach.store.schedule_columns(personal.team.id) is not None

    await h.command("U1", "status")

    team = h.coach.store.team(TeamKey("slack", TEAM, CHANNEL))
    assert team is not None
    assert h.coach.store.schedule_columns(team.id) is not None
    assert h.coach.store.checkin_members(team.id) == [personal.id]


async def test_a_post_the_outbox_kept_from_the_previous_version_is_delivered_as_written(
    h: Harness,
) -> None:
    # Posts written before their bodies were encoded as the turn rendered them: a message's
    # text and blocks, a settle's ts, text and blocks.
    channel = dm_channel("U1")
    asking = [{"type": "section", "text": {"type": "mrkdwn", "text": "Which one?"}}]
    earlier = {"op": "post", "messages": [{"text": "Which one?", "blocks": asking}]}
    await h.door.relay.deliver(Parcel(1, "slack", TEAM, channel, earlier, 1))
    [asked] = h.api.sent("chat.postMessage", channel=channel)
    answered = [{"type": "section", "text": {"type": "mrkdwn", "text": "Which one? *B2B*"}}]
    settle = {
        "op": "settle",
        "ts": asked.result["ts"],
        "text": "Which one?",
        "blocks": answered,
        "messages": [{"text": "And next?", "blocks": asking}],
    }
    await h.door.relay.deliver(Parcel(2, "slack", TEAM, channel, settle, 1))
    [redrawn, following] = h.dm("U1")
    assert (redrawn.ts, redrawn.blocks) == (asked.result["ts"], answered)
    assert following.text == "And next?"

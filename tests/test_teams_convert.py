"""The Teams door's pure converters: activities as Teams sends them in, cards out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.teams.activities import (
    Press,
    address_of,
    parse_activity,
    reference_from,
    to_incoming,
)
from adapters.teams.cards import (
    activity_json,
    answered_card,
    card_activity,
    card_for,
    card_markdown,
    message_markdown,
    prompt_card,
    to_activity,
)
from adapters.teams.names import MAX_CARD_BYTES, MAX_TEXT_CHARS
from bot.messages import (
    Choice,
    Evidence,
    FileOut,
    MemberKey,
    QuestionView,
    Reply,
    StageCard,
    TeamReportCard,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = {"id": "28:bot-app-id", "name": "Coffee Coach"}
SERVICE = "https://smba.trafficmanager.net/emea/"


def teams_activity(**fields: Any) -> Any:
    """A personal-chat message as Teams posts it (recorded shape), with `fields` on top."""
    body = {
        "type": "message",
        "id": "1763800000123",
        "timestamp": "2026-11-23T09:00:00.123Z",
        "localTimestamp": "2026-11-23T09:00:00.123+00:00",
        "localTimezone": "Europe/London",
        "serviceUrl": SERVICE,
        "channelId": "msteams",
        "from": {"id": "29:ann", "name": "Ann Baker", "aadObjectId": "aad-ann"},
        "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": "a:1ann"},
        "recipient": BOT,
        "textFormat": "plain",
        "locale": "en-GB",
        "text": "start",
        "entities": [
            {"type": "clientInfo", "locale": "en-GB", "country": "GB", "timezone": "Europe/London"}
        ],
        "channelData": {"tenant": {"id": TENANT}},
    } | fields
    return parse_activity(body)


def channel_activity(text: str, *mentions: dict[str, Any]) -> Any:
    return teams_activity(
        text=f"<at>Coffee Coach</at>&nbsp;{text}",
        conversation={
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": "19:general@thread.tacv2;messageid=1763800000123",
        },
        entities=[
            {"type": "mention", "text": "<at>Coffee Coach</at>", "mentioned": BOT},
            *mentions,
            {"type": "clientInfo", "locale": "en-GB"},
        ],
        channelData={
            "teamsChannelId": "19:general@thread.tacv2",
            "teamsTeamId": "19:team@thread.tacv2",
            "channel": {"id": "19:general@thread.tacv2"},
            "team": {"id": "19:team@thread.tacv2"},
            "tenant": {"id": TENANT},
        },
    )


# --- in ---------------------------------------------------------------------------------------


def test_a_personal_message_is_the_member_at_their_current_team() -> None:
    incoming = to_incoming(teams_activity())

    assert incoming.key == MemberKey("msteams", TENANT, "29:ann", None)
    assert incoming.text == "start"
    assert incoming.display_name == "Ann Baker"
    assert incoming.timezone == "Europe/London"
    assert incoming.event_id == "a:1ann|1763800000123"
    assert incoming.message_id == "1763800000123"
    assert incoming.team_address is None


def test_the_personal_address_is_a_conversation_reference_with_the_tenant() -> None:
    incoming = to_incoming(teams_activity())

    assert incoming.dm_address is not None
    reference = reference_from(incoming.dm_address)
    assert reference.conversation.id == "a:1ann"
    assert reference.conversation.tenant_id == TENANT
    assert reference.service_url == SERVICE
    assert reference.bot.id == BOT["id"]
    assert reference.user.id == "29:ann"
    assert reference.activity_id is None


def test_a_channel_message_is_the_member_of_the_team_with_the_mention_stripped() -> None:
    incoming = to_incoming(channel_activity("report"))

    assert incoming.key == MemberKey("msteams", TENANT, "29:ann", "19:team@thread.tacv2")
    assert incoming.text == "report"
    assert incoming.dm_address is None
    assert incoming.team_address is not None
    # The team's place is the channel, not the thread this message started.
    assert reference_from(incoming.team_address).conversation.id == "19:general@thread.tacv2"


def test_only_the_bots_own_mention_is_stripped_and_others_keep_their_name_as_text() -> None:
    bob = {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:bob"}}
    activity = channel_activity("report for <at>Bob</at>", bob)

    # Shown again later, `@Bob` names Bob and pings nobody.
    assert to_incoming(activity).text == "report for @Bob"


def test_what_is_written_in_a_channel_or_group_chat_is_a_command_never_an_answer() -> None:
    incoming = to_incoming(channel_activity("report"))

    assert (incoming.command, incoming.shared, incoming.group) == (True, True, False)
    assert (to_incoming(teams_activity()).command, to_incoming(teams_activity()).shared) == (
        False,
        False,
    )


def test_a_group_chat_is_its_own_team() -> None:
    activity = teams_activity(
        conversation={
            "isGroup": True,
            "conversationType": "groupChat",
            "tenantId": TENANT,
            "id": "19:meeting_x@thread.v2",
            "name": "Launch crew",
        }
    )

    incoming = to_incoming(activity)

    assert incoming.key.team == "19:meeting_x@thread.v2"
    assert incoming.team_name == "Launch crew"


def test_the_tenant_comes_from_channel_data_when_the_conversation_lost_it() -> None:
    activity = teams_activity()

    assert activity.conversation.tenant_id is None  # what CloudAdapter's schema keeps
    assert to_incoming(activity).key.workspace == TENANT


def test_a_card_press_carries_its_value_and_prompt_token() -> None:
    data = {"coffeeCoach": {"value": "b2b", "label": "B2B", "prompt": "Who?", "token": "7.3"}}
    incoming = to_incoming(teams_activity(text=None, value=data, replyToId="activity-9"))

    assert incoming.value == "b2b"
    assert incoming.prompt_token == "7.3"
    assert incoming.message_id is None  # a press is not an answer that can be edited


def test_an_edited_message_updates_the_answer_it_gave() -> None:
    first = to_incoming(teams_activity(type="messageUpdate", text="nurses in Leeds"))
    second = to_incoming(teams_activity(type="messageUpdate", text="nurses in York"))

    assert first.edits == "1763800000123"
    assert first.event_id != second.event_id  # two edits of one message are two events


# --- out ----------------------------------------------------------------------------------------


def test_a_question_stacks_its_answers_and_puts_navigation_along_the_bottom() -> None:
    reply = Reply(
        "*Question 1 of 9: Your customers*\nWho are they?",
        choices=(
            Choice("B2B", "b2b"),
            Choice("Both", "both", "primary"),
            Choice("Skip", "skip", nav=True),
            Choice("Pause", "pause", nav=True),
        ),
        prompt_token="4.2",
    )

    card = prompt_card(reply)

    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    assert texts == ["**Question 1 of 9: Your customers**", "Who are they?"]
    rows = [e["actions"] for e in card["body"] if e["type"] == "ActionSet"]
    assert [[a["title"] for a in row] for row in rows] == [["B2B"], ["Both"]]
    assert rows[1][0]["style"] == "positive"
    assert [a["title"] for a in card["actions"]] == ["Skip", "Pause"]
    data = card["actions"][0]["data"]["coffeeCoach"]
    assert data == {"value": "skip", "label": "Skip", "prompt": reply.text, "token": "4.2"}


def test_text_replies_use_teams_markdown() -> None:
    assert message_markdown("*Commands*\n`start`: begin") == "**Commands**\n\n`start`: begin"
    assert card_markdown("type `start` or *help*") == "type **start** or **help**"
    assert message_markdown("2 * 3 * 4") == "2 * 3 * 4"


def test_a_reply_that_only_marks_an_answer_sends_nothing() -> None:
    assert to_activity(Reply("", answered="B2B")) is None


def test_a_markdown_export_is_sent_as_it_is_and_csv_in_a_code_block() -> None:
    markdown = to_activity(Reply("Here.", file=FileOut("team.md", "# Team\n- one\n- two")))
    csv = to_activity(Reply("Here.", file=FileOut("team.csv", "a,b\n1,2", "text/csv")))

    assert markdown is not None and csv is not None
    assert "# Team\n- one\n- two" in markdown.text
    assert "```\na,b\n1,2\n```" in csv.text


def test_a_long_export_is_clipped_to_fit_a_teams_message() -> None:
    activity = to_activity(Reply("Here.", file=FileOut("team.md", "x" * (MAX_TEXT_CHARS * 2))))

    assert activity is not None
    assert len(activity.text) < MAX_TEXT_CHARS + 500
    assert "coffee-coach export" in activity.text


def test_a_stage_card_shows_the_rung_the_evidence_and_the_next_actions() -> None:
    stage = StageCard(
        rung=2,
        stage="Listen",
        summary="You listen before you speak.",
        ladder=("Broadcast", "Listen", "Engage", "Publish"),
        evidence=(Evidence("Listen", "listening", True, "you track mentions weekly"),),
        next_stage="Engage",
        actions=("Reply to every comment within a day",),
    )

    card = card_for(stage)

    texts = json.dumps(card, ensure_ascii=False)
    assert "Rung 2 of 4: Listen" in texts
    assert "✓ you track mentions weekly (Listen)" in texts
    assert "Next actions toward Engage" in texts
    [ladder] = [e for e in card["body"] if e["type"] == "ColumnSet"]
    current = [c["items"][0] for c in ladder["columns"] if c["items"][0].get("color") == "Accent"]
    assert [block["text"] for block in current] == ["Listen"]


@pytest.mark.parametrize("members", [2, 30])
def test_the_team_picture_fits_in_a_teams_message(members: int) -> None:
    names = tuple(f"Member {i}" for i in range(members))
    report = TeamReportCard(
        team="Bakers",
        members=names,
        stage=None,
        placements=tuple((n, "Listen") for n in names),
        questions=tuple(
            QuestionView(q, f"Question {q}", tuple((n, "a long answer " * 60) for n in names))
            for q in range(1, 10)
        ),
        commitments=(),
    )

    card = card_for(report)

    assert len(json.dumps(card, ensure_ascii=False).encode()) <= MAX_CARD_BYTES
    assert "Member 1" in json.dumps(card)


@pytest.mark.parametrize(
    "reply",
    [
        Reply("Plain *text*."),
        Reply("Pick one.", choices=(Choice("B2B", "b2b", "primary"), Choice("B2C", "b2c"))),
        Reply("Here.", file=FileOut("team.csv", "a,b\n1,2", "text/csv")),
    ],
    ids=["text", "prompt", "file"],
)
def test_a_message_is_written_as_msrest_would_write_it(reply: Reply) -> None:
    activity = to_activity(reply)
    assert activity is not None

    assert activity_json(activity) == activity.serialize()


def test_a_redrawn_card_keeps_its_id_in_the_json() -> None:
    activity = card_activity(answered_card(Press("b2b", "B2B", "Pick one.", None), "B2B"))
    activity.id = "activity-7"

    assert activity_json(activity) == activity.serialize()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"from": {"id": "29:bob"}},
        {
            "conversation": {
                "conversationType": "channel",
                "isGroup": True,
                "tenantId": TENANT,
                "id": "19:bakers@thread.tacv2;messageid=1763800000001",
            },
            "channelData": {"tenant": {"id": TENANT}, "team": {"id": "19:bakers@thread.tacv2"}},
        },
        {
            "conversation": {"conversationType": "groupChat", "isGroup": True, "id": "19:chat"},
            "channelData": {},
        },
    ],
    ids=["personal", "personal-without-aad-id", "channel-thread", "group-chat-without-tenant"],
)
def test_an_address_is_the_json_msrest_writes_for_its_conversation_reference(
    fields: dict[str, Any],
) -> None:
    address = address_of(teams_activity(**fields))

    assert json.loads(address) == reference_from(address).serialize()

"""The Slack door's pure converters: Slack payloads to `Incoming`, replies to Block Kit.

No server here: these are functions of their arguments, tested from Slack-shaped data."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.blocks import (
    SlackMessage,
    Upload,
    blocks_for,
    escape,
    fit,
    messages_for,
    plain_text,
    report_blocks,
    settled_blocks,
)
from adapters.slack.payloads import (
    action_incoming,
    command_incoming,
    form_fields,
    malformed,
    message_incoming,
    signature_ok,
)
from bot.messages import (
    Choice,
    Evidence,
    FileOut,
    MemberKey,
    QuestionView,
    Reply,
    StageCard,
    SummaryCard,
    TeamReportCard,
)

LADDER = ("Broadcast", "Listen", "Engage", "Publish")
NAV = (Choice("Skip", "skip", nav=True), Choice("Back", "back", nav=True))


def stage(rung: int = 2) -> StageCard:
    return StageCard(
        rung=rung,
        stage=LADDER[rung - 1],
        summary="You listen before you post.",
        ladder=LADDER,
        evidence=(Evidence("Listen", "listening", True, "You track mentions weekly"),),
        next_stage=LADDER[rung],
        actions=("Reply to every comment within a day",),
    )


def report(members: int = 2, answer: str = "Hospital buyers", more: int = 0) -> TeamReportCard:
    """A team report; `more` adds that many further questions everyone answered."""
    names = tuple(f"Member {n}" for n in range(members))
    extra = tuple(
        QuestionView(3 + n, f"Question {3 + n}", tuple((name, answer) for name in names))
        for n in range(more)
    )
    return TeamReportCard(
        team="marketing",
        members=names,
        stage=stage(),
        placements=tuple((n, "Listen") for n in names),
        questions=(
            QuestionView(1, "Your customers", tuple((n, answer) for n in names), True, ("Zed",)),
            QuestionView(2, "What they value", ()),
            *extra,
        ),
        commitments=(("Member 0", "Post twice a week (open)"),),
    )


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# --- Slack text ---------------------------------------------------------------------------------


def test_escape_turns_slack_control_characters_into_entities() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


@pytest.mark.parametrize(
    ("wire", "typed"),
    [
        ("<@U123|ann> hi", "@ann hi"),
        ("<@U123>", "@U123"),
        ("<!channel> now", "@channel now"),
        ("<!here>", "@here"),
        ("<!subteam^S1|@design>", "@design"),
        ("<#C1|general>", "#general"),
        ("see <https://x.io|x.io>", "see x.io"),
        (
            "see <https://hotel.example/rates|our rates>",
            "see our rates (https://hotel.example/rates)",
        ),
        ("<mailto:a@b.io|a@b.io>", "a@b.io"),
        ("<https://x.io/a?b=1>", "https://x.io/a?b=1"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
    ],
)
def test_plain_text_reads_slack_markup_as_the_member_typed_it(wire: str, typed: str) -> None:
    assert plain_text(wire) == typed


def test_fit_clips_without_cutting_an_entity_in_half() -> None:
    clipped = fit("<" * 10, 12)

    assert clipped == "&lt;&lt;…"


# --- replies as Block Kit -----------------------------------------------------------------------


def test_a_prompt_puts_answers_and_navigation_in_rows_that_carry_its_token() -> None:
    reply = Reply("Pick one", choices=(Choice("B2B", "b2b", "primary"), *NAV), prompt_token="4.7")

    section, answers, nav = blocks_for(reply)

    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": "Pick one"}}
    assert answers["block_id"].startswith("coffee:4.7:")
    assert [(b["text"]["text"], b["value"], b.get("style")) for b in answers["elements"]] == [
        ("B2B", "b2b", "primary")
    ]
    assert [b["text"]["text"] for b in nav["elements"]] == ["Skip", "Back"]
    assert nav["block_id"] != answers["block_id"]


def test_reply_text_is_escaped_so_user_text_never_pings() -> None:
    [section] = blocks_for(Reply("Your answer was: “<!channel>”."))

    assert section["text"]["text"] == "Your answer was: “&lt;!channel&gt;”."


def test_a_long_text_is_split_into_sections_within_slacks_limit() -> None:
    lines = [f"{n}. " + "word " * 50 for n in range(60)]

    blocks = blocks_for(Reply("\n".join(lines)))

    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert "\n".join(b["text"]["text"] for b in blocks) == "\n".join(lines)


def test_a_stage_card_draws_the_ladder_top_rung_first() -> None:
    blocks = blocks_for(Reply("", card=stage(2)))

    ladder = blocks[1]["text"]["text"].split("\n")
    assert ladder == [
        ":white_circle:  4. Publish",
        ":white_circle:  3. Engage",
        ":coffee:  *2. Listen*   ← you are here",
        ":large_green_circle:  1. Broadcast",
    ]
    assert "✓ You track mentions weekly (Listen)" in texts(blocks)
    assert "*Next actions toward Engage*\\n1. Reply to every comment within a day" in texts(blocks)


def test_a_summary_card_has_a_section_per_answer() -> None:
    card = SummaryCard("Your answers", (("1. Customers", "Buyers <b>"), ("2. Value", "skipped")))

    title, first, second = blocks_for(Reply("", card=card))

    assert title["text"]["text"] == "*Your answers*"
    assert first["text"]["text"] == "*1. Customers*\nBuyers &lt;b&gt;"
    assert second["text"]["text"] == "*2. Value*\nskipped"


def test_the_report_shows_members_answers_side_by_side_with_disagreements_and_gaps() -> None:
    blocks = report_blocks(report(members=2))

    assert blocks[0]["text"]["text"] == "Team picture: marketing"
    [question] = [b for b in blocks if "Your customers" in b.get("text", {}).get("text", "")]
    assert ":warning: Members answered differently" in question["text"]["text"]
    assert "No answer yet from Zed" in question["text"]["text"]
    assert [f["text"] for f in question["fields"]] == [
        "*Member 0*\nHospital buyers",
        "*Member 1*\nHospital buyers",
    ]
    assert "_No answers yet._" in texts(blocks)
    assert "*Commitments*\\n• *Member 0*: Post twice a week (open)" in texts(blocks)


def test_a_big_report_stays_within_block_kit_limits() -> None:
    card = report(members=30, answer="<!channel> " + "x" * 20_000, more=13)

    messages = messages_for([Reply("Team picture for marketing.", card=card)])

    assert len(messages) > 1
    for message in messages:
        assert isinstance(message, SlackMessage)
        assert_within_limits(message)
        assert "<!channel>" not in texts(list(message.blocks))


def test_a_turn_is_packed_into_one_message_with_its_question_last() -> None:
    replies = [
        Reply("", answered="B2B"),
        Reply("Now a quick stage check."),
        Reply("How do you post?", choices=(Choice("Often", "often"),), prompt_token="1.2"),
    ]

    [message] = messages_for(replies)

    assert isinstance(message, SlackMessage)
    assert [b["type"] for b in message.blocks] == ["section", "section", "actions"]
    assert message.text == "Now a quick stage check.\nHow do you post?"


def test_two_questions_never_share_a_message() -> None:
    ask = Reply("Again?", choices=(Choice("Yes", "yes"),), prompt_token="1.1")

    assert len(messages_for([ask, ask])) == 2


def test_a_file_is_uploaded_in_its_place_among_the_messages() -> None:
    file = FileOut("strategy.md", "# Strategy")

    before, upload, after = messages_for(
        [Reply("Exporting."), Reply("Here it is <3", file=file), Reply("Anything else?")]
    )

    assert isinstance(before, SlackMessage) and isinstance(after, SlackMessage)
    assert upload == Upload(file, "Here it is &lt;3")


def test_a_pressed_prompt_keeps_its_text_and_shows_the_answer_instead_of_buttons() -> None:
    blocks = blocks_for(Reply("Pick one", choices=(Choice("B2B", "b2b"), *NAV), prompt_token="1"))

    settled = settled_blocks(blocks, "B2B", nav=False)

    assert settled == [
        blocks[0],
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "✓ *B2B*"}]},
    ]
    assert settled_blocks(blocks, "Skip", nav=True)[-1]["elements"][0]["text"] == "→ *Skip*"


# --- Slack payloads to Incoming -------------------------------------------------------------------


def command(channel: str = "C0001", text: str = "", **extra: str) -> dict[str, str]:
    return {
        "command": "/coffee",
        "team_id": "T1",
        "user_id": "U1",
        "user_name": "ann",
        "channel_id": channel,
        "channel_name": "marketing",
        "text": text,
        "trigger_id": "13.37",
        **extra,
    }


def test_coffee_in_a_channel_makes_that_channel_the_team() -> None:
    incoming = command_incoming(command("C0001"), dm="DU1")

    assert incoming.key == MemberKey("slack", "T1", "U1", "C0001")
    assert (incoming.team_address, incoming.team_name) == ("C0001", "marketing")
    assert (incoming.text, incoming.dm_address, incoming.event_id) == (
        "start",
        "DU1",
        "command:13.37",
    )


def test_coffee_in_a_dm_leaves_the_team_to_the_coach() -> None:
    incoming = command_incoming(command("D777", "status", channel_name="directmessage"), dm=None)

    assert incoming.key.team is None
    assert (incoming.team_address, incoming.team_name, incoming.text) == (None, None, "status")


def dm_body(event: dict[str, Any]) -> dict[str, Any]:
    base = {"type": "message", "channel": "DU1", "channel_type": "im"}
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev9", "event": base | event}


def test_a_dm_message_is_an_answer_remembering_its_ts_and_channel() -> None:
    incoming = message_incoming(dm_body({"user": "U1", "text": "<!here> buyers", "ts": "5.5"}))

    assert incoming is not None
    assert incoming.key == MemberKey("slack", "T1", "U1", None)
    assert (incoming.text, incoming.message_id, incoming.dm_address, incoming.event_id) == (
        "@here buyers",
        "5.5",
        "DU1",
        "Ev9",
    )


def test_a_message_edit_names_the_message_it_edits() -> None:
    body = dm_body(
        {
            "subtype": "message_changed",
            "message": {"user": "U1", "text": "new", "ts": "5.5", "edited": {"ts": "6.0"}},
            "previous_message": {"user": "U1", "text": "old", "ts": "5.5"},
        }
    )

    incoming = message_incoming(body)

    assert incoming is not None
    assert (incoming.edits, incoming.text, incoming.message_id) == ("5.5", "new", None)


def test_a_change_that_keeps_the_text_is_not_an_edit() -> None:
    body = dm_body(
        {
            "subtype": "message_changed",
            "message": {"user": "U1", "text": "same", "ts": "5.5", "attachments": [{}]},
            "previous_message": {"user": "U1", "text": "same", "ts": "5.5"},
        }
    )

    assert message_incoming(body) is None


def press_body(block_id: str, container: dict[str, Any]) -> dict[str, Any]:
    action = {"action_id": "coffee.answer.0", "block_id": block_id, "value": "b2b"}
    return {
        "type": "block_actions",
        "user": {"id": "U1", "team_id": "T1"},
        "team": {"id": "T1"},
        "container": container,
        "actions": [action],
    }


def test_a_press_carries_its_value_and_prompt_token_and_is_keyed_per_member() -> None:
    container = {"type": "message", "channel_id": "DU1", "message_ts": "7.1"}

    incoming = action_incoming(press_body("coffee:12.3:answer0", container))

    assert incoming is not None
    assert (incoming.value, incoming.prompt_token) == ("b2b", "12.3")
    assert incoming.event_id == "press:DU1:7.1:U1"
    assert (incoming.key.team, incoming.dm_address) == (None, "DU1")


def test_a_press_on_the_app_home_has_no_token_and_goes_to_the_given_dm() -> None:
    incoming = action_incoming(press_body("coffee-home", {"type": "view"}), dm="DU1")

    assert incoming is not None
    assert (incoming.prompt_token, incoming.event_id, incoming.dm_address) == (None, None, "DU1")


def test_a_press_on_someone_elses_button_is_not_for_the_coach() -> None:
    body = press_body("x", {"type": "message"})
    body["actions"][0]["action_id"] = "other.app"

    assert action_incoming(body) is None


# --- requests ---------------------------------------------------------------------------------


def signature(secret: str, stamp: str, body: bytes) -> str:
    signed = b"v0:" + stamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("secret", "stamp", "now", "valid"),
    [
        ("s", "1000", 1000.0, True),
        ("s", "1000", 1299.0, True),
        ("s", "1000", 1301.0, False),
        ("s", "1400", 1000.0, False),
        ("other", "1000", 1000.0, False),
    ],
)
def test_a_signature_is_valid_only_from_the_secret_within_five_minutes(
    secret: str, stamp: str, now: float, valid: bool
) -> None:
    body = b"token=x&text=hi"

    result = signature_ok(
        "s", body, timestamp=stamp, signature=signature(secret, stamp, body), now=now
    )

    assert result is valid


@pytest.mark.parametrize(
    ("stamp", "sig"),
    [
        ("²", "v0=00"),  # a digit to str.isdigit(), not to int()
        ("1" * 5_000, "v0=00"),  # past int()'s digit limit
        ("1000", "v0=é"),  # hmac.compare_digest refuses non-ASCII str
        ("١٠٠٠", "v0=00"),  # Arabic-Indic digits
    ],
)
def test_a_hostile_timestamp_or_signature_is_refused_not_raised(stamp: str, sig: str) -> None:
    assert not signature_ok("s", b"{}", timestamp=stamp, signature=sig, now=1000.0)


def test_a_signature_with_no_timestamp_or_no_secret_is_refused() -> None:
    assert not signature_ok("s", b"", timestamp="", signature=signature("s", "", b""), now=0)
    assert not signature_ok("", b"", timestamp="1", signature=signature("", "1", b""), now=1)


@pytest.mark.parametrize(
    "body",
    [
        {
            "command": "/coffee",
            "team_id": "T",
            "user_id": "U",
            "channel_id": "C",
            "trigger_id": "t",
        },
        {"ssl_check": "1", "token": "x"},
        {"type": "url_verification", "challenge": "c"},
        {"type": "event_callback", "event_id": "Ev1", "team_id": "T", "event": {"type": "x"}},
        {"type": "block_actions", "user": {"id": "U"}, "actions": [{"action_id": "a"}]},
    ],
)
def test_requests_slack_sends_are_well_formed(body: dict[str, Any]) -> None:
    assert malformed(body) is None


# --- helpers ----------------------------------------------------------------------------------


def assert_within_limits(message: SlackMessage) -> None:
    """Block Kit's documented limits for what the door sends."""
    assert len(message.blocks) <= 50
    assert len(message.text) <= 3000
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
        for element in block.get("elements", []):
            text = element["text"] if isinstance(element["text"], str) else element["text"]["text"]
            assert len(text) <= (75 if element["type"] == "button" else 3000)


# --- form bodies --------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.text(max_size=40)),
        max_size=5,
    ),
    st.booleans(),
)
def test_form_fields_reads_a_form_exactly_as_urllib_does(
    pairs: list[tuple[str, str]], raw: bool
) -> None:
    # Encoded as a client encodes it, or joined raw (stray `%`, `=`, `+`, `&`, non-ASCII).
    text = "&".join(f"{k}={v}" for k, v in pairs) if raw else urlencode(pairs)
    assert form_fields(text) == dict(parse_qsl(text, keep_blank_values=True))


@pytest.mark.parametrize(
    "text",
    ["a=100%", "a=%zz&b=1", "a=%4", "a=x%0Ay\nb=2", "a=1\r\n", "a=caf\u00e9", "a=%41%42"],
)
def test_form_fields_leaves_what_it_cannot_decode_to_urllib(text: str) -> None:
    assert form_fields(text) == dict(parse_qsl(text, keep_blank_values=True))


def test_form_fields_reads_a_press_payload_with_its_json() -> None:
    payload = {"type": "block_actions", "text": 'Say "hi" = 100% & more +1 ☕'}
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    assert json.loads(form_fields(body)["payload"]) == payload

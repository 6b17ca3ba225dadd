# ruff: noqa: F811 (pytest fixtures imported from the door's tests, named as arguments)
"""What a Slack member meets in the first ten minutes, over real HTTP: a long report whose
every message says which question it shows, an empty team picture that says how to take
part, one DM delivered twice applied once, and commitments ticked as checkboxes."""

from __future__ import annotations

import json
import re
from typing import Any

from adapters.slack.blocks import escape
from adapters.slack.names import EMPTY_TEAM, MAX_BLOCKS
from bot.messages import MemberKey
from bot.store import Member
from tests.fakes.slack_api import TEAM, Message
from tests.interview import run_interview
from tests.test_slack_door import (  # noqa: F401 (fixtures)
    ANSWERS,
    CHANNEL,
    STAGE_CHECK_QUESTIONS,
    Harness,
    api,
    h,
)

_HEADING = re.compile(r"^\*(\d+\. [^*]+|[A-Z][^*]+)\*")


def heading_of(block: dict[str, Any]) -> str | None:
    """The question a report section starts with, if it starts with one."""
    text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
    found = _HEADING.match(text)
    return found.group(1) if found else None


async def test_a_report_split_across_messages_starts_each_with_its_questions_heading(
    h: Harness,
) -> None:
    # Enough members that each question needs four sections (ten answers in each), and the
    # first message ends inside a question.
    for n in range(31):
        run_interview(h.coach, MemberKey("slack", TEAM, f"UM{n:02d}", CHANNEL))

    await h.command("U1", "report")

    posts = h.api.sent("chat.postMessage", channel=CHANNEL)
    assert len(posts) > 1
    # Each question's first section carries its heading, and its answers as fields.
    shown = [b for post in posts for b in post.blocks()]
    titles = {heading_of(b) for b in shown if b.get("fields") and "text" in b}
    assert "4. The sales pathway" in titles
    continued = []
    for post in posts:
        blocks = post.blocks()
        assert len(blocks) <= MAX_BLOCKS
        for i, block in enumerate(blocks):
            if block.get("fields") and "text" not in block:
                # More answers to the question above: never the first thing in a message.
                assert i > 0, "a message starts in the middle of a question"
        first = blocks[0]
        if first is not blocks[-1] and "(continued)" in json.dumps(first):
            continued.append(heading_of(first))
            assert blocks[1].get("fields") and "text" not in blocks[1]
    assert continued and set(continued) <= titles


async def test_an_empty_team_picture_says_how_to_take_part(h: Harness) -> None:
    await h.command("U1", "report", channel="C0NEW", channel_name="launch")

    [post] = h.api.sent("chat.postMessage", channel="C0NEW")
    shown = json.dumps(post.blocks())
    assert EMPTY_TEAM in [b.get("text", {}).get("text") for b in post.blocks()]
    assert "`/coffee`" in shown
    assert "Your customers" not in shown
    assert "No answers yet" not in shown


async def test_one_dm_delivered_under_two_event_ids_is_applied_once(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    before = len(h.dm("U1"))
    event = h.slack.dm_event("U1", ANSWERS[0])

    first = await h.slack.event(event, event_id="Ev0FIRST")
    again = await h.slack.event(event, event_id="Ev0AGAIN")
    await h.settle()

    assert (first.status, again.status) == (200, 200)
    assert len(h.dm("U1")) == before + 1
    assert "Question 2 of 9" in h.last("U1").text
    member = h.member("U1")
    assert member is not None
    interview = h.coach.store.interview(member)  # type: ignore[arg-type]
    assert interview is not None
    assert interview.answers["customers"].version == 1


async def test_two_messages_with_the_same_text_are_two_answers(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")

    await h.say("U1", "hospitals")  # a vague answer earns a follow-up
    await h.say("U1", "hospitals")  # the same words again, a new message: an answer

    assert "Question 2 of 9" in h.last("U1").text


async def to_the_commitments(h: Harness, user: str) -> Message:
    """An interview up to its last prompt, the commitments; that prompt's message."""
    await h.command(user)
    await h.press(user, "B2B")
    for answer in ANSWERS:
        await h.say(user, answer)
    for _ in range(STAGE_CHECK_QUESTIONS):
        await h.press(user, h.last(user).labels()[0])
    return h.last(user)


async def test_commitments_are_checkboxes_and_one_press_commits_to_every_ticked_one(
    h: Harness,
) -> None:
    prompt = await to_the_commitments(h, "U1")
    [(_, boxes)] = prompt.checkboxes()
    assert [o["value"] for o in boxes["options"]][:2] == ["1", "2"]
    assert "Commit to these" in prompt.labels()
    assert_within_block_kit_limits(prompt.blocks)

    ticking = await h.slack.tick("U1", prompt, ["1", "2"])
    await h.settle()
    assert ticking.status == 200
    assert h.last("U1") == prompt  # a tick answers nothing

    response = await h.slack.press("U1", prompt, "Commit to these", ticked=["1", "2"])
    await h.settle()

    assert response.status == 200
    member = h.member("U1")
    assert isinstance(member, Member)
    committed = h.coach.store.commitments(team_id=member.team.id, member_id=member.id)
    labels = [o["text"]["text"] for o in boxes["options"]]
    assert len(committed) == 2
    assert [f"{n}. {c.action}"[:40] for n, c in enumerate(committed, 1)] == [
        label[:40] for label in labels[:2]
    ]
    settled = h.api.conversation(prompt.channel)[-2]
    assert settled.ts == prompt.ts and settled.checkboxes() == []
    shown = "All of them" if len(labels) == 2 else "Committed to 1 and 2"
    assert f"✓ *{shown}*" in json.dumps(settled.blocks, ensure_ascii=False)
    assert "Committed:" in h.last("U1").text


async def test_commitments_typed_as_numbers_still_work_in_slack(h: Harness) -> None:
    await to_the_commitments(h, "U1")

    await h.say("U1", "1 2")

    member = h.member("U1")
    assert isinstance(member, Member)
    assert len(h.coach.store.commitments(team_id=member.team.id, member_id=member.id)) == 2


def assert_within_block_kit_limits(blocks: list[dict[str, Any]]) -> None:
    """The limits Slack enforces on what the coach sends: 50 blocks, option and button
    texts of 75 characters, ten options to a checkbox group, 25 elements in a row."""
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                if element["type"] == "button":
                    assert len(element["text"]["text"]) <= 75
                if element["type"] == "checkboxes":
                    assert 1 <= len(element["options"]) <= 10
                    for option in element["options"]:
                        assert len(option["text"]["text"]) <= 75
                        assert len(option["value"]) <= 150


async def test_back_in_the_dm_shows_the_answer_being_revisited(h: Harness) -> None:
    await h.command("U1")
    await h.press("U1", "B2B")
    await h.say("U1", ANSWERS[0])

    await h.say("U1", "back")

    revisited = h.last("U1")
    assert f"Your answer was: “{escape(ANSWERS[0])}”" in revisited.text
    assert revisited.text.index("Your answer was") < revisited.text.index("Question 1 of 9")

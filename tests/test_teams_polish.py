# ruff: noqa: F811 (pytest fixtures imported from the door's tests, named as arguments)
"""What a Teams member meets in the first ten minutes, over real HTTP: one greeting, headings
that stay headings, an empty team picture that says how to take part, commitments ticked in
one multi-select, and every card valid against the Adaptive Cards 1.5 schema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

from adapters.teams.cards import to_activity
from bot.engine import Coach
from bot.messages import Choice, MemberKey, Options, Reply, SummaryCard
from tests.fakes.bot_connector import TENANT, Call, FakeBotConnector, TeamsService
from tests.test_teams_door import (  # noqa: F401 (fixtures)
    ANN,
    ANSWERS,
    BAKERS,
    BOB,
    app,
    bot_url,
    interview,
    prompts,
    teams,
    waits,
)

# Microsoft's schema, copied into the repository; tests/schemas/README.md names the source.
SCHEMA = Path(__file__).resolve().parent / "schemas" / "adaptive-card-1.5.schema.json"
VALIDATOR = jsonschema.Draft6Validator(json.loads(SCHEMA.read_text()))


def assert_valid(card: dict[str, Any]) -> None:
    """Valid Adaptive Card 1.5; `msteams` is Teams' own host extension, outside the schema."""
    host = card.get("msteams")
    assert host in (None, {"width": "Full"})
    plain = {key: value for key, value in card.items() if key != "msteams"}
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(plain)]
    assert errors == [], errors


def elements(element: Any) -> Iterator[dict[str, Any]]:
    if isinstance(element, dict):
        yield element
        for key in ("body", "items", "columns", "actions", "inlines"):
            for child in element.get(key, ()):
                yield from elements(child)


def text_blocks(card: dict[str, Any]) -> list[str]:
    """What Teams reads as markdown: the text of every TextBlock."""
    return [str(e["text"]) for e in elements(card) if e.get("type") == "TextBlock"]


def text_runs(card: dict[str, Any]) -> list[str]:
    """What Teams shows as it is: the text of every TextRun."""
    return [str(e["text"]) for e in elements(card) if e.get("type") == "TextRun"]


def cards(calls: list[Call]) -> list[dict[str, Any]]:
    return [c.card for c in calls if c.card is not None]


async def test_a_personal_install_greets_once_then_asks_the_first_question(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.install(chat, ANN)
    [welcome] = connector.posts()

    calls = await teams.exchange(teams.submit(ANN, chat, welcome, "Start"))

    seen = [welcome, *(c for c in calls if c.is_post())]
    greetings = [c for c in seen if "Hi, I'm Coffee Coach" in c.everything]
    assert greetings == [welcome]
    [question] = prompts(calls)
    assert "does your business mainly sell" in question.everything


async def test_typing_start_after_the_welcome_does_not_greet_again(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.install(chat, ANN)

    calls = await teams.exchange(teams.message(ANN, chat, "start"))

    assert [c for c in calls if "Hi, I'm" in c.everything] == []
    assert "B2B" in [b["title"] for b in prompts(calls)[0].buttons]


async def test_question_titles_are_headings_never_numbered_list_items(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.channel(BAKERS, "Bakers")
    await teams.install(chat, ANN)
    await teams.exchange(teams.message(ANN, chat, "start", mention=True))
    calls = await interview(teams, ANN, teams.personal_chat(ANN))
    summary = next(c.card for c in calls if c.card and "Your answers" in c.everything)
    [report] = await teams.exchange(teams.message(ANN, chat, "report", mention=True))
    assert summary is not None and report.card is not None

    titles = [f"{q.number}. {q.title}" for q in coach.interview.questions]
    assert "4. The sales pathway" in titles
    for card in (summary, report.card):
        assert set(titles) <= set(text_runs(card))
        assert [t for t in text_blocks(card) if t in titles] == []
    # The next actions keep their numbers as text too, never one list item each.
    assert [t for t in text_blocks(report.card) if re.match(r"\d+\. ", t)] == []
    assert [t for t in text_runs(report.card) if t.startswith("1. ") and t not in titles]


async def test_an_empty_team_picture_says_how_to_take_part(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.channel("19:launch@thread.tacv2", "Launch crew")
    await teams.install(chat, ANN)

    [report] = await teams.exchange(teams.message(BOB, chat, "report", mention=True))

    assert report.card is not None
    shown = report.everything
    assert "Team Launch crew" in shown
    assert "Nobody here has answered yet" in shown
    assert "**@Coffee Coach start**" in shown
    assert "Your customers" not in shown
    assert len(report.card["body"]) <= 4


async def test_every_card_of_an_interview_and_its_reports_is_valid_adaptive_card_1_5(
    teams: TeamsService, connector: FakeBotConnector
) -> None:
    chat = teams.channel(BAKERS, "Bakers")
    await teams.install(chat, ANN)
    empty = await teams.exchange(teams.message(ANN, chat, "report", mention=True))
    await teams.exchange(teams.message(ANN, chat, "start", mention=True))
    calls = await interview(teams, ANN, teams.personal_chat(ANN))
    report = await teams.exchange(teams.message(ANN, chat, "report", mention=True))

    shown = cards([*connector.calls, *empty, *calls, *report])
    assert len(shown) > 15
    for card in shown:
        assert_valid(card)


async def to_the_commitments(teams: TeamsService) -> Call:
    """Ann's interview in the personal chat up to the commitments; that card's call."""
    chat = teams.personal_chat(ANN)
    calls = await teams.exchange(teams.message(ANN, chat, "start"))
    calls = await teams.exchange(teams.submit(ANN, chat, prompts(calls)[-1], "B2B"))
    for answer in ANSWERS[:-1]:
        await teams.exchange(teams.message(ANN, chat, answer))
    calls = await teams.exchange(teams.message(ANN, chat, ANSWERS[-1]), replies=2)
    for _ in range(5):
        question = prompts(calls)[-1]
        calls = await teams.exchange(
            teams.submit(ANN, chat, question, question.buttons[0]["title"])
        )
    question = prompts(calls)[-1]
    calls = await teams.exchange(
        teams.submit(ANN, chat, question, question.buttons[0]["title"]), replies=3
    )
    return prompts(calls)[-1]


async def test_commitments_are_a_multi_select_and_one_submit_commits_to_every_ticked_one(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    commit = await to_the_commitments(teams)
    assert commit.card is not None
    assert_valid(commit.card)
    [picker] = commit.inputs()
    assert picker["isMultiSelect"] is True
    values = [c["value"] for c in picker["choices"]]
    assert values[:2] == ["1", "2"]
    assert "Commit to these" in [b["title"] for b in commit.buttons]

    calls = await teams.exchange(
        teams.submit(ANN, teams.personal_chat(ANN), commit, "Commit to these", ticked=["1", "2"]),
        replies=2,
    )

    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None
    committed = coach.store.commitments(team_id=member.team.id, member_id=member.id)
    titles = [c["title"] for c in picker["choices"]]
    assert [f"{n}. {c.action}" for n, c in enumerate(committed, 1)] == titles[:2]
    [redraw] = [c for c in calls if c.is_update()]
    shown = "All of them" if len(values) == 2 else "Committed to 1 and 2"
    assert f"✓ {shown}" in redraw.card_texts
    assert redraw.inputs() == []
    assert any("Committed:" in c.text for c in calls)


async def test_commit_with_nothing_ticked_asks_again_and_commits_to_nothing(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    commit = await to_the_commitments(teams)

    calls = await teams.exchange(
        teams.submit(ANN, teams.personal_chat(ANN), commit, "Commit to these"), replies=2
    )

    [redraw] = [c for c in calls if c.is_update()]
    assert "✓ Nothing ticked" in redraw.card_texts
    assert any("Tick the steps you'll take first" in c.text for c in calls if c.is_post())
    [again] = prompts(calls)
    assert again.inputs() != []
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None
    assert coach.store.commitments(team_id=member.team.id, member_id=member.id) == []


def test_options_alone_still_make_a_card_with_its_multi_select() -> None:
    reply = Reply("Which ones?", options=Options((Choice("1. Post", "1"),), submit="Send"))

    activity = to_activity(reply)

    assert activity is not None and activity.attachments
    card = activity.attachments[0].content
    assert_valid(card)
    [picker] = [e for e in elements(card) if e.get("type") == "Input.ChoiceSet"]
    assert picker["choices"] == [{"title": "1. Post", "value": "1"}]


def test_a_members_answers_in_their_summary_are_never_read_as_markdown() -> None:
    typed = "1. [our site](http://evil.example) and ![x](http://evil.example/x.png)"
    reply = Reply("Here's what you told me.", card=SummaryCard("Your answers", (("Q1", typed),)))

    activity = to_activity(reply)

    assert activity is not None and activity.attachments
    card = activity.attachments[0].content
    assert_valid(card)
    assert typed in text_runs(card)
    assert [t for t in text_blocks(card) if "evil.example" in t] == []

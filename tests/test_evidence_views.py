"""Quoted evidence on every platform: the member's words shown, inert, with their source."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.blocks import report_blocks, stage_blocks
from adapters.teams.cards import card_for, evidence_block, report_body
from bot.messages import Cited, Evidence, QuestionView, StageCard, TeamReportCard
from bot.render import evidence_line, report_lines, stage_lines

HOSTILE = "we track <!channel> mentions [Reset your password](https://evil.example/login) ![x](http://x/y.png)"
EVIDENCE = Evidence(
    "Listen",
    "listens",
    True,
    "listens to its audience and competitors",
    (
        Cited(HOSTILE, "Q7"),
        Cited("Regularly, with a tool or routine", "stage check", picked=True),
    ),
)
CARD = StageCard(
    rung=2,
    stage="Listen",
    summary="",
    ladder=("Broadcast", "Listen", "Engage", "Publish"),
    evidence=(EVIDENCE,),
    next_stage="Engage",
    actions=("Reply to every comment on LinkedIn within one working day.",),
)


def test_the_terminal_quotes_the_words_and_names_the_question_and_the_pick() -> None:
    line = evidence_line(EVIDENCE)
    assert line.startswith("✓ listens to its audience and competitors (Listen): “we track")
    assert "” (Q7); you picked “Regularly, with a tool or routine”" in line
    assert any("(Q7)" in text for text in stage_lines(CARD))


def test_slack_shows_quoted_words_without_pinging_anyone() -> None:
    rendered = json.dumps(stage_blocks(CARD))
    assert "&lt;!channel&gt;" in rendered
    assert "<!channel>" not in rendered
    assert "(Q7)" in rendered and "you picked" in rendered


def _runs(element: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in element["inlines"] if i["type"] == "TextRun"]


def test_teams_puts_member_words_in_text_runs_that_never_render_links_or_images() -> None:
    block = evidence_block(EVIDENCE)
    assert block["type"] == "RichTextBlock"
    quoted = [r for r in _runs(block) if HOSTILE in r["text"]]
    assert quoted and quoted[0].get("italic")
    # No TextBlock (the markdown-rendering element) carries the member's words.
    card = json.dumps(card_for(CARD))
    for text_block in _text_blocks(json.loads(card)):
        assert "evil.example" not in text_block["text"]


def _text_blocks(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            found.append(node)
        for value in node.values():
            found += _text_blocks(value)
    elif isinstance(node, list):
        for value in node:
            found += _text_blocks(value)
    return found


def test_the_team_summary_leads_the_report_on_every_platform_and_stays_inert() -> None:
    report = TeamReportCard(
        team="bakers",
        members=("Ann", "Bob"),
        stage=CARD,
        placements=(("Ann", "Listen"), ("Bob", "Engage")),
        questions=(),
        commitments=(),
        summary=(
            "Members disagree on networks: Ann names <!here>; Bob names [x](http://e.example).",
        ),
    )
    assert report_lines(report)[1].startswith("Members disagree on networks")
    slack = json.dumps(report_blocks(report))
    assert "&lt;!here&gt;" in slack and "<!here>" not in slack
    body = report_body(report, clip=200)
    assert any(b["type"] == "RichTextBlock" and "e.example" in _runs(b)[0]["text"] for b in body)
    assert not any("e.example" in b["text"] for b in _text_blocks(body))


def _facts(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = node.get("facts", []) if node.get("type") == "FactSet" else []
        return [*own, *(f for value in node.values() for f in _facts(value))]
    if isinstance(node, list):
        return [f for value in node for f in _facts(value)]
    return []


def test_teams_report_answers_and_commitments_never_become_links_or_images() -> None:
    report = TeamReportCard(
        team="Bakers",
        members=("Ann",),
        stage=None,
        placements=(("Ann", "Listen"),),
        questions=(QuestionView(1, "Customers", (("Ann", HOSTILE),)),),
        commitments=(("Ann", HOSTILE),),
    )
    facts = _facts(report_body(report, clip=500))
    values = [fact["value"] for fact in facts]
    assert any("Reset your password" in value for value in values)
    assert all("](" not in value and "![" not in value for value in values)

"""The team picture: answers side by side, disagreements, gaps and the team's rung."""

from __future__ import annotations

import csv
import io
import json
import re

from bot.engine import Coach
from bot.export import export_team
from bot.messages import Incoming, MemberKey, TeamKey
from bot.report import team_report
from bot.store import Store
from bot.summary import texts_disagree
from tests.interview import ANSWERS, run_interview


def key(user: str) -> MemberKey:
    return MemberKey("console", "local", user, "bakers")


def test_members_naming_different_audiences_is_flagged_as_disagreement(
    coach: Coach, store: Store
) -> None:
    run_interview(coach, key("ann"), rung=3)
    run_interview(
        coach, key("bob"), rung=2, answers={"customers": "enterprise IT procurement managers"}
    )
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    card = team_report(coach, team)
    by_title = {q.title: q for q in card.questions}
    assert by_title["Your customers"].disagreement
    assert dict(by_title["Your customers"].answers) == {
        "ann": ANSWERS["customers"],
        "bob": "enterprise IT procurement managers",
    }
    assert not by_title["What they value"].disagreement
    assert by_title["Conversations"].disagreement  # "joins" against "questions"
    assert set(card.members) == {"ann", "bob"}
    assert dict(card.placements) == {"ann": "Engage", "bob": "Listen"}
    assert card.stage is not None and card.stage.stage == "Listen"


def test_questions_a_member_skipped_or_has_not_reached_are_gaps(coach: Coach, store: Store) -> None:
    run_interview(coach, key("ann"))
    coach.handle(Incoming(key=key("cat"), text="start"))
    coach.handle(Incoming(key=key("cat"), text="b2b"))
    coach.handle(Incoming(key=key("cat"), text="skip"))
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    card = team_report(coach, team)
    customers = next(q for q in card.questions if q.number == 1)
    assert customers.gaps == ("cat",)
    assert dict(card.placements) == {"ann": "Engage"}


def test_similar_wording_is_not_a_disagreement() -> None:
    assert not texts_disagree(["small bakeries in Leeds", "bakery owners around Leeds"])
    assert texts_disagree(["small bakeries in Leeds", "enterprise IT buyers"])


def test_exports_hold_the_same_answers_in_each_format(coach: Coach, store: Store) -> None:
    run_interview(coach, key("ann"))
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    data = json.loads(export_team(coach, team, "json")[0])
    texts = {a["text"] for a in data["members"][0]["conversations"][0]["answers"]}
    assert ANSWERS["growth"] in texts
    rows = list(csv.DictReader(io.StringIO(export_team(coach, team, "csv")[0])))
    assert {r["answer"] for r in rows} == texts
    markdown = export_team(coach, team, "md")[0]
    assert "## Next actions (toward Publish)" in markdown
    assert f"- **ann:** {ANSWERS['growth']}" in markdown


def test_the_report_opens_with_the_split_and_the_disagreements_a_consultant_would_flag(
    coach: Coach, store: Store
) -> None:
    run_interview(coach, key("ann"), model="b2b", rung=2)
    run_interview(
        coach,
        key("bob"),
        model="b2c",
        rung=2,
        answers={
            "customers": "parents of toddlers around Leeds",
            "networks": "TikTok and Pinterest for young parents",
        },
    )
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    card = team_report(coach, team)
    assert card.summary[0] == (
        "Members see the business differently (B2B or B2C): ann: B2B; bob: B2C."
    )
    assert any(line.startswith("Members disagree on customers: ann names") for line in card.summary)
    assert any(
        line.startswith("Members disagree on networks: ann names Instagram and LinkedIn")
        for line in card.summary
    )
    assert card.summary[-1].startswith("Settle first: whether you sell to businesses")
    markdown = export_team(coach, team, "md")[0]
    assert "> Members see the business differently" in markdown


def test_member_words_in_the_markdown_export_are_inert(coach: Coach, store: Store) -> None:
    link = "[Reset your password](https://evil.example/login) <img src=x>"
    run_interview(coach, key("ann"), answers={"growth": link})
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    markdown = export_team(coach, team, "md")[0]
    assert not re.search(r"(?<!\\)\]\(https://evil|(?<!\\)<img", markdown)
    assert "\\[Reset your password\\]\\(https://evil.example/login\\) \\<img src=x\\>" in markdown


def test_member_text_in_the_csv_export_is_never_a_formula(coach: Coach, store: Store) -> None:
    formulas = {
        "customers": '=HYPERLINK("https://evil.example","click here now")',
        "value": "@SUM(1+1)*cmd|' /C calc'!A0",
        "experience": "+1 555 0100 and a video",
        "pathway": "-being trusted by buyers",
    }
    run_interview(coach, key("ann"), answers=formulas)
    team = store.team(TeamKey("console", "local", "bakers"))
    assert team is not None
    rows = list(csv.DictReader(io.StringIO(export_team(coach, team, "csv")[0])))
    by_question = {r["question"]: r["answer"] for r in rows}
    for question, text in formulas.items():
        assert by_question[question] == "'" + text
    assert by_question["growth"] == ANSWERS["growth"]

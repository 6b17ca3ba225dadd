"""Placement on the ladder: every rung, the evidence for it, and actions worded for B2B or B2C."""

from __future__ import annotations

import pytest

from bot.engine import Coach
from bot.ladder import team_rung
from bot.messages import MemberKey, StageCard
from tests.interview import run_interview


def stage_card(coach: Coach, key: MemberKey, **kw: object) -> StageCard:
    turns = run_interview(coach, key, **kw)  # type: ignore[arg-type]
    return next(r.card for t in turns for r in t.replies if isinstance(r.card, StageCard))


@pytest.mark.parametrize(
    ("rung", "stage", "next_stage"),
    [(1, "Broadcast", "Listen"), (2, "Listen", "Engage"), (3, "Engage", "Publish"),
     (4, "Publish", None)],
)  # fmt: skip
def test_each_rung_is_reached_with_evidence_and_next_actions(
    coach: Coach, rung: int, stage: str, next_stage: str | None
) -> None:
    card = stage_card(coach, MemberKey("console", "local", f"u{rung}", "t"), rung=rung)
    assert (card.rung, card.stage, card.next_stage) == (rung, stage, next_stage)
    assert 2 <= len(card.actions) <= 4
    met = {e.criterion for e in card.evidence if e.met}
    unmet = {e.criterion for e in card.evidence if not e.met}
    if rung == 4:
        assert not unmet
    else:
        # The next rung has at least one criterion the team does not meet, and it says why.
        assert any(e.stage == next_stage and not e.met for e in card.evidence)
    if rung >= 2:
        assert {"listens", "tailors", "has_objectives"} <= met
    for evidence in card.evidence:
        assert evidence.cited, f"{evidence.criterion} cites nothing"


def test_no_measurable_objective_means_no_publish_rung_whatever_else(coach: Coach) -> None:
    card = stage_card(
        coach,
        MemberKey("console", "local", "vague", "t"),
        rung=4,
        answers={"success": "when it feels like people like us"},
    )
    assert card.stage == "Engage"
    measured = next(e for e in card.evidence if e.criterion == "measured")
    assert not measured.met and "no measurable objective" in measured.because
    assert any("SMART" in action for action in card.actions)


def test_actions_are_worded_for_b2b_or_b2c(coach: Coach) -> None:
    b2b = stage_card(coach, MemberKey("console", "local", "b", "t"), rung=1, model="b2b")
    b2c = stage_card(coach, MemberKey("console", "local", "c", "t"), rung=1, model="b2c")
    assert b2b.actions != b2c.actions
    assert any("LinkedIn" in a or "prospects" in a for a in b2b.actions)
    assert any("hashtags" in a or "customer" in a for a in b2c.actions)


def test_the_team_rung_is_the_cautious_median() -> None:
    assert team_rung([]) is None
    assert team_rung([3]) == 3
    assert team_rung([1, 4]) == 1
    assert team_rung([2, 3, 4]) == 3
    assert team_rung([1, 2, 3, 4]) == 2

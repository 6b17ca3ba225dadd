"""The consultant's summary at the top of the team picture."""

from __future__ import annotations

from bot.reader import Facts, Reading
from bot.summary import MemberView, summary_lines, texts_disagree, things_disagree


def view(name: str, model: str, stage: str | None = None, **facts: tuple[str, ...]) -> MemberView:
    return MemberView(name, model, Reading((), Facts(**facts)), stage)  # type: ignore[arg-type]


def test_answers_that_share_a_word_but_say_opposite_things_disagree() -> None:
    assert texts_disagree(["local businesses and investors", "businesses don't follow us at all"])


def test_answers_naming_the_same_things_in_other_words_agree() -> None:
    assert not texts_disagree(["small bakeries in Leeds", "bakery owners around Leeds"])
    assert not texts_disagree(["we don't post on TikTok", "no TikTok for us"])


def test_members_naming_nothing_in_common_disagree() -> None:
    assert things_disagree([frozenset({"linkedin"}), frozenset({"tiktok", "instagram"})])
    assert not things_disagree([frozenset({"linkedin"}), frozenset({"linkedin", "x"})])
    assert not things_disagree([frozenset({"linkedin"}), frozenset()])


def test_a_b2b_b2c_split_is_the_first_thing_to_settle() -> None:
    lines = summary_lines(
        [view("Ann", "b2b", "Listen"), view("Bob", "b2c", "Engage")],
        team_stage="Listen",
        first_gap=None,
    )
    assert lines[0] == "Members see the business differently (B2B or B2C): Ann: B2B; Bob: B2C."
    assert "Team rung: Listen, the cautious middle of Ann (Listen) and Bob (Engage)" in lines[1]
    assert lines[-1].startswith("Settle first: whether you sell to businesses, to consumers")


def test_different_networks_are_named_member_by_member() -> None:
    lines = summary_lines(
        [
            view("Ann", "b2c", networks=("Instagram", "TikTok")),
            view("Bob", "b2c", networks=("Facebook",)),
        ],
        team_stage=None,
        first_gap=None,
    )
    assert (
        "Members disagree on networks: Ann names Instagram and TikTok; Bob names Facebook." in lines
    )
    assert lines[-1] == "Settle first: which networks come first. Everything else builds on it."


def test_a_team_in_agreement_is_told_its_next_gap() -> None:
    lines = summary_lines(
        [view("Ann", "b2b", "Listen", networks=("LinkedIn",))],
        team_stage="Listen",
        first_gap="the team has no named owner or rhythm",
    )
    assert lines == (
        "Team rung: Listen, from Ann's placement.",
        "Settle first: the team has no named owner or rhythm.",
    )

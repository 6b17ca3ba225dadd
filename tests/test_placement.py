"""Placement from words and picks: how the two sources combine, and the advice built on them.

These tests hand the placement a reading directly, so they pin down the combination rules
whatever the reader's vocabulary says; tests/test_reader.py pins the reading itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.ladder import Placement, clarify_question, conflicts, place
from bot.reader import Facts, Objective, Quote, Reading, Signal
from bot.store import Answer
from flows import Flow, Ladder, load_flows, load_ladder

HONEST_ENGAGE = dict(
    sc_posts="conversation", sc_listen="acts", sc_reply="joins", sc_hub="social",
    sc_objectives="loose", sc_owner="named",
)  # fmt: skip


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flows()["coffee"]


@pytest.fixture(scope="module")
def ladder(flow: Flow) -> Ladder:
    return load_ladder(flow=flow)


def picks(flow: Flow, at: str = "2026-01-01T10:00:00", **values: str) -> dict[str, Answer]:
    answers = {}
    for question, value in values.items():
        spec = flow.states[question]
        choice = spec.choice(value)
        assert choice is not None, (question, value)
        answers[question] = Answer(question, 1, choice.label, choice.value, False, None, at)
    return answers


def quote(question: str, text: str) -> Quote:
    return Quote(question, 0, len(text), text)


def signal(criterion: str, polarity: str, question: str, text: str, *, specific: bool) -> Signal:
    cue = "measurable objective" if criterion == "measured" else "cue"
    return Signal(criterion, polarity, cue, quote(question, text), specific)  # type: ignore[arg-type]


def objective(
    question: str, text: str, number: str | None, metric: str | None, period: str | None
) -> Objective:
    return Objective(quote(question, text), number, metric, period, negated=False)


def placed(
    flow: Flow, ladder: Ladder, answers: Mapping[str, Answer], reading: Reading, model: str = "b2b"
) -> Placement:
    return place(answers, reading, ladder=ladder, flow=flow, business_model=model)


def evidence(placement: Placement, criterion: str) -> tuple[bool, str]:
    found = next(e for e in placement.evidence if e.criterion == criterion)
    shown = "; ".join(
        f"{c.text} [{c.source}{', ' + c.note if c.note else ''}]" for c in found.cited
    )
    return found.met, shown


def test_words_and_pick_that_agree_are_both_cited(flow: Flow, ladder: Ladder) -> None:
    reading = Reading(
        (signal("listens", "for", "sustain", "we review mentions every Monday", specific=True),),
        Facts(),
    )
    result = placed(flow, ladder, picks(flow, **HONEST_ENGAGE), reading)
    met, shown = evidence(result, "listens")
    assert met
    assert "we review mentions every Monday [Q7]" in shown
    assert "Yes, and it changes what we do [stage check]" in shown


def test_a_specific_statement_beats_a_generic_pick(flow: Flow, ladder: Ladder) -> None:
    # "I post when I can" against "Named owners with a rhythm": the words are concrete.
    reading = Reading(
        (signal("owned", "against", "owners", "I post when I can", specific=True),), Facts()
    )
    result = placed(flow, ladder, picks(flow, **HONEST_ENGAGE), reading)
    met, shown = evidence(result, "owned")
    assert not met
    assert "I post when I can [Q6]" in shown
    assert "your own words are more specific" in shown
    assert result.stage.name == "Listen"


def test_a_generic_claim_leaves_the_pick_standing(flow: Flow, ladder: Ladder) -> None:
    reading = Reading(
        (signal("listens", "for", "sustain", "we keep an eye on things", specific=False),),
        Facts(),
    )
    answers = picks(flow, **dict(HONEST_ENGAGE, sc_listen="never"))
    result = placed(flow, ladder, answers, reading)
    assert not evidence(result, "listens")[0]
    assert result.stage.name == "Broadcast"


def test_a_clarifying_answer_settles_the_disagreement(flow: Flow, ladder: Ladder) -> None:
    reading = Reading(
        (signal("owned", "against", "owners", "I post when I can", specific=True),), Facts()
    )
    answers = picks(flow, **HONEST_ENGAGE)
    answers[clarify_question("owned")] = Answer(
        clarify_question("owned"), 1, "Someone named owns it", "met", False, None,
        "2026-01-01T10:05:00",
    )  # fmt: skip
    result = placed(flow, ladder, answers, reading)
    met, shown = evidence(result, "owned")
    assert met and "your answer to my question" in shown
    # A later stage check outdates it: the new pick and the words are weighed again.
    answers.update(picks(flow, at="2026-02-01T10:00:00", sc_owner="named"))
    assert not evidence(placed(flow, ladder, answers, reading), "owned")[0]


def test_a_pick_alone_never_makes_an_objective_measurable(flow: Flow, ladder: Ladder) -> None:
    top = dict(HONEST_ENGAGE, sc_hub="hub", sc_objectives="smart", sc_owner="company")
    result = placed(flow, ladder, picks(flow, **top), Reading((), Facts()))
    met, shown = evidence(result, "measured")
    assert not met and "a pick alone doesn't make an objective measurable" in shown
    assert result.stage.name == "Engage"


def test_a_written_objective_in_any_answer_reaches_publish(flow: Flow, ladder: Ladder) -> None:
    top = dict(HONEST_ENGAGE, sc_hub="hub", sc_objectives="loose", sc_owner="company")
    text = "40 MQLs a quarter, cost per MQL under $150"
    reading = Reading(
        (signal("measured", "for", "sustain", text, specific=True),),
        Facts(objectives=(objective("sustain", text, "40", "MQLs", "a quarter"),)),
    )
    result = placed(flow, ladder, picks(flow, **top), reading)
    met, shown = evidence(result, "measured")
    assert met and f"{text} [Q7]" in shown
    assert result.stage.name == "Publish"
    # At the top, advice builds on the team's own metric.
    assert any("MQLs" in action for action in result.actions)


def test_smart_advice_builds_on_the_teams_number_and_says_what_is_missing(
    flow: Flow, ladder: Ladder
) -> None:
    text = "we want 40 MQLs from LinkedIn"
    reading = Reading((), Facts(objectives=(objective("success", text, "40", "MQLs", None),)))
    result = placed(flow, ladder, picks(flow, **HONEST_ENGAGE), reading)
    smart = [a for a in result.actions if "MQLs" in a]
    assert smart and "deadline" in smart[0] and "40 MQLs" in smart[0]
    assert not any("25 qualified leads" in a for a in result.actions)
    # Nothing at this rung builds on objectives it doesn't have yet.
    assert not any("Review the SMART objectives" in a for a in result.actions)


def test_advice_names_the_teams_networks_people_and_customers(flow: Flow, ladder: Ladder) -> None:
    facts = Facts(
        customers=("clinic managers",),
        networks=("LinkedIn", "Facebook"),
        people=("Priya",),
    )
    broadcast = dict(
        sc_posts="announce", sc_listen="never", sc_reply="rarely", sc_hub="none",
        sc_objectives="none", sc_owner="nobody",
    )  # fmt: skip
    result = placed(flow, ladder, picks(flow, **broadcast), Reading((), facts))
    assert result.stage.name == "Broadcast"
    assert 2 <= len(result.actions) <= 4
    assert any("LinkedIn and Facebook" in a and "clinic managers" in a for a in result.actions)


def test_nothing_already_done_is_asked_for(flow: Flow, ladder: Ladder) -> None:
    reading = Reading(
        (signal("listens", "for", "sustain", "we track mentions in Sprout weekly", specific=True),),
        Facts(tools=("Sprout Social",)),
    )
    modest = dict(
        sc_posts="announce", sc_listen="sometimes", sc_reply="rarely", sc_hub="none",
        sc_objectives="none", sc_owner="nobody",
    )  # fmt: skip
    result = placed(flow, ladder, picks(flow, **modest), reading)
    assert evidence(result, "listens")[0]
    assert not any("listening routine" in a for a in result.actions)
    assert "listen.listens" not in result.action_keys


@pytest.mark.parametrize(
    ("model", "wording"),
    [("b2b", "industry"), ("b2c", "hashtags"), ("both", "buyers")],
)
def test_actions_are_worded_for_the_business_model_including_both(
    flow: Flow, ladder: Ladder, model: str, wording: str
) -> None:
    broadcast = dict(
        sc_posts="announce", sc_listen="never", sc_reply="rarely", sc_hub="none",
        sc_objectives="none", sc_owner="nobody",
    )  # fmt: skip
    result = placed(flow, ladder, picks(flow, **broadcast), Reading((), Facts()), model)
    assert wording in result.actions[0]


def test_a_disagreement_that_could_move_the_rung_is_offered_as_a_question(
    flow: Flow, ladder: Ladder
) -> None:
    answers = picks(flow, **dict(HONEST_ENGAGE, sc_listen="sometimes"))
    reading = Reading(
        (
            signal("listens", "for", "sustain", "we monitor mentions weekly", specific=True),
            # Above a rung that fails regardless (no objective, no hub): not worth asking.
            signal("beyond_marketing", "for", "owners", "support answers DMs", specific=True),
        ),
        Facts(),
    )
    found = conflicts(answers, reading, ladder=ladder, flow=flow)
    assert [c.criterion.id for c in found] == ["listens"]
    assert found[0].quote.text == "we monitor mentions weekly"
    answers[clarify_question("listens")] = Answer(
        clarify_question("listens"), 1, "", None, True, None, "2026-01-01T11:00:00"
    )
    assert conflicts(answers, reading, ladder=ladder, flow=flow) == []


def test_no_action_asks_to_start_what_the_words_say_is_done(flow: Flow, ladder: Ladder) -> None:
    # The words say "we listen" but generically, and the pick says "not really": the pick
    # decides the rung, yet the advice does not tell the team to start listening.
    reading = Reading(
        (signal("listens", "for", "sustain", "we keep an eye on things", specific=False),),
        Facts(),
    )
    answers = picks(flow, **dict(HONEST_ENGAGE, sc_listen="never"))
    result = placed(flow, ladder, answers, reading)
    assert result.stage.name == "Broadcast"
    assert "listen.listens" not in result.action_keys
    assert 2 <= len(result.actions) <= 4

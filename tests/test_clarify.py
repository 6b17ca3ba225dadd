"""When a member's words and picks disagree, the coach asks once before placing them."""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine import Coach
from bot.messages import Incoming, MemberKey, StageCard, Turn
from tests.interview import ANSWERS

ENGAGE_PICKS = dict(
    sc_posts="conversation", sc_listen="acts", sc_reply="joins", sc_hub="social",
    sc_objectives="loose", sc_owner="named",
)  # fmt: skip
AD_HOC = {
    "owners": "I post when I can, there's nobody else really",
    "sustain": "nothing yet, whoever has time does it",
}


def key(user: str) -> MemberKey:
    return MemberKey("console", "local", user, "bakers")


def to_stage_check_end(
    coach: Coach, who: MemberKey, answers: Mapping[str, str], picks: Mapping[str, str]
) -> Turn:
    """Answer the interview and the stage check; the last turn is what follows sc_owner."""
    given = {**ANSWERS, **answers}
    coach.handle(Incoming(key=who, text="start"))
    coach.handle(Incoming(key=who, text="b2b"))
    for question in ANSWERS:
        coach.handle(Incoming(key=who, text=given[question]))
    turn = Turn()
    for value in picks.values():
        turn = coach.handle(Incoming(key=who, text=value))
    return turn


def state(coach: Coach, who: MemberKey) -> str:
    member = coach.store.member(who)
    assert member is not None
    conv = coach.store.conversation(member.id)
    assert conv is not None
    return conv.state


def stage_card(turn: Turn) -> StageCard:
    return next(r.card for r in turn.replies if isinstance(r.card, StageCard))


def test_words_that_contradict_a_pick_get_one_question_quoting_both(coach: Coach) -> None:
    turn = to_stage_check_end(coach, key("ann"), AD_HOC, ENGAGE_PICKS)
    assert state(coach, key("ann")) == "clarify"
    prompt = turn.replies[-1]
    assert "who owns social" in prompt.text
    assert "“I post when I can" in prompt.text and "(Q6)" in prompt.text
    assert "“Named owners with a rhythm”" in prompt.text
    labels = [c.label for c in prompt.choices if not c.nav]
    assert labels == ["Someone named owns it, on a regular rhythm", "It's ad hoc: whoever has time"]


def test_the_answer_to_the_question_decides_the_placement(coach: Coach) -> None:
    to_stage_check_end(coach, key("ann"), AD_HOC, ENGAGE_PICKS)
    turn = coach.handle(Incoming(key=key("ann"), text="2"))
    assert state(coach, key("ann")) == "commit"
    card = stage_card(turn)
    assert card.stage == "Listen"
    owned = next(e for e in card.evidence if e.criterion == "owned")
    assert not owned.met
    assert any(c.source == "your answer to my question" for c in owned.cited)


def test_a_skipped_question_is_not_asked_again_and_the_specific_words_win(
    coach: Coach,
) -> None:
    to_stage_check_end(coach, key("ann"), AD_HOC, ENGAGE_PICKS)
    turn = coach.handle(Incoming(key=key("ann"), text="skip"))
    assert state(coach, key("ann")) == "commit"
    owned = next(e for e in stage_card(turn).evidence if e.criterion == "owned")
    assert not owned.met


def test_a_modest_pick_is_questioned_when_the_words_show_a_routine(coach: Coach) -> None:
    modest = dict(ENGAGE_PICKS, sc_listen="sometimes")
    routine = {"sustain": "we monitor mentions and competitors every week in Sprout Social"}
    turn = to_stage_check_end(coach, key("bo"), routine, modest)
    assert state(coach, key("bo")) == "clarify"
    assert "on listening" in turn.replies[-1].text
    turn = coach.handle(Incoming(key=key("bo"), text="1"))
    listens = next(e for e in stage_card(turn).evidence if e.criterion == "listens")
    assert listens.met


def test_agreeing_words_and_picks_go_straight_to_the_placement(coach: Coach) -> None:
    turn = to_stage_check_end(coach, key("cy"), {}, ENGAGE_PICKS)
    assert state(coach, key("cy")) == "commit"
    assert stage_card(turn).stage == "Engage"


def test_no_more_than_three_questions_in_one_interview(coach: Coach) -> None:
    # Everything the words say is the opposite of every pick.
    flattering = dict(
        sc_posts="conversation", sc_listen="acts", sc_reply="joins", sc_hub="hub",
        sc_objectives="smart", sc_owner="company",
    )  # fmt: skip
    words = {
        "owners": "I post when I can",
        "sustain": "we don't really listen to anyone online, no time to monitor",
        "growth": "we only post offers and announcements; comments sit for days",
        "experience": "we might start a blog one day",
        "success": "not sure, we haven't agreed what it's for",
    }
    to_stage_check_end(coach, key("di"), words, flattering)
    asked = 0
    while state(coach, key("di")) == "clarify":
        asked += 1
        coach.handle(Incoming(key=key("di"), text="2"))
    assert 1 <= asked <= 3


def test_back_from_the_placement_skips_the_question_already_answered(coach: Coach) -> None:
    to_stage_check_end(coach, key("ed"), AD_HOC, ENGAGE_PICKS)
    coach.handle(Incoming(key=key("ed"), text="1"))
    assert state(coach, key("ed")) == "commit"
    coach.handle(Incoming(key=key("ed"), text="back"))
    assert state(coach, key("ed")) == "sc_owner"


def test_a_press_on_an_answered_question_changes_nothing(coach: Coach) -> None:
    turn = to_stage_check_end(coach, key("fi"), AD_HOC, ENGAGE_PICKS)
    token = turn.replies[-1].prompt_token
    coach.handle(Incoming(key=key("fi"), text="", value="unmet", prompt_token=token))
    again = coach.handle(Incoming(key=key("fi"), text="", value="met", prompt_token=token))
    assert again.stale

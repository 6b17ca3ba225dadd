"""How the reader weighs a member's own account of their practice."""

from __future__ import annotations

from bot.reader import parse_objectives, read
from flows.signals import load_vocabulary

VOCAB = load_vocabulary()


def test_posting_when_i_can_is_not_owned_by_a_rhythm_met_elsewhere() -> None:
    reading = read(
        [
            ("owners", "I post when I can, and our engineers send me photos"),
            ("sustain", "we check mentions and two competitors every Monday in Sprout Social"),
        ],
        VOCAB,
    )
    assert reading.verdict("owned") == "unmet"
    assert reading.verdict("listens") == "met"


def test_an_owner_with_a_rhythm_in_one_answer_outweighs_others_posting_whenever() -> None:
    reading = read(
        [
            ("owners", "I run the company pages and plan every Friday."),
            ("sustain", "Friday is my social day. Agents post their own listings whenever."),
        ],
        VOCAB,
    )
    assert reading.verdict("owned") == "met"


def test_a_target_someone_only_suggested_is_not_an_objective() -> None:
    text = "Someone said we should aim for 5,000 newsletter subscribers by summer"
    [objective] = parse_objectives("success", text, VOCAB)
    assert not objective.complete


def test_a_deadline_with_a_day_of_the_month_bounds_the_objective() -> None:
    [objective] = parse_objectives("success", "800 paid delegate passes by 14 May", VOCAB)
    assert objective.complete and objective.period == "by 14 May"


def test_sign_off_by_compliance_does_not_undo_staff_who_post() -> None:
    reading = read(
        [
            (
                "owners",
                "Declan, one of our account managers, does the LinkedIn with me."
                " Compliance signs off anything about products.",
            )
        ],
        VOCAB,
    )
    assert reading.verdict("beyond_marketing") == "met"

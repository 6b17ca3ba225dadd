"""A check-in conversation: recall the step, ask how it went and why, offer the next one;
every fourth (or on request) re-run the stage check; celebrate a move up the ladder."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.checkins.next_steps import Offer, choose_next
from bot.checkins.service import CheckIns
from bot.clock import ManualClock, iso
from bot.engine import Coach
from bot.messages import Incoming, Outgoing, Reply, StageCard
from bot.report import stage_history
from bot.store import Store
from tests.checkin_support import FakeSender, interviewed_team, key, run_pass
from tests.interview import RUNGS

NEXT = datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
# The Engage rung's actions for the interview's answers: they name the team's own network
# and the rhythm it mentioned.
LISTEN_TO_ENGAGE = [
    "Reply to every comment on Instagram within one working day, and join two industry"
    " discussions a week there as a helpful expert rather than a seller.",
    "You keep a rhythm (monthly): name the one person who owns it, and a stand-in for holidays.",
]


async def check_in(
    checkins: CheckIns, sender: FakeSender, clock: ManualClock, week: int = 0
) -> Outgoing:
    clock.set(NEXT + timedelta(weeks=week))
    await run_pass(checkins, sender)
    return sender.to("ann")[-1]


def say(coach: Coach, *texts: str, user: str = "ann") -> list[Reply]:
    replies: list[Reply] = []
    for text in texts:
        replies = coach.handle(Incoming(key=key(user), text=text)).replies
    return replies


def text(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def steps(store: Store, user: str = "ann") -> list[tuple[str, str]]:
    member = store.member(key(user))
    assert member is not None
    return [
        (c.action, c.status) for c in store.commitments(team_id=member.team.id, member_id=member.id)
    ]


@pytest.mark.parametrize(
    ("outcome", "asked"),
    [
        ("done", "What helped you get it done?"),
        ("partly", "What helped, and what got in the way?"),
        ("Not yet", "What got in the way?"),
    ],
)
async def test_the_check_in_asks_what_helped_or_got_in_the_way_after_how_it_went(
    coach: Coach,
    checkins: CheckIns,
    sender: FakeSender,
    clock: ManualClock,
    outcome: str,
    asked: str,
) -> None:
    interviewed_team(coach, ["ann"])
    message = await check_in(checkins, sender, clock)
    assert LISTEN_TO_ENGAGE[0] in message.replies[-1].text
    assert asked in text(say(coach, outcome))


async def test_done_closes_the_step_and_offers_the_next_one_toward_the_next_rung(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    await check_in(checkins, sender, clock)
    offer = text(say(coach, "done", "Replying in the morning stand-up made it stick"))
    assert "next step toward *Engage*" in offer and LISTEN_TO_ENGAGE[1] in offer
    assert "Committed:" in text(say(coach, "yes"))
    assert steps(store) == [(LISTEN_TO_ENGAGE[0], "done"), (LISTEN_TO_ENGAGE[1], "open")]


async def test_a_step_not_done_gets_a_different_one_that_replaces_it_when_taken(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    await check_in(checkins, sender, clock)
    offer = text(say(coach, "not yet", "Too many launches this week"))
    assert "a different step toward *Engage*" in offer and LISTEN_TO_ENGAGE[1] in offer
    say(coach, "yes")
    assert steps(store) == [(LISTEN_TO_ENGAGE[0], "replaced"), (LISTEN_TO_ENGAGE[1], "open")]


async def test_declining_the_offer_keeps_the_old_step_for_next_time(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    await check_in(checkins, sender, clock)
    assert "stay on your list" in text(say(coach, "partly", "skip", "Not this time"))
    assert steps(store) == [(LISTEN_TO_ENGAGE[0], "partly")]
    message = await check_in(checkins, sender, clock, week=1)
    assert LISTEN_TO_ENGAGE[0] in message.replies[-1].text


async def test_a_step_that_stalls_twice_gets_a_smaller_one(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    await check_in(checkins, sender, clock)
    say(coach, "not yet", "skip", "Not this time")
    await check_in(checkins, sender, clock, week=1)
    offer = text(say(coach, "not yet", "No time again"))
    assert "hasn't moved yet, so here's a smaller step" in offer
    assert "Reply to the three most recent comments on your posts" in offer
    say(coach, "yes")
    assert steps(store)[-1] == (
        "Reply to the three most recent comments on your posts, and add one helpful comment"
        " to an industry discussion.",
        "open",
    )


async def test_no_step_to_recall_means_the_first_suggestion_is_asked_about(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock
) -> None:
    interviewed_team(coach, ["ann"], commit="none")
    message = await check_in(checkins, sender, clock)
    prompt = message.replies[-1].text
    assert "you didn't pick a step" in prompt and LISTEN_TO_ENGAGE[0] in prompt


async def answer_plain_check_in(coach: Coach) -> None:
    say(coach, "done", "skip", "Not this time")


async def test_every_fourth_check_in_re_runs_the_stage_check_and_the_history_moves(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    member = store.member(key("ann"))
    assert member is not None
    store.update_team(member.team.id, address="C-BAKERS")
    for week in range(3):
        message = await check_in(checkins, sender, clock, week)
        assert "stage check" not in text(list(message.replies))
        await answer_plain_check_in(coach)
    message = await check_in(checkins, sender, clock, week=3)
    assert "includes a quick stage check" in message.replies[0].text
    offer = say(coach, "done", "The routine works", *RUNGS[3].values())
    assert "stage check done. Here's your next step toward *Publish*" in text(offer)
    assert "Your team just moved up to *Engage*!" in text(say(coach, "yes"))
    team = store.team_by_id(member.team.id)
    assert team is not None
    assert [stage for _, stage in stage_history(coach, team)] == ["Listen", "Engage"]
    await run_pass(checkins, sender)
    [celebration] = [o for o in sender.sent if o.address == "C-BAKERS"]
    assert "bakers has moved up the ladder to *Engage*" in celebration.replies[0].text


async def test_the_stage_check_interval_is_the_teams_to_set(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock
) -> None:
    interviewed_team(coach, ["ann"])
    say(coach, "schedule stage check every 1")
    message = await check_in(checkins, sender, clock)
    assert "includes a quick stage check" in message.replies[0].text


async def test_a_team_that_stays_on_its_rung_is_not_celebrated(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    say(coach, "schedule stage check every 1")
    await check_in(checkins, sender, clock)
    assert "moved up" not in text(say(coach, "done", "skip", *RUNGS[2].values(), "yes"))
    assert store.delivery_counts().get("celebration") is None


async def test_a_stage_check_reads_what_the_member_said_at_the_check_in(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock
) -> None:
    interviewed_team(coach, ["ann"])
    say(coach, "schedule stage check every 1")
    await check_in(checkins, sender, clock)
    said = "Mia now owns social with a planning slot every Monday, and replies to every comment"
    replies = say(coach, "done", said + " within two hours", *RUNGS[2].values(), "yes")
    card = next(r.card for r in replies if isinstance(r.card, StageCard))
    owned = next(e for e in card.evidence if e.criterion == "owned")
    assert owned.met
    assert any(c.source == "check-in" and "Mia now owns social" in c.text for c in owned.cited)


async def test_a_member_can_ask_for_the_stage_check(
    coach: Coach, checkins: CheckIns, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    replies = say(coach, "stage check")
    assert "includes a quick stage check" in replies[0].text
    assert "How far did you get?" in replies[-1].text
    say(coach, "cem-is-new", user="cem")
    assert "finish that first" in text(say(coach, "stage check", user="cem"))


async def test_each_round_counts_who_answered(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann", "bob"])
    await check_in(checkins, sender, clock)
    say(coach, "done")
    member = store.member(key("ann"))
    assert member is not None
    assert store.checkin_rounds(member.team.id) == [(iso(NEXT), 2, 1)]
    assert "30 Nov: 1 of 2 answered" in text(say(coach, "schedule", user="bob"))


@pytest.mark.parametrize(
    ("outcome", "stalled", "recalled", "done", "expected"),
    [
        ("done", False, ["a"], {"a"}, Offer("next", "b")),
        ("partly", False, ["a"], set(), Offer("different", "b")),
        ("not_yet", False, ["a"], set(), Offer("different", "b")),
        ("not_yet", True, ["a"], set(), Offer("smaller", "smaller a")),
        ("not_yet", False, ["a", "b", "c"], set(), Offer("smaller", "smaller a")),
        ("done", False, [], {"a", "b"}, Offer("next", "c")),
    ],
)
def test_the_next_step_follows_how_the_last_one_went(
    outcome: str, stalled: bool, recalled: list[str], done: set[str], expected: Offer
) -> None:
    offer = choose_next(
        ["a", "b", "c"],
        recalled=recalled,
        done=frozenset(done),
        outcome=outcome,
        stalled_twice=stalled,
        smaller=lambda action: f"smaller {action}",
    )
    assert offer == expected


async def test_a_check_in_begun_before_steps_were_asked_one_by_one_still_reads_well(
    coach: Coach, checkins: CheckIns, sender: FakeSender, clock: ManualClock, store: Store
) -> None:
    interviewed_team(coach, ["ann"])
    await check_in(checkins, sender, clock)
    member = store.member(key("ann"))
    assert member is not None
    conv = store.conversation(member.id)
    assert conv is not None and conv.flow == "checkin"
    for added in ("step", "asking", "outcomes"):
        del conv.context[added]
    assert store.save_conversation(conv)

    replies = say(coach, "start")

    assert "How far did you get?" in text(replies)
    assert "{step}" not in text(replies)
    assert "What helped you get it done?" in text(say(coach, "done"))

"""Drive a member through the whole coffee interview, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.console import incoming as terminal
from bot.engine import Coach
from bot.messages import Incoming, MemberKey, Turn

ANSWERS = {
    "customers": "independent bakeries and cafes in Leeds and York",
    "value": "fresh bread delivered before 6am and knowing the bakers by name",
    "experience": "behind the scenes posts of the bakers at dawn, and customer shout-outs",
    "pathway": "being trusted and keeping customers coming back",
    "networks": "Instagram for cafes, LinkedIn for hotel buyers",
    "owners": "Mia writes and replies, Sam approves, the bakers send photos",
    "sustain": "a weekly plan every Monday and twenty minutes a day for replies",
    "growth": "partnerships with local cafes and a monthly open bakery morning",
    "success": "20 new wholesale leads a month by June",
}

# Below the top rung the words describe no routine, so the stage-check picks decide the
# rung, as the tests that use `rung=` expect; ANSWERS itself describes a publisher's team.
PLAIN = {
    "owners": "Mia and Sam in the office",
    "sustain": "we'll keep it going together",
}

# Stage-check answers (choice values) that place a team on each rung.
RUNGS: dict[int, dict[str, str]] = {
    1: dict(sc_posts="announce", sc_listen="never", sc_reply="rarely", sc_hub="none",
            sc_objectives="none", sc_owner="nobody"),
    2: dict(sc_posts="tailored", sc_listen="regularly", sc_reply="questions", sc_hub="social",
            sc_objectives="loose", sc_owner="adhoc"),
    3: dict(sc_posts="conversation", sc_listen="acts", sc_reply="joins", sc_hub="social",
            sc_objectives="loose", sc_owner="named"),
    4: dict(sc_posts="hub", sc_listen="acts", sc_reply="joins", sc_hub="hub",
            sc_objectives="smart", sc_owner="company"),
}  # fmt: skip


def run_interview(
    coach: Coach,
    key: MemberKey,
    *,
    model: str = "b2b",
    rung: int = 3,
    answers: Mapping[str, str] | None = None,
    commit: str = "1",
) -> list[Turn]:
    """Answer every question; returns the turns, the last one closing the interview."""
    given = {**ANSWERS, **(PLAIN if rung < 4 else {}), **(answers or {})}
    # The first message comes as the terminal door sends it: with the member's address.
    turns = [coach.handle(terminal(key, "start"))]
    turns.append(coach.handle(Incoming(key=key, text=model)))
    for question in ANSWERS:
        turns.append(coach.handle(Incoming(key=key, text=given[question])))
    for value in RUNGS[rung].values():
        turns.append(coach.handle(Incoming(key=key, text=value)))
    turns.extend(settle_clarifications(coach, key, rung))
    turns.append(coach.handle(Incoming(key=key, text=commit)))
    return turns


def settle_clarifications(coach: Coach, key: MemberKey, rung: int) -> list[Turn]:
    """Answer any clarifying question as the picks for `rung` mean it: met up to that rung."""
    turns: list[Turn] = []
    rungs = {c.id: stage.rung for stage, c in coach.ladder.criteria()}
    while True:
        member = coach.store.member(key)
        conv = coach.store.conversation(member.id) if member is not None else None
        if conv is None or conv.state != "clarify":
            return turns
        criterion = str(conv.context["clarifying"])
        answer = "met" if rungs[criterion] <= rung else "unmet"
        turns.append(coach.handle(Incoming(key=key, text=answer)))

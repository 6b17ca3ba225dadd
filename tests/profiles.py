"""Team profiles (tests/profiles/*.yaml) driven through the coach, as a member would.

Used by tests/test_profiles.py and bench/placement_accuracy.py. Each member answers the
interview as written in their profile, picks in the stage check (their own picks, or a
lazy member's middle option for every question), and answers any clarifying question
honestly, from the profile's `truth`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.engine import Coach
from bot.ladder import team_rung
from bot.messages import Incoming, MemberKey, Turn
from flows import Flow

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
RUNGS = ("broadcast", "listen", "engage", "publish")
STAGE_CHECK = ("sc_posts", "sc_listen", "sc_reply", "sc_hub", "sc_objectives", "sc_owner")
QUESTIONS = (
    "customers", "value", "experience", "pathway", "networks", "owners", "sustain", "growth",
    "success",
)  # fmt: skip


@dataclass(frozen=True)
class Member:
    user: str
    business_model: str
    answers: Mapping[str, tuple[str, ...]]
    picks: Mapping[str, str]
    truth: Mapping[str, bool]
    expected_rung: int


@dataclass(frozen=True)
class Profile:
    team: str
    sector: str
    expected_rung: int
    reason: str
    members: tuple[Member, ...]
    path: Path = field(compare=False)


def _rung(name: Any, path: Path) -> int:
    if name not in RUNGS:
        raise ValueError(f"{path.name}: unknown rung {name!r}")
    return RUNGS.index(name) + 1


def load_profile(path: Path) -> Profile:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    members = []
    for raw in data["members"]:
        answers = {
            q: tuple(a) if isinstance(a, list) else (str(a),) for q, a in raw["answers"].items()
        }
        members.append(
            Member(
                user=str(raw["user"]),
                business_model=str(raw["business_model"]),
                answers=answers,
                picks={str(k): str(v) for k, v in raw["picks"].items()},
                truth={str(k): bool(v) for k, v in raw["truth"].items()},
                expected_rung=_rung(raw["expected_rung"], path),
            )
        )
    return Profile(
        team=str(data["team"]),
        sector=str(data["sector"]),
        expected_rung=_rung(data["expected_rung"], path),
        reason=str(data["reason"]),
        members=tuple(members),
        path=path,
    )


def load_profiles(folder: Path = PROFILES_DIR) -> list[Profile]:
    return [load_profile(p) for p in sorted(folder.glob("*.yaml"))]


def lazy_picks(flow: Flow) -> dict[str, str]:
    """A member who picks the middle option of every stage-check question."""
    return {q: flow.states[q].choices[len(flow.states[q].choices) // 2].value for q in STAGE_CHECK}


@dataclass
class Interviewed:
    """What one member's interview produced."""

    rung: int
    actions: tuple[str, ...]
    # Each action's ladder key (`<stage>.<criterion>`), from the member's placement.
    keys: tuple[str, ...]
    clarified: tuple[str, ...]
    turns: list[Turn]


def interview(
    coach: Coach, key: MemberKey, member: Member, *, picks: Mapping[str, str] | None = None
) -> Interviewed:
    """Run one member through the whole interview; returns their placement."""
    store = coach.store
    turns: list[Turn] = []

    def say(text: str) -> None:
        turns.append(coach.handle(Incoming(key=key, text=text)))

    def state() -> str:
        found = store.member(key)
        assert found is not None
        conv = store.conversation(found.id)
        assert conv is not None
        return conv.state

    say("start")
    say(member.business_model)
    for question in QUESTIONS:
        given = member.answers.get(question) or ("skip",)
        say(given[0])
        # A vague first answer earns one follow-up: give the profile's, or say it again.
        if state() == question:
            say(given[1] if len(given) > 1 else given[0])
    for question, value in (picks or member.picks).items():
        assert state() == question, (state(), question)
        say(value)
    clarified = []
    while state() == "clarify":
        found = store.member(key)
        assert found is not None
        conv = store.conversation(found.id)
        assert conv is not None
        criterion = str(conv.context["clarifying"])
        clarified.append(criterion)
        say("met" if member.truth[criterion] else "unmet")
    found = store.member(key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None
    assert conv.state == "commit", conv.state
    actions = tuple(conv.context.get("actions", ()))
    rung = int(conv.context["rung"])
    placement = coach.placement_for(found, conv)
    say("none")
    return Interviewed(
        rung=rung,
        actions=actions,
        keys=placement.action_keys,
        clarified=tuple(clarified),
        turns=turns,
    )


def interview_team(
    coach: Coach, profile: Profile, *, lazy: bool = False, platform: str = "console"
) -> tuple[int, list[Interviewed]]:
    """Every member of the team interviewed; the team's rung and each member's result."""
    flow = coach.interview
    results = [
        interview(
            coach,
            MemberKey(platform, "local", member.user, profile.team),
            member,
            picks=lazy_picks(flow) if lazy else None,
        )
        for member in profile.members
    ]
    rung = team_rung([r.rung for r in results])
    assert rung is not None
    return rung, results

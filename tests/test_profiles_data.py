"""The team profiles under tests/profiles/ are well-formed and agree with themselves.

The profiles are test data for placement: each gives a team's typed answers, its members'
own stage-check picks, what a consultant concludes per ladder criterion (`truth`), and the
rung that follows. This test checks the data only; it reads the question ids, the choice
values, the criteria and the rungs from the flow files, and uses no reader of free text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import Flow, Ladder, load_flows, load_ladder

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
PROFILE_FILES = sorted(PROFILES_DIR.glob("*.yaml"))
MIN_PROFILES = 20

TEAM_KEYS = {"team", "sector", "expected_rung", "reason", "members"}
MEMBER_KEYS = {"user", "business_model", "answers", "picks", "truth", "expected_rung"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@cache
def coffee() -> Flow:
    return load_flows()["coffee"]


@cache
def ladder() -> Ladder:
    return load_ladder(flow=coffee())


def question_ids() -> list[str]:
    return [q.id for q in coffee().questions]


def stage_check_choices() -> dict[str, set[str]]:
    return {
        sid: {c.value for c in spec.choices}
        for sid, spec in coffee().states.items()
        if sid.startswith("sc_")
    }


def business_models() -> set[str]:
    return {c.value for c in coffee().states["business_model"].choices}


def stage_ids() -> list[str]:
    return [stage.id for stage in ladder().stages]


def criteria_ids() -> list[str]:
    return [c.id for stage in ladder().stages for c in stage.criteria]


def rung_from_truth(truth: Mapping[str, bool]) -> str:
    """The highest rung whose criteria, and those of every rung below, are all met."""
    reached = ladder().stages[0].id
    for stage in ladder().stages:
        if not all(truth[c.id] for c in stage.criteria):
            break
        reached = stage.id
    return reached


def lower_median(rungs: Sequence[str]) -> str:
    order = stage_ids()
    ranked = sorted(rungs, key=order.index)
    return ranked[(len(ranked) - 1) // 2]


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    return data


def test_there_are_enough_profiles() -> None:
    assert len(PROFILE_FILES) >= MIN_PROFILES


def test_the_rubric_the_profiles_rely_on_is_the_shipped_one() -> None:
    assert stage_ids() == ["broadcast", "listen", "engage", "publish"]
    assert "measured" in criteria_ids()
    assert set(stage_check_choices()) == {
        "sc_posts",
        "sc_listen",
        "sc_reply",
        "sc_hub",
        "sc_objectives",
        "sc_owner",
    }


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_profile_is_well_formed_and_self_consistent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), f"{path.name}: start with a one-line comment on the team"
    data = load(path)
    assert set(data) == TEAM_KEYS, f"{path.name}: keys {sorted(set(data) ^ TEAM_KEYS)}"
    assert data["team"] == path.stem and SLUG.match(data["team"])
    for key in ("sector", "reason"):
        assert isinstance(data[key], str) and data[key].strip(), f"{path.name}: {key}"
    members = data["members"]
    assert isinstance(members, list) and members, f"{path.name}: no members"
    users = [m.get("user") for m in members]
    assert len(set(users)) == len(users), f"{path.name}: a user appears twice"

    rungs = []
    for member in members:
        where = f"{path.name} / {member.get('user')}"
        assert set(member) == MEMBER_KEYS, f"{where}: keys {sorted(set(member) ^ MEMBER_KEYS)}"
        assert isinstance(member["user"], str) and member["user"]
        assert member["business_model"] in business_models(), where
        check_answers(where, member["answers"])
        check_picks(where, member["picks"])
        truth = member["truth"]
        assert isinstance(truth, dict) and set(truth) == set(criteria_ids()), f"{where}: truth"
        assert all(isinstance(v, bool) for v in truth.values()), f"{where}: truth not boolean"
        assert member["expected_rung"] in stage_ids(), where
        assert member["expected_rung"] == rung_from_truth(truth), (
            f"{where}: expected_rung {member['expected_rung']} but truth gives "
            f"{rung_from_truth(truth)}"
        )
        rungs.append(member["expected_rung"])
    assert data["expected_rung"] == lower_median(rungs), (
        f"{path.name}: team rung {data['expected_rung']}, lower median of {rungs} is "
        f"{lower_median(rungs)}"
    )


def check_answers(where: str, answers: Any) -> None:
    """Nine answers; a list is [vague first answer, follow-up], as the interview asks it."""
    assert isinstance(answers, dict) and list(answers) == question_ids(), f"{where}: answers"
    rule = coffee().follow_up
    for qid, answer in answers.items():
        asks_again = coffee().states[qid].follow_up is not None
        if isinstance(answer, list):
            assert asks_again, f"{where}: {qid} has no follow-up question"
            assert len(answer) == 2 and all(isinstance(a, str) and a.strip() for a in answer), (
                f"{where}: {qid} follow-up must be [first, follow-up]"
            )
            assert rule.is_vague(answer[0]), f"{where}: {qid} gets no follow-up: {answer[0]!r}"
        else:
            assert isinstance(answer, str) and answer.strip(), f"{where}: {qid} empty"
            # A vague answer would earn a follow-up the profile has no text for.
            assert not (asks_again and rule.is_vague(answer)), (
                f"{where}: {qid} is vague, give [it, follow-up]"
            )


def check_picks(where: str, picks: Any) -> None:
    choices = stage_check_choices()
    assert isinstance(picks, dict) and set(picks) == set(choices), f"{where}: picks"
    for sid, value in picks.items():
        assert value in choices[sid], f"{where}: {sid}={value!r} not in {sorted(choices[sid])}"


def all_profiles() -> list[dict[str, Any]]:
    return [load(path) for path in PROFILE_FILES]


def test_the_set_is_varied_as_the_issue_asks() -> None:
    profiles = all_profiles()
    rungs = Counter(p["expected_rung"] for p in profiles)
    # Roughly a quarter each: no rung below a sixth of the set.
    for stage in stage_ids():
        assert rungs[stage] * 6 >= len(profiles), f"too few {stage} teams: {dict(rungs)}"
    models = {m["business_model"] for p in profiles for m in p["members"]}
    assert models == business_models()
    assert len({p["sector"] for p in profiles}) == len(profiles), "sectors repeat"
    multi = [p for p in profiles if len(p["members"]) >= 2]
    split = [p for p in multi if len({m["business_model"] for m in p["members"]}) > 1]
    assert len(multi) >= 2 and split, "need teams of several members who disagree"
    # Picks that flatter or undersell what the text shows, and a follow-up to a vague answer.
    assert any(disagrees(m) for p in profiles for m in p["members"])
    assert any(
        isinstance(a, list) for p in profiles for m in p["members"] for a in m["answers"].values()
    )


def disagrees(member: Mapping[str, Any]) -> bool:
    picks, truth = member["picks"], member["truth"]
    owner_pick = picks["sc_owner"] in ("named", "company")
    listen_pick = picks["sc_listen"] in ("regularly", "acts")
    return owner_pick != bool(truth["owned"]) or listen_pick != bool(truth["listens"])

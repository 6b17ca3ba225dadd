"""The maturity ladder's rubric as data: rungs, their criteria, and the actions for each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.loader import FLOWS_DIR, Flow, FlowError, _read_yaml

TEXT_TESTS = ("measurable",)


@dataclass(frozen=True, slots=True)
class Action:
    """One concrete next step, worded for B2B and for B2C teams."""

    b2b: str
    b2c: str

    def worded_for(self, model: str | None) -> str:
        return self.b2c if model == "b2c" else self.b2b


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on one stored answer: a choice among `allowed`, or a named text test."""

    answer: str
    allowed: frozenset[str] = frozenset()
    matches: str | None = None


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    met: str
    unmet: str
    when: tuple[Condition, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    name: str
    rung: int
    summary: str
    criteria: tuple[Criterion, ...]
    sustain_actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Ladder:
    stages: tuple[Stage, ...]

    def stage(self, rung: int) -> Stage:
        return self.stages[rung - 1]


def _actions(path: Path, raw: Any, where: str) -> tuple[Action, ...]:
    actions = []
    for item in raw or ():
        if not isinstance(item, Mapping) or not item.get("b2b") or not item.get("b2c"):
            raise FlowError(path, "an action needs both `b2b` and `b2c` wording", state=where)
        actions.append(Action(b2b=str(item["b2b"]), b2c=str(item["b2c"])))
    return tuple(actions)


def load_ladder(path: Path | str | None = None, *, flow: Flow | None = None) -> Ladder:
    """Load the rubric; with `flow`, check every condition names a real state and choice."""
    path = Path(path) if path is not None else FLOWS_DIR / "ladder.yaml"
    data = _read_yaml(path)
    stages: list[Stage] = []
    for rung, raw in enumerate(data.get("stages") or (), start=1):
        sid = str(raw.get("id") or f"rung {rung}")
        if raw.get("rung") != rung:
            raise FlowError(
                path, f"stage is listed as rung {rung} but says {raw.get('rung')}", state=sid
            )
        criteria = []
        for crit in raw.get("criteria") or ():
            cid = f"{sid}.{crit.get('id')}"
            conditions = []
            for cond in crit.get("when") or ():
                name = cond.get("answer")
                matches = cond.get("matches")
                if matches is not None and matches not in TEXT_TESTS:
                    raise FlowError(path, f"unknown text test {matches!r}", state=cid)
                allowed = frozenset(str(v) for v in cond.get("in") or ())
                if flow is not None:
                    spec = flow.states.get(name)
                    if spec is None:
                        raise FlowError(path, f"condition reads unknown answer {name!r}", state=cid)
                    known = {c.value for c in spec.choices}
                    if allowed - known:
                        raise FlowError(
                            path, f"{name!r} has no choice {sorted(allowed - known)}", state=cid
                        )
                conditions.append(Condition(answer=str(name), allowed=allowed, matches=matches))
            if not conditions:
                raise FlowError(path, "a criterion needs at least one condition", state=cid)
            criteria.append(
                Criterion(
                    id=str(crit.get("id")),
                    met=str(crit.get("met")),
                    unmet=str(crit.get("unmet")),
                    when=tuple(conditions),
                    actions=_actions(path, crit.get("actions"), cid),
                )
            )
        stages.append(
            Stage(
                id=sid,
                name=str(raw.get("name") or sid.title()),
                rung=rung,
                summary=str(raw.get("summary") or ""),
                criteria=tuple(criteria),
                sustain_actions=_actions(path, raw.get("sustain_actions"), sid),
            )
        )
    if not stages:
        raise FlowError(path, "no stages")
    return Ladder(stages=tuple(stages))

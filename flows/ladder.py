"""The maturity ladder's rubric as data: rungs, their criteria, and the actions for each."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.loader import FLOWS_DIR, Flow, FlowError, _read_yaml

# Each slot an action's wording may use, and the fact from the member's answers it needs.
SLOT_NEEDS: dict[str, str] = {
    "network": "networks",
    "networks": "networks",
    "customers": "customers",
    "place": "places",
    "person": "people",
    "tool": "tools",
    "cadence": "cadences",
    "purpose": "purposes",
    "metric": "metric",
    "number": "number",
    "period": "period",
}
NEEDS = frozenset(SLOT_NEEDS.values())
MODELS = ("b2b", "b2c", "both")
_SLOT = re.compile(r"\{(\w*)\}")


@dataclass(frozen=True, slots=True)
class Action:
    """One concrete next step, worded for B2B, for B2C and for both.

    The wording may hold slots (`{network}`) filled from the member's answers; `needs`
    names the facts the slots use, so an action is only offered when they are there.
    """

    b2b: str
    b2c: str
    both: str = ""
    needs: frozenset[str] = frozenset()

    def worded_for(self, model: str | None) -> str:
        if model == "both" and self.both:
            return self.both
        return self.b2c if model == "b2c" else self.b2b


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on one stage-check answer: a choice among `allowed`."""

    answer: str
    allowed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Clarify:
    """The one question asked when a member's words and pick disagree on a criterion."""

    topic: str
    met: str
    unmet: str


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    met: str
    unmet: str
    when: tuple[Condition, ...]
    actions: tuple[Action, ...]
    clarify: Clarify | None = None
    # A pick alone never meets it: the answers have to show it (a measurable objective).
    text_required: bool = False


@dataclass(frozen=True, slots=True)
class Sustain:
    """A top-rung action that builds on criteria already met (`after`)."""

    after: frozenset[str]
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    name: str
    rung: int
    summary: str
    criteria: tuple[Criterion, ...]
    sustain: tuple[Sustain, ...] = ()


@dataclass(frozen=True, slots=True)
class Ladder:
    stages: tuple[Stage, ...]

    def stage(self, rung: int) -> Stage:
        return self.stages[rung - 1]

    def criteria(self) -> Iterator[tuple[Stage, Criterion]]:
        for stage in self.stages:
            for criterion in stage.criteria:
                yield stage, criterion


def _action(path: Path, item: Any, where: str) -> Action:
    if not isinstance(item, Mapping) or not all(item.get(m) for m in MODELS):
        raise FlowError(path, "an action needs `b2b`, `b2c` and `both` wording", state=where)
    needs = frozenset(str(n) for n in item.get("needs") or ())
    if unknown := needs - NEEDS:
        raise FlowError(path, f"an action needs unknown facts {sorted(unknown)}", state=where)
    for model in MODELS:
        for slot in _SLOT.findall(str(item[model])):
            if slot not in SLOT_NEEDS:
                raise FlowError(
                    path, f"unknown slot {{{slot}}} in the {model} wording", state=where
                )
            if SLOT_NEEDS[slot] not in needs:
                raise FlowError(
                    path,
                    f"the {model} wording uses {{{slot}}} but `needs` lacks {SLOT_NEEDS[slot]}",
                    state=where,
                )
    return Action(b2b=str(item["b2b"]), b2c=str(item["b2c"]), both=str(item["both"]), needs=needs)


def _actions(path: Path, raw: Any, where: str) -> tuple[Action, ...]:
    actions = tuple(_action(path, item, where) for item in raw or ())
    if raw is not None and not any(not a.needs for a in actions):
        # Advice never goes missing: the last alternative must work with no facts at all.
        raise FlowError(path, "the actions need one wording without `needs`", state=where)
    return actions


def _clarify(path: Path, raw: Any, where: str) -> Clarify | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(raw.get(k) for k in ("topic", "met", "unmet")):
        raise FlowError(
            path, "`clarify` needs a `topic`, a `met` and an `unmet` label", state=where
        )
    return Clarify(topic=str(raw["topic"]), met=str(raw["met"]), unmet=str(raw["unmet"]))


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
                conditions.append(Condition(answer=str(name), allowed=allowed))
            if not conditions:
                raise FlowError(path, "a criterion needs at least one condition", state=cid)
            criteria.append(
                Criterion(
                    id=str(crit.get("id")),
                    met=str(crit.get("met")),
                    unmet=str(crit.get("unmet")),
                    when=tuple(conditions),
                    actions=_actions(path, crit.get("actions"), cid),
                    clarify=_clarify(path, crit.get("clarify"), cid),
                    text_required=bool(crit.get("text_required")),
                )
            )
        stages.append(
            Stage(
                id=sid,
                name=str(raw.get("name") or sid.title()),
                rung=rung,
                summary=str(raw.get("summary") or ""),
                criteria=tuple(criteria),
                sustain=tuple(
                    Sustain(
                        after=frozenset(str(a) for a in item.get("after") or ()),
                        actions=_actions(path, item.get("actions"), f"{sid}.sustain"),
                    )
                    for item in raw.get("sustain") or ()
                ),
            )
        )
    if not stages:
        raise FlowError(path, "no stages")
    ladder = Ladder(stages=tuple(stages))
    known = {c.id for _, c in ladder.criteria()}
    for stage in ladder.stages:
        for sustain in stage.sustain:
            if unknown := sustain.after - known:
                raise FlowError(
                    path, f"`after` names unknown criteria {sorted(unknown)}", state=stage.id
                )
    return ladder

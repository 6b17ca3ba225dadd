"""Placing a member or a team on the maturity ladder, with the evidence and next actions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.messages import Evidence, StageCard
from bot.store import Answer
from flows import Condition, Flow, Ladder, Stage

# A measurable objective names a number or a metric, not just a wish.
_MEASURABLE = re.compile(
    r"\d|\b(kpis?|metrics?|measure[ds]?|track(ed|ing)?|rate|conversions?|leads?|"
    r"followers|reach|impressions|clicks|ctr|roi|revenue|sales|per (week|month|quarter))\b",
    re.IGNORECASE,
)
TEXT_TESTS = {"measurable": lambda text: bool(_MEASURABLE.search(text))}
MIN_ACTIONS, MAX_ACTIONS = 2, 4


@dataclass(frozen=True, slots=True)
class Placement:
    rung: int
    stage: Stage
    evidence: tuple[Evidence, ...]
    next_stage: Stage | None
    actions: tuple[str, ...]

    def card(self, ladder: Ladder) -> StageCard:
        return StageCard(
            rung=self.rung,
            stage=self.stage.name,
            summary=self.stage.summary,
            ladder=tuple(s.name for s in ladder.stages),
            evidence=self.evidence,
            next_stage=self.next_stage.name if self.next_stage else None,
            actions=self.actions,
        )


def _condition_met(
    cond: Condition, answers: Mapping[str, Answer], flow: Flow
) -> tuple[bool, tuple[str, str] | None]:
    answer = answers.get(cond.answer)
    spec = flow.states.get(cond.answer)
    label = spec.title or spec.prompt if spec else cond.answer
    if answer is None or answer.skipped:
        return False, (label, "not answered")
    if cond.allowed and (answer.value or "") not in cond.allowed:
        return False, (label, answer.text)
    if cond.matches and not TEXT_TESTS[cond.matches](answer.text):
        return False, (label, answer.text)
    return True, (label, answer.text)


def place(
    answers: Mapping[str, Answer], *, ladder: Ladder, flow: Flow, business_model: str | None
) -> Placement:
    """The highest rung whose criteria, and those of every rung below, are all met."""
    evidence: list[Evidence] = []
    unmet_by_rung: dict[int, list[Sequence[str]]] = {}
    rung = 1
    climbing = True
    for stage in ladder.stages[1:]:
        stage_met = True
        for criterion in stage.criteria:
            seen: list[tuple[str, str]] = []
            met = True
            for cond in criterion.when:
                ok, shown = _condition_met(cond, answers, flow)
                met = met and ok
                if shown:
                    seen.append(shown)
            evidence.append(
                Evidence(
                    stage=stage.name,
                    criterion=criterion.id,
                    met=met,
                    because=criterion.met if met else criterion.unmet,
                    answers=tuple(seen),
                )
            )
            if not met:
                stage_met = False
                unmet_by_rung.setdefault(stage.rung, []).append(
                    [a.worded_for(business_model) for a in criterion.actions]
                )
        if climbing and stage_met:
            rung = stage.rung
        else:
            climbing = False
    stage = ladder.stage(rung)
    next_stage = ladder.stage(rung + 1) if rung < len(ladder.stages) else None
    return Placement(
        rung=rung,
        stage=stage,
        evidence=tuple(evidence),
        next_stage=next_stage,
        actions=_actions(rung, ladder, unmet_by_rung, business_model),
    )


def _actions(
    rung: int,
    ladder: Ladder,
    unmet_by_rung: Mapping[int, list[Sequence[str]]],
    business_model: str | None,
) -> tuple[str, ...]:
    """The next rung's missing pieces first, then the rung after; 2 to 4 in all."""
    chosen: list[str] = []
    for target in range(rung + 1, len(ladder.stages) + 1):
        for group in unmet_by_rung.get(target, ()):
            for action in group:
                if action not in chosen and len(chosen) < MAX_ACTIONS:
                    chosen.append(action)
        if len(chosen) >= MIN_ACTIONS:
            break
    if len(chosen) < MIN_ACTIONS:
        for sustain in ladder.stages[-1].sustain_actions:
            text = sustain.worded_for(business_model)
            if text not in chosen:
                chosen.append(text)
    return tuple(chosen[:MAX_ACTIONS])


def team_rung(rungs: Sequence[int]) -> int | None:
    """The team's rung: the lower median of its members' placements (cautious on a tie)."""
    if not rungs:
        return None
    ordered = sorted(rungs)
    return ordered[(len(ordered) - 1) // 2]

"""Next actions built from the member's own answers.

The ladder's actions are templates (`flows/ladder.yaml`); each criterion offers the first
wording whose facts the member gave, so advice names their networks, customers, people and
numbers. Only unmet criteria give actions, and none that some answer shows the team doing
(even where a pick or other words outweighed it), so nothing the answers show is already
done is asked for; top-rung actions that build on a criterion (`after`) appear
only once it is met.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from bot.reader import Facts, Objective
from flows import Action, Criterion, Ladder, Stage
from flows.ladder import SLOT_NEEDS


class Judged(Protocol):
    """A criterion judged met or not (`bot.ladder.Judgement` is one)."""

    @property
    def stage(self) -> Stage: ...

    @property
    def criterion(self) -> Criterion: ...

    @property
    def met(self) -> bool: ...

    @property
    def text(self) -> str | None: ...

    @property
    def shown(self) -> bool: ...


MIN_ACTIONS, MAX_ACTIONS = 2, 4
FACT_CHARS = 60


def _short(text: str, limit: int = FACT_CHARS) -> str:
    text = " ".join(text.split()).strip(" .,;:")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _joined(items: Sequence[str], most: int = 2) -> str:
    shown = [_short(i, 30) for i in items[:most]]
    return " and ".join(shown)


def best_objective(facts: Facts) -> Objective | None:
    """The member's most nearly complete objective, one they did not negate."""
    candidates = [o for o in facts.objectives if not o.negated]
    if not candidates:
        return None
    return max(candidates, key=lambda o: sum(1 for p in (o.number, o.metric, o.period) if p))


def slots(facts: Facts) -> dict[str, str]:
    """What the action templates can name, from what the member wrote."""
    found: dict[str, str] = {}
    if facts.networks:
        found["network"] = facts.networks[0]
        found["networks"] = _joined(facts.networks)
    for slot, values in (
        ("customers", facts.customers),
        ("place", facts.places),
        ("person", facts.people),
        ("tool", facts.tools),
        ("cadence", facts.cadences),
        ("purpose", facts.purposes),
    ):
        if values:
            found[slot] = _short(values[0])
    objective = best_objective(facts)
    if objective is not None:
        for slot, value in (
            ("metric", objective.metric),
            ("number", objective.number),
            ("period", objective.period),
        ):
            if value:
                found[slot] = _short(value, 40)
    return found


def worded(actions: Iterable[Action], filled: Mapping[str, str], model: str | None) -> str | None:
    """The first action whose needs are all in `filled`, worded and filled in."""
    for action in actions:
        given = {SLOT_NEEDS[slot] for slot in filled}
        if action.needs <= given:
            text = action.worded_for(model)
            for slot, value in filled.items():
                text = text.replace("{" + slot + "}", value)
            return text
    return None


def next_actions(
    judgements: Sequence[Judged],
    facts: Facts,
    *,
    rung: int,
    ladder: Ladder,
    business_model: str | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The next rung's missing pieces first, then the rung after; 2 to 4 in all.

    Returns each action's ladder key (for the check-ins' smaller steps) and its text.
    """
    filled = slots(facts)
    chosen: list[tuple[str, str]] = []
    for target in range(rung + 1, len(ladder.stages) + 1):
        for judgement in judgements:
            # Unmet, but an answer shows them doing it: don't ask them to start it. A
            # measurable objective is its own test: one that falls short still gets advice.
            done = judgement.shown and not judgement.criterion.text_required
            if judgement.stage.rung != target or judgement.met or done:
                continue
            text = worded(judgement.criterion.actions, filled, business_model)
            if text is not None and len(chosen) < MAX_ACTIONS:
                chosen.append((f"{judgement.stage.id}.{judgement.criterion.id}", text))
        if len(chosen) >= MIN_ACTIONS:
            break
    if len(chosen) < MIN_ACTIONS:
        top = ladder.stages[-1]
        met = {j.criterion.id for j in judgements if j.met}
        for sustain in top.sustain:
            if sustain.after <= met and len(chosen) < MAX_ACTIONS:
                text = worded(sustain.actions, filled, business_model)
                if text is not None and all(text != t for _, t in chosen):
                    chosen.append((f"{top.id}.sustain", text))
    return tuple(k for k, _ in chosen), tuple(t for _, t in chosen)

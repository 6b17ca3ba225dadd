"""What a check-in offers next: the member's open commitments, or a smaller step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows import Action, FlowError, Ladder
from flows.loader import FLOWS_DIR


@dataclass(frozen=True, slots=True)
class Offer:
    kind: str
    action: str


def choose_next(
    candidates: Sequence[str],
    *,
    recalled: Sequence[str],
    done: frozenset[str],
    outcome: str,
    stalled_twice: bool,
    smaller: Callable[[str], str | None],
) -> Offer:
    """The step to offer: the next toward the next rung; a different one if the last was
    not done; a smaller one if it stalled twice (or if there is no other to offer)."""
    fresh = [a for a in candidates if a not in done and a not in recalled]
    if stalled_twice or (outcome != "done" and not fresh):
        for action in (*recalled, *candidates):
            if (small := smaller(action)) is not None and small not in recalled:
                return Offer("smaller", small)
    if outcome != "done" and fresh:
        return Offer("different", fresh[0])
    return Offer("next", (fresh or [a for a in candidates if a not in done] or candidates)[0])


def load_smaller_steps(ladder: Ladder, path: Path | None = None) -> dict[str, Action]:
    """Each ladder key (`<stage>.<criterion>`, `<stage>.sustain`) mapped to its smaller step."""
    path = path or FLOWS_DIR / "small_steps.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    steps = data.get("steps") or {}
    keys = [f"{stage.id}.{c.id}" for stage, c in ladder.criteria()]
    keys += [f"{stage.id}.sustain" for stage in ladder.stages if stage.sustain]
    smaller: dict[str, Action] = {}
    for key in keys:
        raw = steps.get(key)
        if not isinstance(raw, dict) or not raw.get("b2b") or not raw.get("b2c"):
            raise FlowError(path, "needs a smaller step with `b2b` and `b2c`", state=key)
        smaller[key] = Action(
            b2b=str(raw["b2b"]), b2c=str(raw["b2c"]), both=str(raw.get("both") or raw["b2b"])
        )
    return smaller

"""The reader's public types: quotes, signals, objectives, facts and the reading itself.

Everything here is what callers see; how the words are read lives beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flows.signals import Polarity


@dataclass(frozen=True, slots=True)
class Quote:
    """The member's exact words: `text == answer[start:end]` in answer `question`."""

    question: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence for or against a criterion, resting on a quote."""

    criterion: str
    polarity: Polarity
    cue: str
    quote: Quote
    # Rests on a concrete name, role, cadence, tool or number: beats a generic pick.
    specific: bool


@dataclass(frozen=True, slots=True)
class Objective:
    """A stated target: a number, a metric and a period make it measurable."""

    quote: Quote
    number: str | None
    metric: str | None
    period: str | None
    negated: bool

    @property
    def complete(self) -> bool:
        return bool(self.number and self.metric and self.period and not self.negated)

    def missing(self) -> tuple[str, ...]:
        """What keeps it from being measurable, in words advice can use."""
        gaps = []
        if not self.metric:
            gaps.append("a metric")
        if not self.number:
            gaps.append("a number")
        if not self.period:
            gaps.append("a date or period")
        return tuple(gaps)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the member named, in their own words, so advice can use them."""

    customers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    cadences: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    objectives: tuple[Objective, ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the reader found in one member's answers."""

    signals: tuple[Signal, ...]
    facts: Facts

    def signals_for(self, criterion: str) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.criterion == criterion)

    def shows(self, criterion: str) -> bool:
        """Some answer, read alone, shows the team doing it (whatever else says otherwise)."""
        return _satisfies(
            criterion, [s for s in self.signals_for(criterion) if s.polarity == "for"]
        )

    def verdict(self, criterion: str) -> Literal["met", "unmet"] | None:
        """What the text alone says: met, unmet, or None when it is silent or not enough.

        Some criteria need more than one kind of evidence to be met (an owner AND a
        rhythm; replies WITH a rhythm; a complete objective). Against evidence wins over
        weak for evidence; when both are strong, the more specific side wins.
        """
        signals = self.signals_for(criterion)
        if not signals:
            return None
        fors = [s for s in signals if s.polarity == "for"]
        against = [s for s in signals if s.polarity == "against"]
        strong = _satisfies(criterion, fors)
        if strong and not against:
            return "met"
        if criterion == "owned" and any(s.specific for s in against) and not _owned_together(fors):
            # "I post when I can" is how the posting happens: a rhythm met elsewhere (a
            # weekly listening slot) does not make it owned, unless one answer names both
            # an owner and their rhythm.
            return "unmet"
        if not strong:
            return "unmet" if against else None
        weight_for = sum(2 if s.specific else 1 for s in fors)
        weight_against = sum(2 if s.specific else 1 for s in against)
        return "met" if weight_for > weight_against else "unmet"


def _owned_together(fors: Sequence[Signal]) -> bool:
    """One answer names an owner and gives their rhythm."""
    owners = {s.quote.question for s in fors if s.cue == "named owner"}
    rhythms = {s.quote.question for s in fors if s.cue == "cadence"}
    return bool(owners & rhythms)


def _satisfies(criterion: str, fors: Sequence[Signal]) -> bool:
    cues = {s.cue for s in fors}
    if criterion == "owned":
        return "named owner" in cues and "cadence" in cues
    if criterion == "converses":
        return bool(cues & {"replies with a rhythm", "joins conversations"})
    if criterion == "measured":
        return "measurable objective" in cues
    return bool(fors)

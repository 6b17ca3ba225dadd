"""TEMPORARY stub of the reader's interface (replaced by the real reader on merge)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Polarity = Literal["for", "against"]


@dataclass(frozen=True, slots=True)
class Quote:
    question: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Signal:
    criterion: str
    polarity: Polarity
    cue: str
    quote: Quote
    specific: bool


@dataclass(frozen=True, slots=True)
class Objective:
    quote: Quote
    number: str | None
    metric: str | None
    period: str | None
    negated: bool

    @property
    def complete(self) -> bool:
        return bool(self.number and self.metric and self.period and not self.negated)

    def missing(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Facts:
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
    signals: tuple[Signal, ...] = ()
    facts: Facts = field(default_factory=Facts)

    def signals_for(self, criterion: str) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.criterion == criterion)

    def verdict(self, criterion: str) -> Literal["met", "unmet"] | None:
        found = self.signals_for(criterion)
        if not found:
            return None
        return "met" if found[-1].polarity == "for" else "unmet"


def read(texts: Sequence[tuple[str, str]], vocabulary: Any) -> Reading:
    return Reading()

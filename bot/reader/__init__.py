"""The reader: what a member's free-text answers say about each ladder criterion.

`read` turns (question id, text) pairs into signals for and against each criterion, each
resting on an exact span of the member's words, plus the facts they named (customers,
networks, people, tools, cadences, purposes, objectives) so advice can use their words.

It works clause by clause: a negation or a wish ("we don't", "we should") colours the rest
of its clause only, and is never read as practice. Everything is dictionary look-ups and
linear scans over the words, so cost grows with the length of the text and nothing else.

The package, one job a module: `records` the public types, `clauses` words, clauses and
their modes, `quotes` the exact words evidence rests on, `quantities` numbers, cadences,
periods and objectives, `people` named owners, `rules` the per-criterion rules, `facts`
the facts collector; `read` and `parse_objectives` here put them together.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.reader.clauses import _analyse, _Answer
from bot.reader.facts import _customers, _FactsBuilder
from bot.reader.quantities import _merge, _objectives
from bot.reader.records import Facts, Objective, Quote, Reading, Signal
from bot.reader.rules import _Out, _rules
from flows.signals import CRITERIA, Polarity, Vocabulary

__all__ = [
    "CRITERIA",
    "Facts",
    "Objective",
    "Polarity",
    "Quote",
    "Reading",
    "Signal",
    "parse_objectives",
    "read",
]


def _foreign(answer: _Answer) -> bool:
    """Six words or more, none of the small words and few known ones: another language.

    Shorter answers ("Sam answers reviews daily", "LinkedIn, Instagram") are often English
    notes without small words, so they are read.
    """
    if len(answer.words) < 6:
        return False
    known: set[int] = set()
    for cl in answer.clauses:
        for m in cl.matches:
            if m.group == "function_word":
                return False
            known.update(range(m.first, m.last))
    return len(known) * 2 < len(answer.words)


def parse_objectives(question: str, text: str, vocabulary: Vocabulary) -> tuple[Objective, ...]:
    """The targets one answer states, complete or not: "40 MQLs a quarter", "more leads"."""
    answer = _analyse(question, text, vocabulary)
    found: list[Objective] = []
    if _foreign(answer):
        return ()
    for objectives in _merge(text, [_objectives(cl, vocabulary) for cl in answer.clauses]):
        found.extend(objectives)
    return tuple(found)


def read(texts: Sequence[tuple[str, str]], vocabulary: Vocabulary) -> Reading:
    """Read every answer (the nine, follow-ups, edits) into signals and facts.

    Pure and linear in the length of the text: no I/O, no backtracking regex.
    """
    out = _Out()
    facts = _FactsBuilder()
    for question, text in texts:
        if not text or not text.strip():
            continue
        answer = _analyse(question, text, vocabulary)
        if question == "customers":
            for item in _customers(text, vocabulary):
                facts._add(facts.customers, item)
        for cl in answer.clauses:
            facts.clause(cl, vocabulary)
        if _foreign(answer):
            continue  # an English word inside French is no English statement
        per_clause = _merge(text, [_objectives(cl, vocabulary) for cl in answer.clauses])
        for cl, objectives in zip(answer.clauses, per_clause, strict=True):
            facts.objectives.extend(objectives)
            _rules(cl, vocabulary, out, objectives)
    return Reading(signals=tuple(out.signals), facts=facts.build())

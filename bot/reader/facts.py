"""The facts collector: what the member named, in their own words, for advice to use."""

from __future__ import annotations

import re

from bot.reader.clauses import _Clause
from bot.reader.people import _people
from bot.reader.quantities import _cadences, _outermost
from bot.reader.questions import HYPOTHETICAL_QUESTIONS, OWNER_QUESTIONS, PURPOSE_QUESTIONS
from bot.reader.records import Facts, Objective
from flows.signals import TOKEN, Vocabulary

# Words that open a list item without naming anyone: "mainly", "our customers are".
_LEADING = frozenset(
    {"mainly", "mostly", "primarily", "largely", "our", "existing", "customers", "clients",
     "are", "is", "we", "sell", "to", "work", "with", "serve", "also", "the", "main",
     "groups", "they're", "they", "and", "plus", "e", "g", "eg", "i", "e.g", "some",
     "currently", "today", "right", "now", "-", "customer", "client", "base", "of",
     "think", "would", "say", "probably", "like", "a", "an", "mix", "lot", "lots", "b2b",
     "b2c", "both"}
)  # fmt: skip
_ITEM_SPLIT = re.compile(r"[,;:\n\r•/&+()]|\.(?!\d)|\band\b|\bor\b|\bplus\b", re.IGNORECASE)
_ROLE_DETERMINERS = frozenset({"our", "my", "the", "each", "every", "a", "an", "one"})


def _customers(text: str, vocab: Vocabulary) -> list[str]:
    items: list[str] = []
    pos = 0
    pieces: list[tuple[int, int]] = []
    for m in _ITEM_SPLIT.finditer(text):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(text)))
    for lo, hi in pieces:
        tokens = [t for t in TOKEN.finditer(text, lo, hi)]
        while tokens and vocab.normalise(tokens[0].group().lower()) in _LEADING:
            tokens.pop(0)
        if tokens and tokens[0].group().lower() in ("who", "that", "which", "where", "whom"):
            continue  # "mums, who follow us for recipes": a remark about a group, not a group
        if not tokens or not any(c.isalpha() for t in tokens for c in t.group()):
            continue
        item = text[tokens[0].start() : tokens[-1].end()]
        if len(item) <= 80 and item not in items:
            items.append(item)
        if len(items) >= 8:
            break
    return items


def _place_spans(cl: _Clause, vocab: Vocabulary) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for place in cl.of("place", None):
        first, last = place.first, place.last
        while first > cl.first and place.last - first <= 5:
            joined = cl.ends_group(first, "network") or cl.ends_group(first, "place_modifier")
            if joined:
                first = joined.first
            elif _is_capitalised(cl, first - 1):
                first -= 1
            else:
                break
        if cl.word(last) in ("where", "for", "of", "about", "in", "on") and last + 1 < cl.last:
            tail = last + 1
            while tail < cl.last and tail - last <= 6 and not _soft_at(cl, tail):
                tail += 1
            last = tail
        spans.append((first, last))
    for j in range(cl.first, cl.last):
        if cl.words[j].startswith("r/"):
            spans.append((j, j + 1))
    return _outermost(spans)


def _is_capitalised(cl: _Clause, index: int) -> bool:
    raw = cl.text[cl.starts[index] : cl.ends[index]]
    return len(raw) > 1 and raw[0].isupper() and cl.words[index] not in _CAPS_STOP


# Capitalised at a sentence start, never part of a place's name: "We join groups".
_CAPS_STOP = frozenset({"we", "i", "our", "the", "a", "in", "on", "and", "join", "some"})


def _soft_at(cl: _Clause, index: int) -> bool:
    return "," in cl.text[cl.ends[index - 1] : cl.starts[index]]


class _FactsBuilder:
    def __init__(self) -> None:
        self.customers: list[str] = []
        self.networks: list[str] = []
        self.places: list[str] = []
        self.people: list[str] = []
        self.tools: list[str] = []
        self.tool_values: set[str] = set()
        self.cadences: list[str] = []
        self.purposes: list[str] = []
        self.objectives: list[Objective] = []

    @staticmethod
    def _add(items: list[str], value: str) -> None:
        if value.casefold() not in (i.casefold() for i in items):
            items.append(value)

    def clause(self, cl: _Clause, vocab: Vocabulary) -> None:
        purpose_context = (
            cl.question in PURPOSE_QUESTIONS
            or cl.question in HYPOTHETICAL_QUESTIONS
            or cl.has("goal_marker", None)
        )
        for m in cl.matches:
            if m.group == "network":
                self._add(self.networks, m.term.value)
            elif (
                m.group == "tool"
                and m.term.value not in self.tool_values
                and not cl.inside_longer(m)
            ):
                self.tool_values.add(m.term.value)
                self.tools.append(cl.text[m.start : m.end])
            elif m.group == "purpose" and cl.mode(m) != "negation" and purpose_context:
                self._add(self.purposes, m.term.value)
        for first, last in _place_spans(cl, vocab):
            self._add(self.places, cl.text[cl.starts[first] : cl.ends[last - 1]])
        if cl.question in HYPOTHETICAL_QUESTIONS:
            # Ideas for what social could be: nobody does that work on a rhythm yet.
            return
        for first, last in _cadences(cl):
            if cl.modes[first - cl.first] == "plain":
                self._add(self.cadences, cl.text[cl.starts[first] : cl.ends[last - 1]])
        for first, _ in _people(cl, vocab):
            if cl.modes[first - cl.first] == "plain":
                self._add(self.people, cl.text[cl.starts[first] : cl.ends[first]])
        about_work = cl.question in OWNER_QUESTIONS or bool(
            cl.of("owner_verb", None) or cl.of("work_verb", None) or cl.of("reply_verb", None)
        )
        if about_work:
            roles = cl.of("owner_role") + cl.of("beyond_role")
            for role in roles:
                if any(o.first <= role.first and role.last <= o.last and o != role for o in roles):
                    continue  # "staff" inside "shop staff"
                first = role.first
                if first > cl.first and cl.words[first - 1] in _ROLE_DETERMINERS:
                    first -= 1
                self._add(self.people, cl.text[cl.starts[first] : role.end])

    def build(self) -> Facts:
        return Facts(
            customers=tuple(self.customers),
            networks=tuple(self.networks),
            places=tuple(self.places),
            people=tuple(self.people),
            tools=tuple(self.tools),
            cadences=tuple(self.cadences),
            purposes=tuple(self.purposes),
            objectives=tuple(self.objectives),
        )

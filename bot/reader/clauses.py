"""One answer as words, clauses and vocabulary matches, each word coloured by its mode.

A negation or a wish ("we don't", "we should") colours the rest of its clause only, so
what is negated or wished for is never read as practice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from flows.signals import TOKEN, Term, Vocabulary

# Clause boundaries: sentence punctuation (not a decimal point), dashes, line breaks and
# the conjunctions that turn a sentence around. Each alternative is a fixed word or a
# single character class, so the scan is linear.
_BOUNDARY = re.compile(
    r"[.!?;](?!\d)|[\n\r•|\[\]]|\s[-–—]+\s"
    r"|\b(?:but|although|though|however|whereas|except|otherwise|apart from)\b",
    re.IGNORECASE,
)
_SPLIT_WORDS = frozenset({"but", "although", "though", "however", "whereas", "except", "and"})
_PRONOUNS = frozenset({"we", "i", "they", "our", "you", "he", "she", "it", "my", "their"})
_VERB_GROUPS = frozenset({"listen_verb", "reply_verb", "work_verb", "owner_verb"})
_DETERMINERS = frozenset(
    {"the", "a", "an", "our", "their", "your", "my", "his", "her", "its", "these", "those"}
)
# Words after which "review" or "reviews" is a verb rather than a noun.
_VERB_CONTEXT = frozenset({"we", "i", "they", "you", "to", "also", "then", "she", "he", "who"})
_NUMBER = re.compile(r"[$€£+]?\d")
_MODIFIERS = frozenset({"negation", "not_negation", "wish", "hedge", "restrictive"})
# Groups that stay when a longer phrase covers them: names are names inside any phrase.
_KEEP_INSIDE = frozenset(
    {
        "network",
        "tool",
        "place_modifier",
        "unit",
        "period_unit",
        "month",
        "weekday",
        "number_word",
        "bound",
        "relative",
        "deadline",
        "cadence_word",
        "count_noun",
        "hub_owned",
        "cue",
        "function_word",
        *_MODIFIERS,
    }
)
# Phrases that, when longer, rule out another reading of the words inside them: "reply
# time" is a metric, not a reply; "sales team" a role, not a purpose.
_DOMINATORS = frozenset(
    {"metric", "owner_role", "beyond_role", "approver", "hub", "hub_against", "purpose", "tool"}
)
Mode = Literal["plain", "negation", "wish"]


@dataclass(frozen=True, slots=True)
class _Match:
    term: Term
    first: int  # token indexes, end exclusive
    last: int
    start: int  # character offsets into the answer
    end: int
    group: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", self.term.group)


@dataclass(slots=True)
class _Clause:
    question: str
    text: str
    first: int  # token range of the clause
    last: int
    words: list[str]
    starts: list[int]
    ends: list[int]
    matches: list[_Match] = field(default_factory=list)
    modes: list[Mode] = field(default_factory=list)
    hedged: bool = False
    # Indexes so that every look-up is a dictionary hit, even in a 20,000-character clause.
    by_group: dict[str, list[_Match]] = field(default_factory=dict)
    by_first: dict[tuple[int, str], _Match] = field(default_factory=dict)
    by_last: dict[tuple[int, str], _Match] = field(default_factory=dict)
    singles: set[tuple[int, str]] = field(default_factory=set)
    numbers: frozenset[int] = frozenset()
    # Computed once per clause: rules and facts both ask.
    cached_cadences: list[tuple[int, int]] | None = None
    cached_periods: list[tuple[int, int]] | None = None
    cached_people: list[tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        for m in self.matches:
            self.by_group.setdefault(m.group, []).append(m)
            self.by_first.setdefault((m.first, m.group), m)
            self.by_last.setdefault((m.last, m.group), m)
            if m.last == m.first + 1:
                self.singles.add((m.first, m.group))
        self.numbers = frozenset(
            k
            for k in range(self.first, self.last)
            if _NUMBER.match(self.words[k]) or (k, "number_word") in self.singles
        )

    def mode(self, match: _Match) -> Mode:
        return self.modes[match.first - self.first]

    def of(self, group: str, mode: Mode | None = "plain") -> list[_Match]:
        found = self.by_group.get(group, [])
        if mode is None:
            return list(found)
        return [m for m in found if self.modes[m.first - self.first] == mode]

    def has(self, group: str, mode: Mode | None = "plain") -> bool:
        return bool(self.of(group, mode))

    def word(self, index: int) -> str:
        return self.words[index] if self.first <= index < self.last else ""

    def is_number(self, index: int) -> bool:
        return index in self.numbers

    def _single(self, index: int, group: str) -> bool:
        return (index, group) in self.singles

    def starts_group(self, index: int, group: str) -> _Match | None:
        return self.by_first.get((index, group))

    def inside_longer(self, match: _Match) -> bool:
        """Another phrase of the same group covers it: "Business Suite" in "Meta Business Suite"."""
        return any(
            o.first <= match.first
            and match.last <= o.last
            and o.last - o.first > match.last - match.first
            for o in self.by_group.get(match.group, ())
        )

    def ends_group(self, index: int, group: str) -> _Match | None:
        """The match of `group` ending just before word `index`."""
        return self.by_last.get((index, group))

    def span(self, first: int, last: int) -> tuple[int, int]:
        return self.starts[first], self.ends[last - 1]


@dataclass(slots=True)
class _Answer:
    question: str
    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    clauses: list[_Clause]


def _lower(text: str) -> str:
    # Offsets must stay valid: a few characters ("İ") grow when lower-cased.
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _analyse(question: str, text: str, vocab: Vocabulary) -> _Answer:
    low = _lower(text)
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    soft: list[bool] = []
    clause_of: list[int] = []
    boundaries = [m.start() for m in _BOUNDARY.finditer(low)]
    b = 0
    clause = 0
    previous_end = 0
    for match in TOKEN.finditer(low):
        start = match.start()
        while b < len(boundaries) and boundaries[b] <= start:
            b += 1
            clause = b
        words.append(vocab.normalise(match.group()))
        starts.append(start)
        ends.append(match.end())
        gap = low[previous_end:start]
        soft.append("," in gap or ":" in gap or "(" in gap or ")" in gap)
        clause_of.append(clause)
        previous_end = match.end()

    matches = _find(vocab, text, words, starts, ends, clause_of)
    clauses: list[_Clause] = []
    i = 0
    m = 0
    while i < len(words):
        j = i
        while j < len(words) and clause_of[j] == clause_of[i]:
            j += 1
        first = i
        # A clause split at "but" reads better without the "but".
        if words[i] in _SPLIT_WORDS and j - i > 1:
            first = i + 1
        clause_matches = []
        while m < len(matches) and matches[m].first < j:
            if matches[m].first >= first:
                clause_matches.append(matches[m])
            m += 1
        cl = _Clause(question, text, first, j, words, starts, ends, clause_matches)
        _colour(cl, soft)
        clauses.append(cl)
        i = j
    return _Answer(question, text, words, starts, ends, clauses)


def _find(
    vocab: Vocabulary,
    text: str,
    words: list[str],
    starts: list[int],
    ends: list[int],
    clause_of: list[int],
) -> list[_Match]:
    found: list[_Match] = []
    n = len(words)
    for i, word in enumerate(words):
        lengths = vocab.lengths.get(word)
        if not lengths:
            continue
        for length in lengths:
            last = i + length
            if last > n or clause_of[last - 1] != clause_of[i]:
                continue
            terms = vocab.terms.get(tuple(words[i:last]))
            if not terms:
                continue
            for term in terms:
                if term.exact and text[starts[i] : ends[last - 1]] != term.exact:
                    continue
                found.append(_Match(term, i, last, starts[i], ends[last - 1]))
    return _prune(found, words)


def _prune(found: list[_Match], words: list[str]) -> list[_Match]:
    """Drop readings a longer phrase rules out ("reply" inside "reply time")."""
    by_first: dict[int, list[_Match]] = {}
    longest = 1
    # The longest phrase covering each word: most words sit in no phrase longer than one.
    cover: dict[int, int] = {}
    for m in found:
        by_first.setdefault(m.first, []).append(m)
        length = m.last - m.first
        longest = max(longest, length)
        if length > 1 and m.group in _DOMINATORS:
            for k in range(m.first, m.last):
                cover[k] = max(cover.get(k, 0), length)
    kept: list[_Match] = []
    for m in found:
        if m.group in _KEEP_INSIDE:
            kept.append(m)
            continue
        if cover.get(m.first, 0) > m.last - m.first:
            near = (
                o
                for start in range(max(0, m.first - longest + 1), m.first + 1)
                for o in by_first.get(start, ())
            )
            if any(
                m.last <= o.last
                and (o.last - o.first) > (m.last - m.first)
                and o.group in _DOMINATORS
                and o.group != m.group
                for o in near
            ):
                continue
        _keep_noun(m, by_first, words, kept)
    return kept


def _keep_noun(
    m: _Match, by_first: dict[int, list[_Match]], words: list[str], kept: list[_Match]
) -> None:
    if m.group in _VERB_GROUPS and m.first > 0 and words[m.first - 1] in _DETERMINERS:
        return  # "the answers", "our posts": a noun, whatever else the word can be
    if m.group == "listen_verb" and m.last - m.first == 1:
        # "reviews" and "comments" are nouns unless a subject or "to" comes before.
        noun = any(o.group in ("listen_object", "reply_object") for o in by_first[m.first])
        if noun and (m.first == 0 or words[m.first - 1] not in _VERB_CONTEXT):
            return
    kept.append(m)


def _colour(cl: _Clause, soft: list[bool]) -> None:
    """Mark each word of the clause plain, negated or wished; note a hedge."""
    size = cl.last - cl.first
    modes: list[Mode] = ["plain"] * size
    masked = {
        k
        for m in cl.of("not_negation", None) + cl.of("hedge", None)
        for k in range(m.first, m.last)
    }
    cl.hedged = cl.has("hedge", None)
    # A wish colours the rest of its clause. After "if" it runs across commas ("if we
    # had time, we'd..."); otherwise ", we already have a blog" starts afresh. Each word
    # is marked at most twice, so this stays linear.
    covered = cl.first
    for wish in sorted(cl.of("wish", None), key=lambda w: w.first):
        conditional = cl.words[wish.first] == "if"
        if wish.first < covered and not conditional:
            continue
        k = max(wish.last, covered)
        while k < cl.last:
            if not conditional and k > wish.last and soft[k] and cl.words[k] in _PRONOUNS:
                break
            modes[k - cl.first] = "wish"
            k += 1
        covered = max(covered, k)
    negated = [False] * size
    for m in cl.of("negation", None):
        if m.first in masked:
            continue
        k = m.last
        # A negation runs to the next comma or "and we"; reaching an earlier negation's
        # scope means the rest is already marked, which keeps this linear.
        while k < cl.last and not negated[k - cl.first]:
            if k > m.last and soft[k]:
                break
            if cl.words[k] in ("and", "or", "so", "then") and cl.word(k + 1) in _PRONOUNS:
                break
            negated[k - cl.first] = True
            if modes[k - cl.first] == "plain":
                modes[k - cl.first] = "negation"
            k += 1
    cl.modes = modes

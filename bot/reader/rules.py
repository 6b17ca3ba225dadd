"""The reader: what a member's free-text answers say about each ladder criterion.

`read` turns (question id, text) pairs into signals for and against each criterion, each
resting on an exact span of the member's words, plus the facts they named (customers,
networks, people, tools, cadences, purposes, objectives) so advice can use their words.

It works clause by clause: a negation or a wish ("we don't", "we should") colours the rest
of its clause only, and is never read as practice. Everything is dictionary look-ups and
linear scans over the words, so cost grows with the length of the text and nothing else.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from flows.signals import CRITERIA, TOKEN, Polarity, Term, Vocabulary

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

MAX_QUOTE = 120
# The question that asks how social COULD help: its answers are hopes, not practice.
HYPOTHETICAL_QUESTIONS = frozenset({"experience"})
# Answers where a purpose word is a purpose without saying "our goal is".
PURPOSE_QUESTIONS = frozenset({"pathway", "success"})
# Answers where a role or a rhythm is about running the presence.
OWNER_QUESTIONS = frozenset({"owners", "sustain"})

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
_COMMA = re.compile(r",(?!\d)")  # a comma that is not a thousands separator
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEAR_BOUNDS = frozenset({"by", "before", "until", "till", "end", "of"})
_DEADLINE_FILLERS = frozenset({"the", "end", "of", "start", "beginning", "middle", "next", "this"})
_TIMES_OF_DAY = frozenset({"morning", "mornings", "afternoon", "afternoons", "evening",
                           "evenings", "night", "nights", "lunchtime"})  # fmt: skip
_CADENCE_LEADS = frozenset({"a", "an", "per", "each", "every", "/"})
_JOIN_VERBS = frozenset(
    {"join", "take part in", "jump into", "participate in", "chime in", "weigh in", "engage"}
)
# Verbs that are social work by themselves: "store staff post their picks".
_SOCIAL_VERBS = frozenset({"post", "repost", "reshare", "film", "go live", "take over", "moderate"})
# Words between a subject and its verb: "customers who often reply".
_SUBJECT_SKIP = frozenset(
    {"who", "also", "often", "usually", "always", "sometimes", "then", "really", "all",
     "regularly", "actually", "just", "do", "that", "will", "would", "can"}
)  # fmt: skip
# How many words apart two parts of one piece of evidence may be.
_NEAR = 12
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


# --- the public types ------------------------------------------------------------------


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
        if not strong:
            return "unmet" if against else None
        weight_for = sum(2 if s.specific else 1 for s in fors)
        weight_against = sum(2 if s.specific else 1 for s in against)
        return "met" if weight_for > weight_against else "unmet"


def _satisfies(criterion: str, fors: Sequence[Signal]) -> bool:
    cues = {s.cue for s in fors}
    if criterion == "owned":
        return "named owner" in cues and "cadence" in cues
    if criterion == "converses":
        return bool(cues & {"replies with a rhythm", "joins conversations"})
    if criterion == "measured":
        return "measurable objective" in cues
    return bool(fors)


# --- one answer, as words, clauses and matches -----------------------------------------


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


# --- quotes ----------------------------------------------------------------------------


def _quote(cl: _Clause, anchor_start: int | None = None, anchor_end: int | None = None) -> Quote:
    """The clause the evidence sits in, clipped around the evidence to a readable length."""
    start, end = cl.span(cl.first, cl.last)
    if end - start > MAX_QUOTE:
        a_start = anchor_start if anchor_start is not None else start
        a_end = anchor_end if anchor_end is not None else a_start
        a_end = min(a_end, a_start + MAX_QUOTE)
        spare = MAX_QUOTE - (a_end - a_start)
        lo = max(start, a_start - spare // 2)
        hi = min(end, lo + MAX_QUOTE)
        lo = max(start, hi - MAX_QUOTE)
        # Snap to whole words inside the window.
        first = bisect_left(cl.starts, lo, cl.first, cl.last)
        last = bisect_right(cl.ends, hi, cl.first, cl.last) - 1
        if first <= last:
            start, end = cl.starts[first], cl.ends[last]
        else:
            start, end = lo, hi
    return Quote(cl.question, start, end, cl.text[start:end])


def _span_quote(cl: _Clause, first: int, last: int) -> Quote:
    start, end = cl.span(first, last)
    if end - start > MAX_QUOTE:
        return _quote(cl, start, end)
    return Quote(cl.question, start, end, cl.text[start:end])


# --- cadences and periods --------------------------------------------------------------


def _unit_at(cl: _Clause, index: int) -> _Match | None:
    for group in ("unit", "period_unit", "weekday"):
        found = cl.starts_group(index, group)
        if found:
            return found
    return None


def _cadences(cl: _Clause) -> list[tuple[int, int]]:
    """Spans of rhythms: "weekly", "every Monday", "3 posts a week", "20 minutes a day"."""
    if cl.cached_cadences is None:
        cl.cached_cadences = _find_cadences(cl)
    return cl.cached_cadences


def _find_cadences(cl: _Clause) -> list[tuple[int, int]]:
    spans = [(m.first, m.last) for m in cl.of("cadence_word", None)]
    for j in range(cl.first, cl.last):
        word = cl.words[j]
        if word in ("every", "each"):
            k = j + 1
            if cl.is_number(k) or cl.word(k) == "other":
                k += 1
            unit = _unit_at(cl, k)
            if unit:
                spans.append((j, unit.last))
            continue
        if word == "on" and cl.word(j + 1).endswith("s") and cl.starts_group(j + 1, "weekday"):
            spans.append((j, j + 2))
            continue
        # "Sunday evening I schedule the week": a weekday and a time of day is a habit.
        if cl.starts_group(j, "weekday") and cl.word(j + 1) in _TIMES_OF_DAY:
            spans.append((j, j + 2))
            continue
        money = word[:1] in "$€£"
        counted = (cl.is_number(j) and not money) or word in ("once", "twice")
        if money or (not counted and not (word in ("a", "an") and _unit_at(cl, j + 1))):
            continue
        # COUNT [thing] LEAD UNIT: "3 posts a week", "once a month", "an hour a day".
        k = j + 1
        if cl.word(k) in ("times", "x") or cl.starts_group(k, "count_noun") or _unit_at(cl, k):
            k += 1
        if k > j + 1 or counted:
            unit = _unit_at(cl, k + 1) if cl.word(k) in _CADENCE_LEADS else None
            if unit:
                spans.append((j, unit.last))
    return _outermost(spans)


def _outermost(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    ordered = sorted(set(spans), key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int]] = []
    for span in ordered:
        if out and span[0] < out[-1][1]:
            continue
        out.append(span)
    return out


def _periods(cl: _Clause) -> list[tuple[int, int]]:
    """Spans of periods and deadlines: "a quarter", "by June", "within 2 hours", "YoY"."""
    if cl.cached_periods is None:
        cl.cached_periods = _find_periods(cl)
    return cl.cached_periods


def _find_periods(cl: _Clause) -> list[tuple[int, int]]:
    spans = [(m.first, m.last) for m in cl.of("relative", None)]
    for j in range(cl.first, cl.last):
        word = cl.words[j]
        if word in ("a", "an", "per", "each", "every", "this", "next", "/"):
            unit = cl.starts_group(j + 1, "period_unit")
            if unit:
                spans.append((j, unit.last))
    for bound in cl.of("bound", None):
        k = bound.last
        skipped = 0
        while cl.word(k) in _DEADLINE_FILLERS and skipped < 4:
            k += 1
            skipped += 1
        # "by 14 May": a day of the month before the month's name.
        if cl.is_number(k) and (month := cl.starts_group(k + 1, "month")):
            spans.append((bound.first, month.last))
            continue
        target = (
            cl.starts_group(k, "month")
            or cl.starts_group(k, "deadline")
            or cl.starts_group(k, "period_unit")
        )
        if target:
            spans.append((bound.first, target.last))
            continue
        if _YEAR.fullmatch(cl.word(k)):
            if cl.words[bound.first] in _YEAR_BOUNDS or cl.word(k - 1) in _YEAR_BOUNDS:
                spans.append((bound.first, k + 1))
            continue
        if cl.is_number(k):
            unit = _unit_at(cl, k + 1)
            if unit:
                spans.append((bound.first, unit.last))
    # "3 months" alone is not a bound; "24h" style is covered by the bound rule above.
    return _outermost(spans)


# --- objectives ------------------------------------------------------------------------


def _objectives(cl: _Clause, vocab: Vocabulary) -> list[Objective]:
    # One reading per span: "sales" is both a count and money.
    by_span: dict[tuple[int, int], _Match] = {}
    kinds: dict[tuple[int, int], set[str]] = {}
    for m in cl.of("metric", None):
        by_span.setdefault((m.first, m.last), m)
        kinds.setdefault((m.first, m.last), set()).add(m.term.kind)
    # "revenue" inside "revenue from social" is the same metric, read once.
    metrics: list[_Match] = []
    for span in sorted(by_span, key=lambda k: (k[0], -k[1])):
        if metrics and span[1] <= metrics[-1].last:
            continue
        metrics.append(by_span[span])
    periods = _periods(cl)
    numbers: set[int] = set()
    # "no one", "one day": number words inside a negation or a wish are not numbers.
    inside = {
        k
        for g in ("negation", "wish", "hedge", "not_negation")
        for m in cl.of(g, None)
        for k in range(m.first, m.last)
    }
    for j in range(cl.first, cl.last):
        if not cl.is_number(j) or j in inside:
            continue
        word = cl.words[j]
        if _YEAR.fullmatch(word):
            continue
        if cl.word(j - 1) == "/" or (cl.word(j + 1) and cl.words[j + 1] == "7" and word == "24"):
            continue
        numbers.add(j)

    # Durations ("reply time under 2 hours"): the bound is the number and the period.
    found: list[Objective] = []
    used_numbers: set[int] = set()
    used_metrics: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int, _Match]] = []
    for m in metrics:
        if "durations" in kinds[(m.first, m.last)]:
            continue
        for j in (j for j in range(m.first - 5, m.last + 5) if j in numbers):
            distance = m.first - j - 1 if j < m.first else j - m.last
            if distance < 0 or distance > 4:
                continue
            word = cl.words[j]
            money = word[:1] in "$€£" or cl.word(j + 1) in ("dollars", "euros", "pounds", "k")
            if money and "money" not in kinds[(m.first, m.last)]:
                continue
            # "(target 25), follower growth": a bracket, or a comma before the metric, keeps
            # them apart; "Applications per vacancy, we want 20" still pairs.
            lo, hi = (cl.ends[j], m.start) if j < m.first else (m.end, cl.starts[j])
            between = cl.text[lo:hi]
            if "(" in between or ")" in between or (j < m.first and _COMMA.search(between)):
                continue
            counted = cl.starts_group(j + 1, "count_noun") and not word.endswith("%")
            # "1,000 newsletter sign-ups": a count noun can be the first half of the metric.
            if counted and m.first not in (j + 1, j + 2):
                continue  # "5 posts a week", "3 people": a cadence or a team, not a target
            pairs.append((distance, j, m))
    # "from 4,000 to 6,000 subscribers": the target is the number after "to".
    pairs = [
        p
        for p in pairs
        if not (
            cl.word(p[1] - 1) == "from" and any(cl.word(k) == "to" for k in (p[1] + 1, p[1] + 2))
        )
    ]
    # Nearest first; on a tie the metric after the number ("Reach 10,000 followers").
    pairs.sort(key=lambda p: (p[0], p[2].first < p[1], p[1]))
    chosen: list[tuple[int, _Match]] = []
    for _, j, m in pairs:
        if j in used_numbers or (m.first, m.last) in used_metrics:
            continue
        used_numbers.add(j)
        used_metrics.add((m.first, m.last))
        chosen.append((j, m))
    for m in metrics:
        if "durations" not in kinds[(m.first, m.last)]:
            continue
        for p in periods:
            numbered = [k for k in range(p[0], p[1]) if cl.is_number(k)]
            after = m.last <= p[0] <= m.last + 4
            before = m.first - 4 <= p[1] <= m.first
            near = after or before
            if numbered and near:
                used_metrics.add((m.first, m.last))
                found.append(_make(cl, vocab, numbered[0], m, p, periods))
                break

    for j, m in chosen:
        found.append(_make(cl, vocab, j, m, None, periods))
    goal_context = cl.question == "success" or cl.has("goal_marker", None)
    for m in metrics:
        if (m.first, m.last) in used_metrics or (cl.mode(m) == "wish" and not goal_context):
            continue
        if goal_context:
            found.append(_make(cl, vocab, None, m, None, periods))
    if goal_context:
        # "We'd like 15 a month by Q2": a number and a period whose metric may be in the
        # clause before ("Leads from LinkedIn."); `_merge` joins them.
        in_periods = {k for p in periods for k in range(p[0], p[1])}
        for j in sorted(numbers - used_numbers - in_periods):
            word = cl.words[j]
            if word[:1] in "$€£" or cl.starts_group(j + 1, "count_noun") or _unit_at(cl, j + 1):
                continue
            if any(m.first - 5 <= j <= m.last + 4 for m in metrics):
                continue  # "from 4,000 to 6,000 subscribers": it belongs to that metric
            beside = [p for p in periods if max(p[0] - j - 1, j - p[1], 0) <= 3]
            if beside:
                found.append(_bare(cl, j, beside[0]))
    found.sort(key=lambda o: o.quote.start)
    return found


def _bare(cl: _Clause, number: int, period: tuple[int, int]) -> Objective:
    first, last = min(number, period[0]), max(number + 1, period[1])
    negated = any(cl.modes[k - cl.first] == "negation" for k in range(first, last))
    return Objective(
        _span_quote(cl, first, last),
        cl.text[cl.starts[number] : cl.ends[number]].lstrip("+"),
        None,
        cl.text[cl.starts[period[0]] : cl.ends[period[1] - 1]],
        negated,
    )


def _merge(text: str, per_clause: list[list[Objective]]) -> list[list[Objective]]:
    """Join a metric with no number to a number with no metric in the next clause."""
    for i in range(1, len(per_clause)):
        before, after = per_clause[i - 1], per_clause[i]
        metric = next((o for o in before if o.metric and not o.number), None)
        bare = next((o for o in after if o.number and not o.metric), None)
        if not metric or not bare:
            continue
        start, end = metric.quote.start, bare.quote.end
        quote = Quote(bare.quote.question, start, end, text[start:end])
        if end - start > MAX_QUOTE:
            quote = bare.quote
        joined = Objective(quote, bare.number, metric.metric, bare.period,
                           metric.negated or bare.negated)  # fmt: skip
        before.remove(metric)
        after[after.index(bare)] = joined
    return per_clause


def _make(
    cl: _Clause,
    vocab: Vocabulary,
    number: int | None,
    metric: _Match,
    period: tuple[int, int] | None,
    periods: list[tuple[int, int]],
) -> Objective:
    metric_last = metric.last
    # "leads from LinkedIn", "revenue from social": the source belongs to the metric.
    if cl.word(metric_last) in ("from", "via", "through", "on") and (
        cl.starts_group(metric_last + 1, "network") or cl.word(metric_last + 1) == "social"
    ):
        source = cl.starts_group(metric_last + 1, "network")
        metric_last = source.last if source else metric_last + 2
    anchor = [metric.first, metric_last]
    if number is not None:
        anchor += [number, number + 1]
    first, last = min(anchor), max(anchor)
    # "Our weekly newsletter": a rhythm word before the target describes, it doesn't bound.
    usable = [p for p in periods if p[0] >= first or not cl.starts_group(p[0], "relative")]
    if period is None and usable:
        period = min(usable, key=lambda p: max(p[0] - last, first - p[1], 0))
    # The period joins the quote when it sits right beside the number and metric.
    if period is not None and (period[0] == last or period[1] == first):
        lo, hi = (last, period[0]) if period[0] == last else (period[1], first)
        if "," not in cl.text[cl.ends[lo - 1] : cl.starts[hi]]:
            first, last = min(first, period[0]), max(last, period[1])
    # A target someone only wished for ("we should aim for 5,000") is not an objective.
    negated = any(cl.modes[k - cl.first] != "plain" for k in range(first, last))
    number_text = None
    if number is not None:
        number_text = cl.text[cl.starts[number] : cl.ends[number]].lstrip("+")
    metric_text = cl.text[cl.starts[metric.first] : cl.ends[metric_last - 1]]
    period_text = cl.text[cl.starts[period[0]] : cl.ends[period[1] - 1]] if period else None
    quote = _span_quote(cl, first, last) if number is not None else _quote(cl, metric.start)
    return Objective(quote, number_text, metric_text, period_text, negated)


# --- people ----------------------------------------------------------------------------


def _is_name(cl: _Clause, vocab: Vocabulary, index: int) -> bool:
    raw = cl.text[cl.starts[index] : cl.ends[index]]
    if len(raw) < 2 or not raw.isalpha() or not raw[0].isupper() or not raw[1:].islower():
        return False
    word = cl.words[index]
    # A word that starts any known phrase ("Google" of "Google reviews") is not a name.
    return word not in vocab.not_names and word not in vocab.lengths


def _people(cl: _Clause, vocab: Vocabulary) -> list[tuple[int, int]]:
    """Named people in an owner position: "Priya runs it", "owned by Tom", "our intern Jake"."""
    if cl.cached_people is None:
        cl.cached_people = _find_people(cl, vocab)
    return cl.cached_people


def _find_people(cl: _Clause, vocab: Vocabulary) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for j in range(cl.first, cl.last):
        if not _is_name(cl, vocab, j):
            continue
        k = j + 1
        while cl.word(k) in ("and", "&") and k + 1 < cl.last and _is_name(cl, vocab, k + 1):
            k += 2
        after = cl.starts_group(k, "owner_verb") or cl.starts_group(k, "work_verb")
        if cl.word(k) in ("is", "will", "now", "also", "usually", "mostly", "then"):
            after = after or cl.starts_group(k + 1, "owner_verb") or _role_near(cl, k + 1)
        if cl.word(k) == "our":
            after = after or _role_near(cl, k + 1)
        # "Priya (marketing manager) owns it", "Priya, our community manager".
        after = after or _role_near(cl, k)
        before = any(cl.ends_group(j, g) for g in ("owner_prep", "owner_role", "beyond_role"))
        # "Tom in sales and Priya in marketing share it": names before the verb.
        later = cl.question == "owners" and any(
            cl.starts_group(i, "owner_verb") or cl.starts_group(i, "work_verb")
            for i in range(j + 1, min(j + 8, cl.last))
        )
        if after or before or later:
            found.append((j, j + 1))
    return found


def _role_near(cl: _Clause, index: int) -> _Match | None:
    for k in (index, index + 1):
        role = cl.starts_group(k, "owner_role") or cl.starts_group(k, "beyond_role")
        if role:
            return role
    return None


# --- the rules, one criterion at a time ------------------------------------------------


class _Emit(Protocol):
    def __call__(
        self,
        criterion: str,
        polarity: Polarity,
        cue: str,
        anchor: _Match | None,
        specific: bool,
        quote: Quote | None = None,
    ) -> None: ...


class _Out:
    """Collects signals once each, in reading order."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.seen: set[tuple[str, str, str, int, str]] = set()

    def add(
        self, criterion: str, polarity: Polarity, cue: str, quote: Quote, specific: bool
    ) -> None:
        # Two kinds of evidence in one clause both count ("Priya posts daily": an owner and a
        # rhythm); two readings of one objection are one objection.
        key = (criterion, polarity, quote.question, quote.start, cue if polarity == "for" else "")
        if key in self.seen:
            return
        self.seen.add(key)
        self.signals.append(Signal(criterion, polarity, cue, quote, specific))


def _mode_cue(mode: Mode) -> str:
    return "wish" if mode == "wish" else "negation"


def _first_off(cl: _Clause, *groups: str) -> tuple[Mode, _Match] | None:
    """The first match of these groups read as a negation or a wish."""
    for m in cl.matches:
        if m.group in groups and cl.mode(m) != "plain":
            return cl.mode(m), m
    return None


def _rules(cl: _Clause, vocab: Vocabulary, out: _Out, objectives: list[Objective]) -> None:
    hypothetical = cl.question in HYPOTHETICAL_QUESTIONS

    def emit(criterion: str, polarity: Polarity, cue: str, anchor: _Match | None,
             specific: bool, quote: Quote | None = None) -> None:  # fmt: skip
        if hypothetical and (polarity == "for" or cue == "wish"):
            return
        if quote is None:
            quote = _quote(cl, anchor.start if anchor else None, anchor.end if anchor else None)
        out.add(criterion, polarity, cue, quote, specific)

    cadences = _cadences(cl)
    plain_cadences = [c for c in cadences if cl.modes[c[0] - cl.first] == "plain"]
    off_cadences = [c for c in cadences if cl.modes[c[0] - cl.first] != "plain"]
    concrete = bool(plain_cadences or cl.has("tool") or cl.has("network") or cl.has("place"))

    # The vocabulary's whole phrases first: their labels say more than a rule's.
    _cue_phrases(cl, emit)
    _listens(cl, emit, plain_cadences, concrete)
    _tailors(cl, emit, concrete)
    _objectives_rule(cl, emit)
    _converses(cl, emit, plain_cadences)
    _owned(cl, vocab, emit, plain_cadences, off_cadences)
    _hub(cl, emit, plain_cadences)
    _beyond(cl, emit)
    _measured(cl, emit, objectives)


def _cue_phrases(cl: _Clause, emit: _Emit) -> None:
    """Whole phrases from the vocabulary's criteria section, after the rules."""
    wishes = cl.of("wish", None)
    negations = cl.of("negation", None)
    for m in cl.matches:
        if m.group != "cue":
            continue
        criterion, polarity = m.term.kind.split(":")
        if polarity == "for":
            if cl.mode(m) == "plain" and not cl.hedged:
                emit(criterion, "for", m.term.value, m, True)
            continue
        # A wish or a negation that names the practice says the team doesn't do it (yet).
        wished = cl.mode(m) == "wish" or any(w.first < m.last and m.first < w.last for w in wishes)
        negated = cl.mode(m) == "negation" or any(
            n.first < m.last and m.first < n.last for n in negations
        )
        cue = "wish" if wished else "negation" if negated else m.term.value
        emit(criterion, "against", cue, m, False)


def _by_others(cl: _Clause, verb: _Match) -> bool:
    """The verb's subject is the customers, not the team: "homeowners who read reviews"."""
    if cl.question == "customers" and not any(
        cl.words[k] in ("we", "i") for k in range(cl.first, verb.first)
    ):
        return True  # the customers answer describes them unless it says "we"
    k = verb.first - 1
    while k >= cl.first and k >= verb.first - 4:
        if cl.starts_group(k, "other"):
            return True
        if cl.words[k] not in _SUBJECT_SKIP:
            return False
        k -= 1
    return False


def _listens(cl: _Clause, emit: _Emit, cadences: list[tuple[int, int]], concrete: bool) -> None:
    verbs = [v for v in cl.of("listen_verb") if not _by_others(cl, v)]
    objects = cl.of("listen_object")
    at = {o.first for o in objects}
    for verb in verbs:
        if any(k in at for k in range(verb.last, verb.last + 9)):
            cue = "listening routine" if cadences else "listens"
            emit("listens", "for", cue, verb, concrete)
            break
    for tool in cl.of("tool"):
        if tool.term.kind == "listening" or (tool.term.kind == "suites" and (verbs or objects)):
            emit("listens", "for", "listening tool", tool, True)
    off = _first_off(cl, "listen_verb")
    if off and (cl.has("listen_object", None) or off[1].term.value == "listen"):
        emit("listens", "against", _mode_cue(off[0]), off[1], False)


def _tailors(cl: _Clause, emit: _Emit, concrete: bool) -> None:
    heard = cl.of("heard", None)
    content = cl.of("content", None)
    for h in heard:
        # Only nearby pairs: a link words apart from both is no link, and it stays linear.
        for c in (c for c in content if abs(c.first - h.first) <= _NEAR):
            lo, hi = (h, c) if h.last <= c.first else (c, h)
            if lo.last > hi.first:
                continue
            link = next(
                (
                    k
                    for k in (cl.starts_group(i, "link") for i in range(lo.last, hi.first))
                    if k and k.last <= hi.first
                ),
                None,
            )
            if not link:
                continue
            modes = {cl.mode(h), cl.mode(c), cl.mode(link)}
            if modes == {"plain"}:
                emit("tailors", "for", "tailored from what it hears", link, concrete)
            else:
                mode: Mode = "wish" if "wish" in modes else "negation"
                emit("tailors", "against", _mode_cue(mode), link, False)
            return
    restrict = cl.of("restrictive")
    promos = cl.of("promotion")
    if restrict and promos and restrict[0].first < promos[-1].first:
        emit("tailors", "against", "announcements only", promos[0], False)


def _objectives_rule(cl: _Clause, emit: _Emit) -> None:
    goal = cl.question in PURPOSE_QUESTIONS or cl.has("goal_marker", None)
    if cl.hedged and (goal or cl.has("purpose", None)):
        hedge = cl.of("hedge", None)[0]
        emit("has_objectives", "against", "hedge", hedge, False)
        return
    purposes = [m for m in cl.of("purpose", None) if cl.mode(m) != "negation"]
    if purposes and goal:
        emit("has_objectives", "for", "purpose", purposes[0], False)
    negated_goal = [m for m in cl.of("goal_marker", "negation")]
    if negated_goal:
        emit("has_objectives", "against", "negation", negated_goal[0], False)


def _frequency(cl: _Clause, cadences: list[tuple[int, int]]) -> bool:
    if cadences or cl.has("speed"):
        return True
    for start, end in _periods(cl):
        if cl.modes[start - cl.first] == "plain" and any(
            _unit_at(cl, k) for k in range(start, end)
        ):
            return True
    return False


def _converses(cl: _Clause, emit: _Emit, cadences: list[tuple[int, int]]) -> None:
    verbs = [v for v in cl.of("reply_verb", None) if not _by_others(cl, v)]
    objects = cl.of("reply_object", None) + cl.of("place", None)
    if verbs and objects:
        verb = verbs[0]
        mode = cl.mode(verb)
        if mode != "plain" or all(cl.mode(o) != "plain" for o in objects):
            off: Mode = mode if mode != "plain" else cl.mode(objects[0])
            emit("converses", "against", _mode_cue(off), verb, False)
        elif _frequency(cl, cadences):
            emit("converses", "for", "replies with a rhythm", verb, True)
        elif verb.term.value in _JOIN_VERBS:
            emit("converses", "for", "joins conversations", verb, cl.has("place") or
                 cl.has("network"))  # fmt: skip
        else:
            emit("converses", "for", "replies", verb, False)
    if verbs and not objects and cl.mode(verbs[0]) != "plain":
        # "We'd love to reply more", "we're not great at replying".
        emit("converses", "against", _mode_cue(cl.mode(verbs[0])), verbs[0], False)
    # "Takes days" is neglect only where replies are the subject, not legal's approval.
    if cl.has("reply_verb", None) or cl.has("reply_object", None):
        for neglect in cl.of("neglect"):
            emit("converses", "against", "no replies", neglect, False)


def _owned(
    cl: _Clause,
    vocab: Vocabulary,
    emit: _Emit,
    cadences: list[tuple[int, int]],
    off_cadences: list[tuple[int, int]],
) -> None:
    about_work = cl.question in OWNER_QUESTIONS or bool(
        cl.of("owner_verb", None) or cl.of("owner_prep", None) or cl.of("content", None)
    )
    # A marketing role owns the work when the answer is about who does it; staff beyond
    # marketing only when the answer says they run it ("run by the support team").
    roles = cl.of("owner_role", None) if (
        cl.question in OWNER_QUESTIONS or cl.has("owner_verb", None) or cl.has("owner_prep", None)
    ) else []  # fmt: skip
    if cl.has("owner_prep", None):
        roles += cl.of("beyond_role", None)
    people = _people(cl, vocab)
    if people and cl.modes[people[0][0] - cl.first] == "plain":
        j = people[0][0]
        emit("owned", "for", "named owner", _Match(Term("person", ""), j, j + 1, cl.starts[j],
             cl.ends[j]), True)  # fmt: skip
    elif roles:
        role = roles[0]
        if cl.mode(role) == "plain":
            emit("owned", "for", "named owner", role, True)
        else:
            emit("owned", "against", _mode_cue(cl.mode(role)), role, False)
    elif cl.question in OWNER_QUESTIONS:
        # "I organise it": the member names themself, a weaker owner than a name or role.
        for k in range(cl.first, cl.last):
            if cl.words[k] in ("i", "me", "myself") and cl.modes[k - cl.first] == "plain":
                verb = next(
                    (cl.starts_group(i, "owner_verb") for i in (k + 1, k + 2)
                     if cl.starts_group(i, "owner_verb")), None)  # fmt: skip
                if verb and cl.mode(verb) == "plain":
                    emit("owned", "for", "named owner", verb, False)
                    break
    if cl.question in OWNER_QUESTIONS and cl.hedged and not (roles or people or cadences):
        hedge = cl.of("hedge", None)[0]
        emit("owned", "against", "hedge", hedge, False)  # "no idea tbh"
    if cadences and about_work:
        first = cadences[0]
        emit("owned", "for", "cadence", _Match(Term("cadence", ""), first[0], first[1],
             cl.starts[first[0]], cl.ends[first[1] - 1]), True)  # fmt: skip
    elif off_cadences and about_work:
        first = off_cadences[0]
        mode = cl.modes[first[0] - cl.first]
        emit("owned", "against", _mode_cue(mode), _Match(Term("cadence", ""), first[0],
             first[1], cl.starts[first[0]], cl.ends[first[1] - 1]), False)  # fmt: skip


def _hub(cl: _Clause, emit: _Emit, cadences: list[tuple[int, int]]) -> None:
    hubs = cl.of("hub", None)
    plain = [h for h in hubs if cl.mode(h) == "plain"]
    # A newsletter sent every Sunday is the team's own, "our" or not.
    if plain and (cl.has("hub_owned") or cl.has("hub_link") or cadences):
        emit("hub", "for", "own content hub", plain[0], bool(cl.has("hub_link") or cadences))
    elif cl.has("hub_link") and cl.has("site") and not cl.has("hub_against", None):
        # "Every recipe lives on our site and every reel links back to it."
        emit("hub", "for", "own content hub", cl.of("site")[0], True)
    off = [h for h in hubs if cl.mode(h) != "plain"]
    if off and not plain:
        emit("hub", "against", _mode_cue(cl.mode(off[0])), off[0], False)
    # "The shop staff" are people, not a shop page.
    roles = cl.of("beyond_role", None) + cl.of("owner_role", None)
    shop = [
        m
        for m in cl.of("hub_against")
        if not any(r.first < m.last and m.first < r.last for r in roles)
    ]
    if shop and not plain:
        emit("hub", "against", "shop or news page", shop[0], False)


def _beyond(cl: _Clause, emit: _Emit) -> None:
    roles = cl.of("beyond_role", None)
    work = cl.of("work_verb", None) + cl.of("reply_verb", None)
    # The work is social work: on posts, comments, a network or a hub, or posting itself.
    social = any(
        cl.has(g, None) for g in ("reply_object", "content", "network", "place", "hub")
    ) or any(w.term.value in _SOCIAL_VERBS for w in work)
    if roles and work and social:
        role = roles[0]
        mode = cl.mode(role) if cl.mode(role) != "plain" else cl.mode(work[0])
        if mode == "plain":
            emit("beyond_marketing", "for", "staff beyond marketing", role, True)
        else:
            emit("beyond_marketing", "against", _mode_cue(mode), role, False)
    # "Legal approves every post": the role checks the work, it doesn't do it.
    for approver in cl.of("approver"):
        verb = next(
            (v for v in cl.of("approval_verb") if approver.last <= v.first <= approver.last + 3),
            None,
        )
        if verb:
            # Weak: approving doesn't undo staff who do the work elsewhere in the answers.
            emit("beyond_marketing", "against", "approval only", approver, False)
            break


def _measured(cl: _Clause, emit: _Emit, objectives: list[Objective]) -> None:
    for objective in objectives:
        if objective.negated:
            emit("measured", "against", "negation", None, False, objective.quote)
        elif objective.complete:
            emit("measured", "for", "measurable objective", None, True, objective.quote)
        elif cl.question == "success":
            emit("measured", "against", "incomplete objective", None, False, objective.quote)
    off = _first_off(cl, "measuring")
    if off and off[0] == "negation":
        emit("measured", "against", "negation", off[1], False)


# --- facts -----------------------------------------------------------------------------

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


# --- the entry points ------------------------------------------------------------------


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

"""The top of the team picture, as a consultant would sum it up.

Members are compared by the things they name (customer groups, networks, purposes, read
by the reader), not by shared words: "local businesses and investors" and "businesses
don't follow us at all" share a word but say opposite things.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.reader import Reading

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_CLAUSE = re.compile(r"[.;:!?,()\n]+|\s+(?:but|although|though|whereas|however)\s+", re.I)
_NEGATION = re.compile(
    r"\b(?:not|no|never|nobody|none|nothing|hardly|without|don't|doesn't|didn't|isn't|aren't"
    r"|won't|can't|haven't|hasn't|dont|doesnt|cant|n't)\b",
    re.IGNORECASE,
)
_STOP = frozenset(
    """
    the and for with our are who that this from they their them about what more most
    mainly mostly some any all also into out over than then very just like will would can
    could should have has had was were been being not but its it's your you we us via per
    people customers customer clients client follow use using get much many lot lots
    really well way ways make makes made one two three time times
    """.split()  # noqa: SIM905
)
MODEL_NAMES = {"b2b": "B2B", "b2c": "B2C", "both": "both"}


def _stem(word: str) -> str:
    word = word.casefold()
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


def _words(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _WORD.findall(text) if w.casefold() not in _STOP)


def stances(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The content words a text affirms, and those it names only to negate."""
    affirmed: set[str] = set()
    negated: set[str] = set()
    for clause in _CLAUSE.split(text):
        (negated if _NEGATION.search(clause) else affirmed).update(_words(clause))
    return frozenset(affirmed), frozenset(negated - affirmed)


def texts_disagree(texts: Sequence[str]) -> bool:
    """Two answers that name different things, or where one denies what the other says."""
    views = [stances(t) for t in texts]
    for (a_yes, a_no), (b_yes, b_no) in combinations(views, 2):
        if (a_yes & b_no) or (b_yes & a_no):
            return True
        if a_yes and b_yes and not (a_yes & b_yes):
            return True
    return False


def things_disagree(named: Sequence[frozenset[str]]) -> bool:
    """Members who each name something, with nothing in common."""
    return any(a and b and not (a & b) for a, b in combinations(named, 2))


# Where a group is ("cafes in Leeds") says nothing about who it is.
_WHERE = re.compile(r"\s+(?:in|around|near|across|from|based in|within|throughout)\s+.*$", re.I)
_PROPER = re.compile(r"\b[A-Z][\w'-]*")


def customer_groups(reading: Reading) -> frozenset[str]:
    """Who the customers are, by the groups' own words, places and proper names aside."""
    heads = (_PROPER.sub(" ", _WHERE.sub("", group)) for group in reading.facts.customers)
    return frozenset().union(*(_words(head) for head in heads))


def networks(reading: Reading) -> frozenset[str]:
    return frozenset(n.casefold() for n in reading.facts.networks)


def purposes(reading: Reading) -> frozenset[str]:
    return frozenset(p.casefold() for p in reading.facts.purposes)


@dataclass(frozen=True, slots=True)
class MemberView:
    """One member, as the summary sees them."""

    name: str
    model: str | None
    reading: Reading
    stage: str | None = None


def _listing(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _named(view: MemberView, things: Sequence[str]) -> str:
    return f"{view.name} names {_listing(list(things)[:3]) or 'nothing specific'}"


def summary_lines(
    members: Sequence[MemberView],
    *,
    team_stage: str | None,
    first_gap: str | None,
) -> tuple[str, ...]:
    """What stands out: the split, the disagreements, the team's rung, what to settle first."""
    lines: list[str] = []
    settle: list[str] = []
    models = {m.model for m in members if m.model}
    if len(models) > 1:
        split = "; ".join(
            f"{_listing([m.name for m in members if m.model == model])}: "
            f"{MODEL_NAMES.get(model, model)}"
            for model in sorted(models)
        )
        lines.append(f"Members see the business differently (B2B or B2C): {split}.")
        settle.append("whether you sell to businesses, to consumers, or both")
    checks: tuple[tuple[str, Callable[[Reading], frozenset[str]], str, str], ...] = (
        ("customers", customer_groups, "customers", "who your customers are"),
        ("what social is for", purposes, "purposes", "what social is for"),
        ("networks", networks, "networks", "which networks come first"),
    )
    for topic, named, fact, question in checks:
        sets = [named(m.reading) for m in members]
        if things_disagree(sets):
            who = "; ".join(
                _named(m, getattr(m.reading.facts, fact)) for m in members if named(m.reading)
            )
            lines.append(f"Members disagree on {topic}: {who}.")
            settle.append(question)
    placed = [m for m in members if m.stage]
    if team_stage and placed:
        if len(placed) == 1:
            lines.append(f"Team rung: {team_stage}, from {placed[0].name}'s placement.")
        else:
            each = _listing([f"{m.name} ({m.stage})" for m in placed])
            lines.append(
                f"Team rung: {team_stage}, the cautious middle of {each}: the team climbs"
                " when most of its members do."
            )
    if settle:
        lines.append(f"Settle first: {settle[0]}. Everything else builds on it.")
    elif first_gap:
        lines.append(f"Settle first: {first_gap}.")
    return tuple(lines)

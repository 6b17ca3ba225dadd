"""The reader's vocabulary as data: load `signals.yaml` into a typed, frozen `Vocabulary`.

The YAML lists base forms ("monitor", "reply"); the loader adds the usual English endings
and indexes every phrase by its words, so that the reader finds any phrase with one
dictionary look-up per word of text. A broken file raises `FlowError` naming the file and
the section, like the flow files do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from flows.loader import FLOWS_DIR, FlowError, _read_yaml

Polarity = Literal["for", "against"]
CRITERIA = (
    "listens",
    "tailors",
    "has_objectives",
    "converses",
    "owned",
    "hub",
    "measured",
    "beyond_marketing",
)
POLARITIES: tuple[Polarity, ...] = ("for", "against")

# One word of text: a subreddit, a number (with its currency, sign, "k" or "%"), or a word
# with its apostrophes. No nested quantifiers, so matching stays linear on any input.
TOKEN = re.compile(r"r/\w+|[$€£+]?\d+(?:[.,]\d+)*(?:k|m|%)?|[#@]?\w+(?:['’]\w+)*")

# Simple sections: YAML key -> the group name the reader asks for.
_LISTS = {
    "negations": "negation",
    "not_negations": "not_negation",
    "wishes": "wish",
    "hedges": "hedge",
    "restrictives": "restrictive",
    "promotion": "promotion",
    "goal_markers": "goal_marker",
    "measuring": "measuring",
    "number_words": "number_word",
    "places": "place",
    "place_modifiers": "place_modifier",
    "function_words": "function_word",
    "others": "other",
}
_NESTED = {
    "listening": {"verbs": "listen_verb", "objects": "listen_object"},
    "conversation": {
        "verbs": "reply_verb",
        "objects": "reply_object",
        "speeds": "speed",
        "neglect": "neglect",
    },
    "tailoring": {"heard": "heard", "links": "link", "content": "content"},
    "time": {
        "units": "unit",
        "weekdays": "weekday",
        "cadence_words": "cadence_word",
        "count_nouns": "count_noun",
        "period_units": "period_unit",
        "months": "month",
        "deadlines": "deadline",
        "bounds": "bound",
        "relative": "relative",
    },
    "roles": {
        "owners": "owner_role",
        "beyond": "beyond_role",
        "approvers": "approver",
        "owner_verbs": "owner_verb",
        "owner_preps": "owner_prep",
        "work_verbs": "work_verb",
        "approval_verbs": "approval_verb",
    },
    "hub": {
        "words": "hub",
        "sites": "site",
        "ownership": "hub_owned",
        "against": "hub_against",
        "links": "hub_link",
    },
}
# Sections whose sub-keys are kinds of one group: metric kinds, tool kinds.
_KINDS = {
    "metrics": ("metric", ("counts", "money", "rates", "durations")),
    "tools": ("tool", ("listening", "suites", "publishing")),
}


@dataclass(frozen=True, slots=True)
class Term:
    """What a phrase names: its group ("network"), canonical value ("LinkedIn") and kind."""

    group: str
    value: str
    kind: str = ""
    # The exact spelling required in the text ("Later" the tool, not "later" the word).
    exact: str | None = None


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every phrase the reader knows, indexed by its normalised words."""

    language: str
    source: Path
    spellings: Mapping[str, str]
    not_names: frozenset[str]
    terms: Mapping[tuple[str, ...], tuple[Term, ...]]
    # First word -> the lengths of the phrases starting with it, longest first.
    lengths: Mapping[str, tuple[int, ...]] = field(repr=False)

    def normalise(self, word: str) -> str:
        """A lower-cased word of text as the vocabulary spells it."""
        word = word.replace("’", "'")
        return self.spellings.get(word, word)

    def words(self, phrase: str) -> tuple[str, ...]:
        return tuple(self.normalise(m.group()) for m in TOKEN.finditer(phrase.lower()))

    def phrases(self, group: str) -> Iterator[tuple[str, ...]]:
        """The indexed phrases (with their endings) naming something in `group`."""
        for words, terms in self.terms.items():
            if any(t.group == group for t in terms):
                yield words


def _forms(word: str, *, singular: bool = True) -> set[str]:
    """The word and its usual English endings; over-generating is cheap, missing is not."""
    forms = {word}
    if not word.isalpha() or len(word) < 3:
        return forms
    forms |= {word + "s", word + "es", word + "ed", word + "ing", word + "d"}
    if word.endswith("e"):
        forms |= {word[:-1] + "ing", word + "d"}
    if word.endswith("y") and word[-2] not in "aeiou":
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if word.endswith("s") and singular:
        forms.add(word[:-1])  # "mentions" in the list also finds "mention"
    vowels = "aeiou"
    if word[-1] not in vowels + "wxy" and word[-2] in vowels and word[-3] not in vowels:
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}  # chat -> chatting
    return forms


def _variants(words: tuple[str, ...], *, singular: bool = True) -> Iterator[tuple[str, ...]]:
    if len(words) == 1:
        for form in _forms(words[0], singular=singular):
            yield (form,)
        return
    # Inflect the first word (the verb of "keep an eye on") and the last (the noun).
    for first in _forms(words[0]):
        for last in _forms(words[-1], singular=singular):
            yield (first, *words[1:-1], last)


class _Builder:
    def __init__(self, path: Path, spellings: Mapping[str, str], exact: frozenset[str]) -> None:
        self.path = path
        self.spellings = spellings
        self.exact = exact
        self.terms: dict[tuple[str, ...], list[Term]] = {}

    def words(self, phrase: str) -> tuple[str, ...]:
        out = []
        for match in TOKEN.finditer(phrase.lower()):
            word = match.group().replace("’", "'")
            out.append(self.spellings.get(word, word))
        return tuple(out)

    def add(self, section: str, phrase: Any, group: str, value: str | None = None, kind: str = "",
            exact_ok: bool = False) -> None:  # fmt: skip
        if isinstance(phrase, bool):
            raise FlowError(
                self.path, f"section `{section}`: {phrase!r} was read as true/false; quote it"
            )
        if not isinstance(phrase, str | int) or not str(phrase).strip():
            raise FlowError(self.path, f"section `{section}`: {phrase!r} is not a word or phrase")
        text = str(phrase).strip()
        words = self.words(text)
        if not words:
            raise FlowError(self.path, f"section `{section}`: {text!r} has no words in it")
        exact = next((e for e in self.exact if e.lower() == text.lower()), None)
        term = Term(group, value if value is not None else text.lower(), kind,
                    exact if exact_ok else None)  # fmt: skip
        # A metric's singular is often another word: "likes" but "like", "shares" but "share".
        variants = [words] if term.exact else _variants(words, singular=group != "metric")
        for variant in variants:
            found = self.terms.setdefault(variant, [])
            if term not in found:
                found.append(term)


def _list(path: Path, section: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise FlowError(path, f"section `{section}` must be a non-empty list of words")
    return raw


def _mapping(path: Path, section: str, raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise FlowError(path, f"section `{section}` must be a mapping")
    return raw


def _section(path: Path, data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise FlowError(path, f"section `{key}` is missing")
    return data[key]


def load_vocabulary(path: Path | str | None = None) -> Vocabulary:
    """Load and index a signals file; raise FlowError naming the file and the section."""
    path = Path(path) if path is not None else FLOWS_DIR / "signals.yaml"
    data = _read_yaml(path)
    language = data.get("language")
    if not isinstance(language, str) or not language:
        raise FlowError(path, "section `language` is missing")
    raw_spellings = _mapping(path, "spellings", _section(path, data, "spellings"))
    spellings: dict[str, str] = {}
    for typed, meant in raw_spellings.items():
        if not isinstance(meant, str) or not meant.strip():
            raise FlowError(path, f"section `spellings`: {typed!r} needs a word to stand for")
        spellings[str(typed).lower()] = meant.strip().lower()
    exact = frozenset(str(e) for e in _list(path, "exact_case", _section(path, data, "exact_case")))
    build = _Builder(path, spellings, exact)

    for key, group in _LISTS.items():
        for phrase in _list(path, key, _section(path, data, key)):
            build.add(key, phrase, group)
    for key, groups in _NESTED.items():
        section = _mapping(path, key, _section(path, data, key))
        for sub, group in groups.items():
            for phrase in _list(path, f"{key}.{sub}", section.get(sub)):
                build.add(f"{key}.{sub}", phrase, group)
    for key, (group, kinds) in _KINDS.items():
        section = _mapping(path, key, _section(path, data, key))
        for kind in kinds:
            for phrase in _list(path, f"{key}.{kind}", section.get(kind)):
                build.add(f"{key}.{kind}", phrase, group, kind=kind, exact_ok=group == "tool")
    purposes = _mapping(path, "purposes", _section(path, data, "purposes"))
    for purpose, phrases in purposes.items():
        for phrase in _list(path, f"purposes.{purpose}", phrases):
            build.add(f"purposes.{purpose}", phrase, "purpose", value=str(purpose))
    networks = _mapping(path, "networks", _section(path, data, "networks"))
    for name, phrases in networks.items():
        for phrase in _list(path, f"networks.{name}", phrases):
            build.add(f"networks.{name}", phrase, "network", value=str(name), exact_ok=True)

    criteria = _mapping(path, "criteria", _section(path, data, "criteria"))
    for criterion, sides in criteria.items():
        if criterion not in CRITERIA:
            raise FlowError(
                path, f"section `criteria`: unknown criterion {criterion!r} (known: "
                + ", ".join(CRITERIA) + ")",
            )  # fmt: skip
        for polarity, labelled in _mapping(path, f"criteria.{criterion}", sides).items():
            where = f"criteria.{criterion}.{polarity}"
            if polarity not in POLARITIES:
                raise FlowError(path, f"section `{where}`: use `for` or `against`")
            for label, phrases in _mapping(path, where, labelled or {}).items():
                for phrase in _list(path, f"{where}.{label}", phrases):
                    build.add(
                        where, phrase, "cue", value=str(label), kind=f"{criterion}:{polarity}"
                    )

    terms = {words: tuple(found) for words, found in build.terms.items()}
    lengths: dict[str, set[int]] = {}
    for words in terms:
        lengths.setdefault(words[0], set()).add(len(words))
    not_names = frozenset(
        str(n).lower() for n in _list(path, "not_names", _section(path, data, "not_names"))
    )
    return Vocabulary(
        language=language,
        source=path,
        spellings=MappingProxyType(spellings),
        not_names=not_names,
        terms=MappingProxyType(terms),
        lengths=MappingProxyType({w: tuple(sorted(n, reverse=True)) for w, n in lengths.items()}),
    )


@cache
def default_vocabulary(language: str = "en") -> Vocabulary:
    """The shipped vocabulary for `language` (signals.yaml, or signals.<language>.yaml)."""
    name = "signals.yaml" if language == "en" else f"signals.{language}.yaml"
    return load_vocabulary(FLOWS_DIR / name)

"""Named people in an owner position: "Priya runs it", "owned by Tom"."""

from __future__ import annotations

from bot.reader.clauses import _Clause, _Match
from flows.signals import Vocabulary


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

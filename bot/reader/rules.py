"""The per-criterion rules: what one clause says for or against each ladder criterion."""

from __future__ import annotations

from typing import Protocol

from bot.reader.clauses import Mode, _Clause, _Match
from bot.reader.people import _people
from bot.reader.quantities import _cadences, _periods, _unit_at
from bot.reader.questions import HYPOTHETICAL_QUESTIONS, OWNER_QUESTIONS, PURPOSE_QUESTIONS
from bot.reader.quotes import _quote
from bot.reader.records import Objective, Quote, Signal
from flows.signals import Polarity, Term, Vocabulary

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
        # "When I can", "comments sit for days": a plain account of the team's practice is
        # as concrete as a name or a number; a wish or a negation is not. Approval only is
        # weak: signing off doesn't undo staff who do the work elsewhere.
        concrete = not (wished or negated) and m.term.value != "approval only"
        emit(criterion, "against", cue, m, concrete)


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

"""Placing a member on the maturity ladder from what they wrote and what they picked.

Every criterion is judged from two sources: the reader's signals in the member's own words
and the stage-check pick. Where both speak and agree, the evidence cites both. Where they
disagree the coach asks one clarifying question (`conflicts`); if the member skips it, the
more specific statement wins: a concrete name, cadence, tool or number beats a generic
pick. A criterion marked `text_required` (a measurable objective) is never met by a pick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bot.advice import next_actions
from bot.messages import Choice, Cited, Evidence, StageCard
from bot.reader import Quote, Reading, Signal, read
from bot.store import Answer
from flows import Criterion, Flow, Ladder, Stage
from flows.signals import Vocabulary, load_vocabulary

CLARIFY_PREFIX = "clarify."
MAX_CLARIFY = 3
QUOTE_CHARS = 110
Verdict = Literal["met", "unmet"]
Source = Literal["both", "text", "pick", "clarified", "none"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """One criterion, judged: met or not, and what decided it."""

    stage: Stage
    criterion: Criterion
    met: bool
    source: Source
    signals: tuple[Signal, ...] = ()
    pick: Answer | None = None
    clarified: Answer | None = None
    # What the member's words alone say, whatever decided; and whether some answer shows
    # the team doing it, even where other words or the pick outweighed it.
    text: Verdict | None = None
    shown: bool = False


@dataclass(frozen=True, slots=True)
class Conflict:
    """The member's words and pick disagree on a criterion: one question settles it."""

    stage: Stage
    criterion: Criterion
    text_says: Verdict
    quote: Quote
    pick: Answer
    specific: bool

    @property
    def question(self) -> str:
        return clarify_question(self.criterion.id)


@dataclass(frozen=True, slots=True)
class Placement:
    rung: int
    stage: Stage
    evidence: tuple[Evidence, ...]
    next_stage: Stage | None
    actions: tuple[str, ...]
    # Each action's ladder key (`<stage>.<criterion>` or `<stage>.sustain`), for check-ins.
    action_keys: tuple[str, ...] = ()
    judgements: tuple[Judgement, ...] = ()

    def card(self, ladder: Ladder) -> StageCard:
        return StageCard(
            rung=self.rung,
            stage=self.stage.name,
            summary=self.stage.summary,
            ladder=tuple(s.name for s in ladder.stages),
            evidence=self.evidence,
            next_stage=self.next_stage.name if self.next_stage else None,
            actions=self.actions,
        )

    def met(self) -> frozenset[str]:
        return frozenset(j.criterion.id for j in self.judgements if j.met)


def clarify_question(criterion: str) -> str:
    """The answer key a clarifying question's answer is stored under."""
    return CLARIFY_PREFIX + criterion


def _pick_verdict(
    criterion: Criterion, answers: Mapping[str, Answer]
) -> tuple[Answer | None, bool]:
    """The stage-check answer the criterion reads, and whether it meets the criterion."""
    for cond in criterion.when:
        answer = answers.get(cond.answer)
        if answer is not None and not answer.skipped:
            return answer, (answer.value or "") in cond.allowed
    return None, False


def _text_verdict(
    criterion: Criterion, reading: Reading
) -> tuple[Verdict | None, tuple[Signal, ...]]:
    verdict = reading.verdict(criterion.id)
    if verdict is None:
        return None, ()
    polarity = "for" if verdict == "met" else "against"
    return verdict, tuple(s for s in reading.signals_for(criterion.id) if s.polarity == polarity)


def _clarified(
    criterion: Criterion, pick: Answer | None, answers: Mapping[str, Answer]
) -> Answer | None:
    """The clarifying answer for this criterion, if it still applies.

    A later stage check (a new pick) outdates it: the member changed their picture.
    """
    found = answers.get(clarify_question(criterion.id))
    if found is None:
        return None
    if pick is not None and pick.created_at > found.created_at:
        return None
    return found


def judge(answers: Mapping[str, Answer], reading: Reading, *, ladder: Ladder) -> list[Judgement]:
    judgements = []
    for stage, criterion in ladder.criteria():
        pick, pick_met = _pick_verdict(criterion, answers)
        text, signals = _text_verdict(criterion, reading)
        clarified = _clarified(criterion, pick, answers)
        if clarified is not None and clarified.skipped:
            clarified = None
        if criterion.text_required:
            met = text == "met"
            source: Source = "text" if text is not None else "pick" if pick else "none"
            if met and pick is not None and pick_met:
                source = "both"
        elif text is None:
            met, source = pick_met, "pick" if pick is not None else "none"
        elif pick is None or (text == "met") == pick_met:
            met, source = text == "met", "text" if pick is None else "both"
        elif clarified is not None:
            met, source = clarified.value == "met", "clarified"
        elif text == "unmet" or any(s.specific for s in signals):
            # The member's own account of their practice beats a button, unless it is a
            # generic claim of doing it ("we engage a lot") against a pick saying not.
            met, source = text == "met", "text"
        else:
            met, source = pick_met, "pick"
        judgements.append(
            Judgement(
                stage=stage,
                criterion=criterion,
                met=met,
                source=source,
                signals=signals,
                pick=pick,
                clarified=clarified if source == "clarified" else None,
                text=text,
                shown=reading.shows(criterion.id),
            )
        )
    return judgements


def _rung(judgements: Sequence[Judgement], ladder: Ladder) -> int:
    rung = 1
    for stage in ladder.stages[1:]:
        if all(j.met for j in judgements if j.stage.id == stage.id):
            rung = stage.rung
        else:
            break
    return rung


def conflicts(
    answers: Mapping[str, Answer],
    reading: Reading | None = None,
    *,
    ladder: Ladder,
    flow: Flow,
) -> list[Conflict]:
    """The disagreements still worth a question, the ones that can move the rung first.

    A criterion already asked about (answered or skipped) is not asked again, and nothing
    at or above a rung that fails regardless is asked: it could not change the placement.
    """
    if reading is None:
        reading = read_answers(answers, flow)
    found: list[Conflict] = []
    blocked = len(ladder.stages) + 1
    for judgement in judge(answers, reading, ladder=ladder):
        criterion, pick = judgement.criterion, judgement.pick
        text, signals = _text_verdict(criterion, reading)
        disagree = (
            criterion.clarify is not None
            and not criterion.text_required
            and text is not None
            and pick is not None
            and (text == "met") != (pick.value in _allowed(criterion))
        )
        if not disagree:
            if not judgement.met:
                blocked = min(blocked, judgement.stage.rung)
            continue
        if clarify_question(criterion.id) in answers:
            if not judgement.met:
                blocked = min(blocked, judgement.stage.rung)
            continue
        assert text is not None and pick is not None
        found.append(
            Conflict(
                stage=judgement.stage,
                criterion=criterion,
                text_says=text,
                quote=signals[0].quote,
                pick=pick,
                specific=any(s.specific for s in signals),
            )
        )
    worth = [c for c in found if c.stage.rung < blocked]
    # The generic statements first: a specific one would win without asking anyway.
    return sorted(worth, key=lambda c: (c.stage.rung, c.specific))


def clarify_context(conflict: Conflict, flow: Flow) -> dict[str, str]:
    """What the clarifying prompt is filled from (kept in the conversation's context)."""
    clarify = conflict.criterion.clarify
    assert clarify is not None
    return {
        "clarifying": conflict.criterion.id,
        "topic": clarify.topic,
        "quote": clip(conflict.quote.text, 90),
        "source": source_label(conflict.quote.question, flow),
        "pick": conflict.pick.text,
    }


def clarify_choices(ladder: Ladder, context: Mapping[str, object]) -> tuple[Choice, ...]:
    """The two answers to the open clarifying question: what met and unmet look like."""
    wanted = context.get("clarifying")
    for _, criterion in ladder.criteria():
        if criterion.id == wanted and criterion.clarify is not None:
            return (
                Choice(criterion.clarify.met, "met"),
                Choice(criterion.clarify.unmet, "unmet"),
            )
    return ()


def _allowed(criterion: Criterion) -> frozenset[str]:
    return frozenset().union(*(c.allowed for c in criterion.when))


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """A readable length for quoting a member: whole words, an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(",;:.") + "…"


def source_label(question: str, flow: Flow) -> str:
    """Where a quote comes from: `Q7` for an interview question, else the state's title."""
    spec = flow.states.get(question)
    if spec is not None and spec.number is not None:
        return f"Q{spec.number}"
    if spec is not None and spec.title:
        return spec.title.lower()
    return "check-in"


def _evidence(judgement: Judgement, reading: Reading, flow: Flow) -> Evidence:
    """The line that says why: the member's words first, then the pick, as they agree."""
    criterion, pick = judgement.criterion, judgement.pick
    text = reading.verdict(criterion.id)
    cited = [
        Cited(clip(s.quote.text), source_label(s.quote.question, flow))
        for s in judgement.signals[:2]
        if text == ("met" if judgement.met else "unmet")
    ]
    if criterion.text_required and not judgement.met:
        for objective in reading.facts.objectives[:1]:
            missing = " and ".join(objective.missing()) or "a number, a metric and a date"
            # The objective's own quote replaces the signal's, with what it still lacks.
            quoted = clip(objective.quote.text)
            cited = [c for c in cited if c.text != quoted]
            cited.append(
                Cited(
                    quoted,
                    source_label(objective.quote.question, flow),
                    note=f"still needs {missing}",
                )
            )
    if judgement.clarified is not None:
        cited.append(Cited(judgement.clarified.text, "your answer to my question", picked=True))
    if pick is not None:
        agrees = ((pick.value or "") in _allowed(criterion)) == judgement.met
        if agrees:
            cited.append(Cited(pick.text, "stage check", picked=True))
        elif criterion.text_required:
            note = "a pick alone doesn't make an objective measurable"
            cited.append(Cited(pick.text, "stage check", picked=True, note=note))
        elif judgement.source == "text":
            cited.append(
                Cited(
                    pick.text, "stage check", picked=True, note="your own words are more specific"
                )
            )
    # Two signals in one clause quote the same words: show them once.
    unique: dict[tuple[str, str], Cited] = {}
    for c in cited:
        unique.setdefault((c.text, c.source), c)
    return Evidence(
        stage=judgement.stage.name,
        criterion=criterion.id,
        met=judgement.met,
        because=criterion.met if judgement.met else criterion.unmet,
        cited=tuple(unique.values()),
    )


@cache
def vocabulary() -> Vocabulary:
    return load_vocabulary()


def typed_answers(answers: Mapping[str, Answer], flow: Flow) -> list[tuple[str, str]]:
    """The member's typed answers to `flow`'s open questions, as (question, text)."""
    return [
        (question, answer.text)
        for question, answer in answers.items()
        if not answer.skipped
        and answer.value is None
        and answer.text
        and (spec := flow.states.get(question)) is not None
        and spec.answer == "text"
    ]


def read_answers(
    answers: Mapping[str, Answer], flow: Flow, *, more: Sequence[tuple[str, str]] = ()
) -> Reading:
    """The reader's view of a member's typed answers (picks and clarifications aside).

    `more` adds later words, such as what a member said at a check-in.
    """
    return read([*typed_answers(answers, flow), *more], vocabulary())


def place(
    answers: Mapping[str, Answer],
    reading: Reading | None = None,
    *,
    ladder: Ladder,
    flow: Flow,
    business_model: str | None,
) -> Placement:
    """The highest rung whose criteria, and those of every rung below, are all met.

    Without `reading`, the member's typed answers in `answers` are read.
    """
    if reading is None:
        reading = read_answers(answers, flow)
    judgements = judge(answers, reading, ladder=ladder)
    rung = _rung(judgements, ladder)
    keys, actions = next_actions(
        judgements, reading.facts, rung=rung, ladder=ladder, business_model=business_model
    )
    return Placement(
        rung=rung,
        stage=ladder.stage(rung),
        evidence=tuple(_evidence(j, reading, flow) for j in judgements),
        next_stage=ladder.stage(rung + 1) if rung < len(ladder.stages) else None,
        actions=actions,
        action_keys=keys,
        judgements=tuple(judgements),
    )


def team_rung(rungs: Sequence[int]) -> int | None:
    """The team's rung: the lower median of its members' placements (cautious on a tie)."""
    if not rungs:
        return None
    ordered = sorted(rungs)
    return ordered[(len(ordered) - 1) // 2]

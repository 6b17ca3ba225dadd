"""Cards as plain lines: the terminal's rendering, and the text fallback for chat platforms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.messages import (
    Card,
    CheckinRound,
    Cited,
    Evidence,
    Reply,
    StageCard,
    SummaryCard,
    TeamReportCard,
    named,
)


def _same(text: str) -> str:
    return text


def cited_parts(cited: Cited) -> tuple[str, str, str]:
    """A citation as (lead-in, member text, tail): only the middle is the member's own.

    Adapters escape the middle for their platform and keep the rest as the coach's words.
    """
    note = f", {cited.note}" if cited.note else ""
    if cited.source == "stage check":
        return "you picked “", cited.text, f"”{note}"
    if cited.picked:
        return "you told me “", cited.text, f"”{note}"
    return "“", cited.text, f"” ({cited.source}{note})"


def evidence_line(evidence: Evidence, member: Callable[[str], str] = _same) -> str:
    """`✓ listens to its audience (Listen): “a weekly review of mentions” (Q7)`.

    `member` escapes the member's words for the platform showing them.
    """
    mark = "✓" if evidence.met else "✗"
    line = f"{mark} {evidence.because} ({evidence.stage})"
    cites = ["".join((a, member(b), c)) for a, b, c in map(cited_parts, evidence.cited)]
    return line + (": " + "; ".join(cites) if cites else "")


# Chat shows the latest check-in rounds; a weekly team has fifty a year, and the export
# keeps them all.
RECENT_CHECKINS = 6


def ladder_line(card: StageCard) -> str:
    return "  ".join(
        f"[{name}]" if rung == card.rung else name for rung, name in enumerate(card.ladder, start=1)
    )


def stage_lines(card: StageCard) -> list[str]:
    lines = [f"Rung {card.rung} of {len(card.ladder)}: {card.stage}", ladder_line(card)]
    if card.summary:
        lines.append(card.summary)
    if card.evidence:
        lines.append("Why:")
        lines.extend(f"  {evidence_line(e)}" for e in card.evidence)
    if card.actions:
        target = f" toward {card.next_stage}" if card.next_stage else ""
        lines.append(f"Next actions{target}:")
        lines.extend(f"  {i}. {a}" for i, a in enumerate(card.actions, start=1))
    return lines


def summary_lines(card: SummaryCard) -> list[str]:
    return [card.title + ":", *(f"  {q}: {a}" for q, a in card.rows)]


def checkins_line(rounds: Sequence[CheckinRound]) -> str:
    """How many members answered each of the latest check-ins, on one line."""
    shown = rounds[-RECENT_CHECKINS:]
    line = "Check-ins answered: " + " · ".join(
        f"{r.answered} of {r.asked} ({r.day.isoformat()})" for r in shown
    )
    if earlier := len(rounds) - len(shown):
        line += f"; {earlier} earlier in the export"
    return line


def report_lines(card: TeamReportCard) -> list[str]:
    lines = [f"Team {card.team}: {len(card.members)} member(s): {', '.join(card.members) or '-'}"]
    lines.extend(card.summary)
    if card.stage is not None:
        lines.extend(stage_lines(card.stage))
    if card.placements:
        lines.append("Members' placements: " + ", ".join(f"{w}: {s}" for w, s in card.placements))
    if card.stage_history:
        lines.append("Stage history: " + " → ".join(f"{s} ({d})" for d, s in card.stage_history))
    if card.checkins:
        lines.append(checkins_line(card.checkins))
    for q in card.questions:
        head = f"{q.number}. {q.title}" if q.number is not None else q.title
        flags = []
        if q.disagreement:
            flags.append("members disagree")
        if q.gaps:
            flags.append("no answer from " + ", ".join(q.gaps))
        lines.append(head + (f"  [{'; '.join(flags)}]" if flags else ""))
        lines.extend(f"    {who}: {text}" for who, text in q.answers)
    if card.commitments:
        lines.append("Commitments:")
        lines.extend(f"  {who}: {what}" for who, what in card.commitments)
    return lines


def card_lines(card: Card) -> list[str]:
    if isinstance(card, StageCard):
        return stage_lines(card)
    if isinstance(card, SummaryCard):
        return summary_lines(card)
    return report_lines(card)


def joined_names(names: Sequence[str]) -> str:
    """ "Ann", "Ann and Bob", "Ann, Bob and Cy": how a group is named after its members."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def reply_text(reply: Reply) -> str:
    """A reply as plain text: its text, then its card's lines."""
    parts = [named(reply.text)] if reply.text else []
    if reply.card is not None:
        parts.append("\n".join(card_lines(reply.card)))
    return "\n".join(parts)

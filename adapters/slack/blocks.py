"""Pure converters from the coach's replies and cards to Slack text and Block Kit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.names import (
    ANSWER_ACTION,
    BLOCK,
    MAX_BLOCKS,
    MAX_BUTTONS,
    MAX_FIELD,
    MAX_FIELDS,
    MAX_SECTION,
    NAV_ACTION,
)
from bot.messages import (
    MENTION,
    Card,
    Choice,
    FileOut,
    Reply,
    StageCard,
    SummaryCard,
    TeamReportCard,
)
from bot.render import card_lines, checkins_line, evidence_line, reply_text

# --- Slack text ---------------------------------------------------------------------------

_ENTITY_TAIL = re.compile(r"&[a-z]*$")
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Escape Slack's control characters, so echoed user text never pings or links.

    The coach's own mentions (`bot.messages.mention`, never in member text) become Slack's.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MENTION.sub(lambda m: f"<@{m.group(1)}>", escaped)


def plain_text(text: str) -> str:
    """What the member typed, from Slack's wire format: `<@U1|ann>` → `@ann`, `&lt;` → `<`,
    `<https://x.test|our site>` → `our site (https://x.test)`."""

    def readable(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target[0] + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        # A link keeps its address: a label alone would lose where it pointed (a label that
        # is the address itself, as Slack links a typed "x.io", is shown as typed).
        if not label or label.rstrip("/") in (
            target.rstrip("/"),
            target.split("://", 1)[-1].rstrip("/"),
        ):
            return label or target
        return f"{label} ({target})"

    text = _SLACK_MARKUP.sub(readable, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fit(text: str, limit: int) -> str:
    """Escaped `text` within `limit` characters, never cutting an entity in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return _ENTITY_TAIL.sub("", escaped[: limit - 1]) + "…"


def mrkdwn_object(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def text_object(text: str, limit: int = 75) -> dict[str, Any]:
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": clipped, "emoji": True}


def section_blocks(escaped: str) -> list[dict[str, Any]]:
    """Already-escaped mrkdwn as sections of at most 3,000 characters, split between lines."""
    blocks: list[dict[str, Any]] = []
    chunk = ""
    for line in escaped.split("\n"):
        while len(line) > MAX_SECTION:
            if chunk:
                blocks.append(section_block(chunk))
                chunk = ""
            head = _ENTITY_TAIL.sub("", line[:MAX_SECTION])
            blocks.append(section_block(head))
            line = line[len(head) :]
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION:
            blocks.append(section_block(chunk))
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    if chunk.strip():
        blocks.append(section_block(chunk))
    return blocks


def section_block(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn_object(text)}


def context_block(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn_object(text)]}


# --- replies as Block Kit -----------------------------------------------------------------


def blocks_for(reply: Reply) -> list[dict[str, Any]]:
    """One reply as Block Kit: its text, its card, then its buttons."""
    blocks = section_blocks(escape(reply.text)) if reply.text else []
    if reply.card is not None:
        blocks += card_blocks(reply.card)
    if reply.choices:
        blocks += choice_blocks(reply.choices, reply.prompt_token)
    return blocks


def choice_blocks(choices: Sequence[Choice], token: str | None) -> list[dict[str, Any]]:
    """Answers in one row, navigation (skip, back, pause) in a row of its own.

    The block id carries the prompt token, so a press on an old prompt is recognised.
    """
    rows: list[dict[str, Any]] = []
    for kind, prefix in (("answer", ANSWER_ACTION), ("nav", NAV_ACTION)):
        picked = [c for c in choices if c.nav == (kind == "nav")]
        for start in range(0, len(picked), MAX_BUTTONS):
            elements = []
            for i, choice in enumerate(picked[start : start + MAX_BUTTONS], start=start):
                button: dict[str, Any] = {
                    "type": "button",
                    "action_id": f"{prefix}{i}",
                    "text": text_object(choice.label),
                    "value": choice.value[:2000],
                }
                if choice.style is not None:
                    button["style"] = choice.style
                elements.append(button)
            block_id = f"{BLOCK}{token or ''}:{kind}{start}"
            rows.append({"type": "actions", "block_id": block_id, "elements": elements})
    return rows


def card_blocks(card: Card) -> list[dict[str, Any]]:
    if isinstance(card, StageCard):
        return stage_blocks(card)
    if isinstance(card, SummaryCard):
        return summary_blocks(card)
    return report_blocks(card)


def ladder_mrkdwn(ladder: Sequence[str], rung: int | None) -> str:
    """The ladder drawn top rung first, the team's rung marked, the climbed rungs filled."""
    lines = []
    for number in range(len(ladder), 0, -1):
        name = escape(ladder[number - 1])
        if number == rung:
            lines.append(f":coffee:  *{number}. {name}*   ← you are here")
        elif rung is not None and number < rung:
            lines.append(f":large_green_circle:  {number}. {name}")
        else:
            lines.append(f":white_circle:  {number}. {name}")
    return "\n".join(lines)


def stage_blocks(card: StageCard) -> list[dict[str, Any]]:
    head = f"*Rung {card.rung} of {len(card.ladder)}: {escape(card.stage)}*"
    if card.summary:
        head += "\n" + escape(card.summary)
    blocks = [*section_blocks(head), section_block(ladder_mrkdwn(card.ladder, card.rung))]
    if card.evidence:
        why = "\n".join(escape(evidence_line(e)) for e in card.evidence)
        blocks += section_blocks("*Why*\n" + why)
    if card.actions:
        target = f" toward {escape(card.next_stage)}" if card.next_stage else ""
        steps = "\n".join(f"{i}. {escape(a)}" for i, a in enumerate(card.actions, start=1))
        blocks += section_blocks(f"*Next actions{target}*\n{steps}")
    return blocks


def summary_blocks(card: SummaryCard) -> list[dict[str, Any]]:
    rows = [
        section_block(f"*{fit(question, 200)}*\n{fit(answer, MAX_SECTION - 210)}")
        for question, answer in card.rows
    ]
    return [section_block(f"*{fit(card.title, 200)}*"), *rows]


def report_blocks(card: TeamReportCard) -> list[dict[str, Any]]:
    """The team picture: rung with evidence, answers side by side, disagreements, actions."""
    names = ", ".join(card.members) or "nobody yet"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": text_object(f"Team picture: {card.team}", 150)},
        context_block(fit(f"{len(card.members)} member(s): {names}", MAX_SECTION)),
    ]
    if card.summary:
        blocks += section_blocks("\n".join(escape(line) for line in card.summary))
    if card.stage is not None:
        blocks += stage_blocks(card.stage)
    else:
        blocks.append(section_block("No rung yet: nobody has finished the interview."))
    if card.placements:
        placed = " · ".join(f"{who}: {stage}" for who, stage in card.placements)
        blocks.append(context_block(fit("Members' placements: " + placed, MAX_SECTION)))
    blocks += history_blocks(card)
    blocks.append({"type": "divider"})
    for question in card.questions:
        number = f"{question.number}. " if question.number is not None else ""
        head = f"*{fit(number + question.title, 300)}*"
        if question.disagreement:
            head += "\n:warning: Members answered differently: worth a conversation."
        if question.gaps:
            head += "\n" + fit("No answer yet from " + ", ".join(question.gaps), 1000)
        fields = [
            mrkdwn_object(f"*{fit(who, 100)}*\n{fit(text, MAX_FIELD - 110)}")
            for who, text in question.answers
        ] or [mrkdwn_object("_No answers yet._")]
        for start in range(0, len(fields), MAX_FIELDS):
            section: dict[str, Any] = {"type": "section", "fields": fields[start : start + 10]}
            if start == 0:
                section["text"] = mrkdwn_object(head)
            blocks.append(section)
    if card.commitments:
        lines = "\n".join(f"• *{escape(who)}*: {escape(what)}" for who, what in card.commitments)
        blocks += section_blocks("*Commitments*\n" + lines)
    return blocks


def history_blocks(card: TeamReportCard) -> list[dict[str, Any]]:
    """The team over time: its stage after each change, and who answered each check-in."""
    blocks: list[dict[str, Any]] = []
    if card.stage_history:
        history = " → ".join(f"{stage} ({day})" for day, stage in card.stage_history)
        blocks.append(context_block(fit("Stage history: " + history, MAX_SECTION)))
    if card.checkins:
        blocks.append(context_block(checkins_line(card.checkins)))
    return blocks


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One chat.postMessage: at most 50 blocks, and at most one question with buttons."""

    text: str
    blocks: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Upload:
    file: FileOut
    comment: str


def messages_for(replies: Iterable[Reply]) -> list[SlackMessage | Upload]:
    """A turn's replies as few messages as Slack allows, in order.

    Packing a turn into one message keeps a DM to one post per answer (Slack allows about
    one message per second per channel). A message never carries two questions, so a press
    on a message can only mean one thing.
    """
    out: list[SlackMessage | Upload] = []
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []
    asking = False

    def flush() -> None:
        nonlocal asking
        if blocks:
            out.append(SlackMessage(_fallback(texts), tuple(blocks)))
        blocks.clear()
        texts.clear()
        asking = False

    for reply in replies:
        if reply.file is not None:
            flush()
            out.append(Upload(reply.file, escape(reply.text)))
            continue
        new = blocks_for(reply)
        if not new:
            continue
        if len(blocks) + len(new) > MAX_BLOCKS or (asking and reply.choices):
            flush()
        while len(new) > MAX_BLOCKS:
            out.append(SlackMessage(_fallback([reply_text(reply)]), tuple(new[:MAX_BLOCKS])))
            new = new[MAX_BLOCKS:]
        blocks.extend(new)
        texts.append(reply.text or (card_lines(reply.card)[0] if reply.card else ""))
        asking = asking or bool(reply.choices)
    flush()
    return out


def _fallback(texts: Sequence[str]) -> str:
    """The notification text Slack shows where blocks can't be (escaped, clipped)."""
    return fit("\n".join(t for t in texts if t), MAX_SECTION) or "Coffee Coach"


def settled_blocks(
    blocks: Sequence[Mapping[str, Any]], label: str, *, nav: bool
) -> list[dict[str, Any]]:
    """A pressed prompt: its buttons gone, the chosen answer shown in their place."""
    kept = [dict(b) for b in blocks if b.get("type") != "actions"]
    mark = "→" if nav else "✓"
    return [*kept, context_block(f"{mark} *{fit(label, 200)}*")]

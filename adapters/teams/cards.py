"""Pure converters from the coach's replies and cards to Adaptive Cards and activities."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    Mention,
)

from adapters.teams.activities import Press
from adapters.teams.names import (
    ADAPTIVE_CARD,
    CARD_VERSION,
    DATA_KEY,
    EMPTY_TEAM,
    MAX_CARD_BYTES,
    MAX_TEXT_CHARS,
    PICKED_KEY,
)
from bot.messages import (
    MENTION,
    Card,
    Choice,
    Evidence,
    Reply,
    StageCard,
    SummaryCard,
    TeamReportCard,
    named,
)
from bot.render import checkins_line, cited_parts, nobody_answered

# --- writing a reply ---------------------------------------------------------------------

_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_CODE = re.compile(r"`([^`\n]+)`")
# Markdown that would turn words a member typed (quoted back in a reply) into a link or an
# image: `[label](url)`, `![alt](url)`, `<url>`. The coach's own words never use them.
_LINKISH = re.compile(r"\]\(|!\[|<")
# A word joiner: invisible, and it keeps `](` and `![` from being read as markdown.
_JOINER = "\u2060"


def inert(text: str) -> str:
    """`text` with nothing in it that Teams' markdown would make a link, an image or HTML."""
    return _LINKISH.sub(lambda m: m.group()[0] + _JOINER + m.group()[1:], text)


def message_markdown(text: str) -> str:
    """The coach writes `*bold*` (as Slack does); Teams reads `**bold**` and needs blank lines."""
    lines = (_BOLD.sub(r"**\1**", inert(line)) for line in text.split("\n") if line.strip())
    return "\n\n".join(lines)


def card_markdown(text: str) -> str:
    """Adaptive Cards have no inline code: commands are shown in bold instead."""
    return _CODE.sub(r"**\1**", _BOLD.sub(r"**\1**", inert(text)))


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _lines(text: str, **style: Any) -> list[dict[str, Any]]:
    return [_text(card_markdown(line), **style) for line in text.split("\n") if line.strip()]


def _run(text: str, **style: Any) -> dict[str, Any]:
    # A TextRun is never read as markdown: member text in one cannot become a link or image.
    return {"type": "TextRun", "text": text, **style}


def evidence_block(evidence: Evidence) -> dict[str, Any]:
    """One "Why" line: the coach's words as they are, the member's quoted words inert."""
    color = "Good" if evidence.met else "Attention"
    mark = "✓" if evidence.met else "✗"
    inlines = [_run(f"{mark} {evidence.because} ({evidence.stage})", color=color)]
    for i, cited in enumerate(evidence.cited):
        lead, words, tail = cited_parts(cited)
        inlines += [
            _run(("; " if i else ": ") + lead),
            _run(words, italic=True),
            _run(tail),
        ]
    return {"type": "RichTextBlock", "inlines": inlines, "spacing": "Small"}


def _heading(text: str) -> dict[str, Any]:
    """A bold line that stays a line: a TextBlock would read "4. The sales pathway" as a
    numbered-list item and indent it; a TextRun is never read as markdown."""
    return {
        "type": "RichTextBlock",
        "inlines": [_run(text, weight="Bolder")],
        "spacing": "Medium",
    }


def _facts(rows: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rows of a FactSet, whose values Teams reads as markdown: made inert (member text)."""
    facts = [{"title": inert(t), "value": inert(v)} for t, v in rows]
    return {"type": "FactSet", "facts": facts}


def adaptive_card(
    body: Sequence[dict[str, Any]],
    actions: Sequence[dict[str, Any]] = (),
    *,
    wide: bool = False,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": list(body),
    }
    if actions:
        card["actions"] = list(actions)
    if wide:
        card["msteams"] = {"width": "Full"}
    return card


def _submit(choice: Choice, reply: Reply) -> dict[str, Any]:
    """A button that sends its value back, with the prompt it belongs to.

    Teams returns only the pressed button's data, so the data carries the prompt's text (to
    redraw the card with the answer) and token (so a press on an old card is recognised).
    """
    data: dict[str, Any] = {"value": choice.value, "label": choice.label, "prompt": reply.text}
    if reply.prompt_token is not None:
        data["token"] = reply.prompt_token
    action: dict[str, Any] = {"type": "Action.Submit", "title": choice.label}
    action["data"] = {DATA_KEY: data}
    if choice.style is not None:
        action["style"] = "positive" if choice.style == "primary" else "destructive"
    return action


def _options(reply: Reply) -> list[dict[str, Any]]:
    """Answers to tick (a multi-select ChoiceSet) and the button that sends them."""
    options = reply.options
    if options is None:
        return []
    picker = {
        "type": "Input.ChoiceSet",
        "id": PICKED_KEY,
        "isMultiSelect": True,
        "style": "expanded",
        "wrap": True,
        "choices": [{"title": c.label, "value": c.value} for c in options.choices],
    }
    submit = _submit(Choice(options.submit, "", "primary"), reply)
    submit["data"][DATA_KEY]["picked"] = True
    return [picker, {"type": "ActionSet", "actions": [submit]}]


def prompt_card(reply: Reply) -> dict[str, Any]:
    """A question with its answers stacked one per row and navigation along the bottom."""
    body = _lines(reply.text)
    body += _options(reply)
    body += [
        {"type": "ActionSet", "actions": [_submit(choice, reply)]}
        for choice in reply.choices
        if not choice.nav
    ]
    nav = [_submit(choice, reply) for choice in reply.choices if choice.nav]
    return adaptive_card(body, nav)


def answered_card(press: Press, shown: str, *, stale: bool = False) -> dict[str, Any]:
    """The prompt again with the answer in place of its buttons, so it cannot be pressed twice."""
    mark = (
        _text(inert(shown), isSubtle=True) if stale else _text(f"✓ {inert(shown)}", weight="Bolder")
    )
    return adaptive_card([*_lines(press.prompt), mark])


def link_card(text: str, title: str, url: str) -> dict[str, Any]:
    return adaptive_card(_lines(text), [{"type": "Action.OpenUrl", "title": title, "url": url}])


def stage_body(card: StageCard) -> list[dict[str, Any]]:
    body = [
        _text(
            f"Rung {card.rung} of {len(card.ladder)}: {card.stage}", size="Medium", weight="Bolder"
        ),
        {
            "type": "ColumnSet",
            "columns": [
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [
                        _text(name, horizontalAlignment="Center", weight="Bolder", color="Accent")
                        if rung == card.rung
                        else _text(name, horizontalAlignment="Center", isSubtle=True)
                    ],
                }
                for rung, name in enumerate(card.ladder, start=1)
            ],
        },
    ]
    if card.summary:
        body.append(_text(card.summary))
    if card.evidence:
        body.append(_heading("Why"))
        body += [evidence_block(e) for e in card.evidence]
    if card.actions:
        toward = f" toward {card.next_stage}" if card.next_stage else ""
        body.append(_heading(f"Next actions{toward}"))
        # Numbered as the member picks them ("1 3"), in TextRuns: a TextBlock would indent
        # each as a list of its own, and the actions quote the member's words.
        body += [
            {"type": "RichTextBlock", "inlines": [_run(f"{i}. {a}")], "spacing": "Small"}
            for i, a in enumerate(card.actions, 1)
        ]
    return body


def summary_body(card: SummaryCard) -> list[dict[str, Any]]:
    body = [_text(card.title, size="Medium", weight="Bolder")]
    for question, answer in card.rows:
        # The member's own words in a TextRun: never read as markdown, so inert.
        body += [
            _heading(question),
            {"type": "RichTextBlock", "inlines": [_run(answer)], "spacing": "None"},
        ]
    return body


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_body(card: TeamReportCard, *, clip: int) -> list[dict[str, Any]]:
    """The team picture; answers clipped to `clip` characters, or left out when it is 0."""
    members = ", ".join(card.members) or "nobody yet"
    body = [
        _text(f"Team {card.team}", size="Large", weight="Bolder"),
        _text(f"{len(card.members)} member(s): {members}", isSubtle=True, spacing="None"),
    ]
    if nobody_answered(card):
        # Fifteen empty headings tell a new team nothing; how to take part does.
        return [*body, *_lines(EMPTY_TEAM)]
    body += [
        {"type": "RichTextBlock", "inlines": [_run(line)], "spacing": "Small"}
        for line in card.summary
    ]
    if card.stage is not None:
        body += stage_body(card.stage)
    if card.placements:
        body += [_heading("Members' placements"), _facts(card.placements)]
    if card.stage_history:
        history = " → ".join(f"{stage} ({day})" for day, stage in card.stage_history)
        body.append(_text(f"Stage history: {history}", isSubtle=True))
    if card.checkins:
        body.append(_text(checkins_line(card.checkins), isSubtle=True, spacing="None"))
    for q in card.questions:
        title = f"{q.number}. {q.title}" if q.number is not None else q.title
        items = [_heading(title)]
        if q.disagreement:
            items.append(_text("Members disagree here.", color="Attention", spacing="None"))
        if q.gaps:
            gaps = ", ".join(q.gaps)
            items.append(_text(f"No answer from {gaps}.", color="Warning", spacing="None"))
        if clip and q.answers:
            items.append(_facts((who, _clip(text, clip)) for who, text in q.answers))
        body.append({"type": "Container", "items": items})
    if not clip and any(q.answers for q in card.questions):
        body.append(_text("Too many answers to show here: `export` has them all.", isSubtle=True))
    if card.commitments:
        body += [_heading("Commitments"), _facts(card.commitments)]
    return body


def card_for(card: Card, heading: str = "") -> dict[str, Any]:
    """A coach card as an Adaptive Card, the team picture shortened to fit Teams' size limit."""
    top = _lines(heading, isSubtle=True)
    if isinstance(card, StageCard):
        return adaptive_card([*top, *stage_body(card)], wide=True)
    if isinstance(card, SummaryCard):
        return adaptive_card([*top, *summary_body(card)], wide=True)
    for clip in (600, 240, 80):
        rendered = adaptive_card([*top, *report_body(card, clip=clip)], wide=True)
        if len(json.dumps(rendered, ensure_ascii=False).encode()) <= MAX_CARD_BYTES:
            return rendered
    return adaptive_card([*top, *report_body(card, clip=0)], wide=True)


def card_activity(card: dict[str, Any], *, summary: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=_clip(summary.split("\n", 1)[0], 120) or None,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)],
    )


def _file_text(reply: Reply) -> str:
    assert reply.file is not None
    content = reply.file.content
    clipped = len(content) > MAX_TEXT_CHARS
    if clipped:
        content = content[:MAX_TEXT_CHARS]
    if reply.file.mime != "text/markdown":
        content = f"```\n{content}\n```"
    parts = [message_markdown(reply.text), f"**{reply.file.name}**", content]
    if clipped:
        parts.append("(Clipped to fit in Teams: `coffee-coach export` writes the whole file.)")
    return "\n\n".join(part for part in parts if part)


def _mentioning(text: str) -> tuple[str, list[Mention]]:
    """The coach's mentions (`bot.messages.mention`) as Teams writes them: `<at>Name</at>`
    in the text, and a mention entity naming the member for each."""
    entities: list[Mention] = []

    def at(match: re.Match[str]) -> str:
        name = html.escape(match.group(2), quote=False)
        tag = f"<at>{name}</at>"
        entities.append(
            Mention(
                type="mention",
                text=tag,
                mentioned=ChannelAccount(id=match.group(1), name=match.group(2)),
            )
        )
        return tag

    return MENTION.sub(at, text), entities


def to_activity(reply: Reply) -> Activity | None:
    """A coach reply as a Teams message; None for a reply that only marks an answered card.

    A plain message names members with Teams mentions; a card names them in plain text.
    """
    if MENTION.search(reply.text):
        if reply.card is None and not reply.choices and reply.file is None:
            # The mentions go in after the text is made inert: they are the coach's own.
            text, entities = _mentioning(message_markdown(reply.text))
            return Activity(
                type=ActivityTypes.message,
                text=text,
                text_format="markdown",
                entities=entities,
            )
        reply = reply._replace(text=named(reply.text))
    if reply.card is not None:
        return card_activity(card_for(reply.card, reply.text), summary=reply.text)
    if reply.choices or reply.options is not None:
        return card_activity(prompt_card(reply), summary=reply.text)
    if reply.file is not None:
        return Activity(type=ActivityTypes.message, text=_file_text(reply), text_format="markdown")
    if not reply.text:
        return None
    return Activity(
        type=ActivityTypes.message, text=message_markdown(reply.text), text_format="markdown"
    )


def activity_json(activity: Activity) -> dict[str, Any]:
    """The JSON of an activity built above: what msrest's `serialize()` writes for these
    fields, at a small part of its cost (about 230 us a message)."""
    body: dict[str, Any] = {"type": activity.type}
    if activity.id:
        body["id"] = activity.id
    if activity.text is not None:
        body["text"] = activity.text
    if activity.text_format:
        body["textFormat"] = activity.text_format
    if activity.summary:
        body["summary"] = activity.summary
    if activity.attachments:
        body["attachments"] = [
            {"contentType": a.content_type, "content": a.content} for a in activity.attachments
        ]
    if activity.entities:
        body["entities"] = [
            {
                "type": "mention",
                "text": e.text,
                "mentioned": {"id": e.mentioned.id, "name": e.mentioned.name},
            }
            for e in activity.entities
            if isinstance(e, Mention)
        ]
    return body

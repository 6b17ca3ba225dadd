"""The App Home, rendered from the coach's neutral `Home` picture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.slack.blocks import (
    context_block,
    escape,
    history_blocks,
    ladder_mrkdwn,
    mrkdwn_object,
    section_block,
    section_blocks,
    text_object,
)
from adapters.slack.names import HOME_ACTION, MAX_HOME_BLOCKS
from bot.messages import (
    Choice,
)
from bot.port import Home

# --- App Home -----------------------------------------------------------------------------


def home_view(home: Home) -> dict[str, Any]:
    """The member's team at a glance: the ladder, its history, progress and commitments."""
    ladder = home.ladder
    report = home.report
    blocks: list[dict[str, Any]] = [{"type": "header", "text": text_object("Coffee Coach", 150)}]
    if report is None:
        blocks += [
            section_block(
                "I ask a marketing team the questions a good consultant would ask over a"
                " coffee, place the team on the social media ladder and suggest what to do"
                " next. Run `/coffee` in your team's channel, or start here."
            ),
            section_block(ladder_mrkdwn(ladder, None)),
            _home_button(Choice("Start the interview", "start", "primary")),
        ]
        return {"type": "home", "blocks": blocks}
    rung = report.stage.rung if report.stage is not None else None
    if home.team_address is None:
        blocks.append(section_block("No team channel yet: run `/coffee` in your team's channel."))
    else:
        blocks.append(section_block(f"Your team: <#{home.team_address}>"))
    blocks.append(section_block(ladder_mrkdwn(ladder, rung)))
    if report.summary:
        blocks += section_blocks("\n".join(escape(line) for line in report.summary))
    if rung is None:
        blocks.append(
            context_block("No rung yet: it appears once a member finishes the interview.")
        )
    blocks += history_blocks(report)
    blocks += [{"type": "divider"}, section_block("*Progress through the interview*")]
    blocks += section_blocks("\n".join(_progress_lines(home)) or "Nobody has started yet.")
    if report.commitments:
        blocks += [{"type": "divider"}]
        lines = "\n".join(f"• *{escape(w)}*: {escape(a)}" for w, a in report.commitments)
        blocks += section_blocks("*Committed actions*\n" + lines)
    if home.interview in ("active", "paused"):
        button = Choice("Resume the interview", "start", "primary")
    elif home.interview == "done":
        button = Choice("Start the interview again", "restart")
    else:
        button = Choice("Start the interview", "start", "primary")
    blocks += [{"type": "divider"}, _home_button(button)]
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def _progress_lines(home: Home) -> Iterator[str]:
    total = home.questions
    for member in home.progress:
        if member.answered is None:
            yield f"{escape(member.label)}: not started"
            continue
        bar = "▰" * member.answered + "▱" * (total - member.answered)
        yield f"{escape(member.label)}: {bar} {member.answered}/{total} ({member.status})"


def _home_button(choice: Choice) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": HOME_ACTION,
        "text": text_object(choice.label),
        "value": choice.value,
    }
    if choice.style is not None:
        button["style"] = choice.style
    if choice.value == "restart":
        button["confirm"] = {
            "title": text_object("Start again?"),
            "text": mrkdwn_object("Your earlier answers stay in the history."),
            "confirm": text_object("Start again"),
            "deny": text_object("Cancel"),
        }
    return {"type": "actions", "block_id": "coffee-home", "elements": [button]}

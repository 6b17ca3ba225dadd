"""The Slack door: `/coffee`, the interview in a DM, buttons, App Home, on slack-bolt.

Slash commands, events and button presses arrive at `POST /slack/events` (or over Socket
Mode) and go through one bolt `AsyncApp`. Each listener turns the payload into an
`Incoming` (the pure converters below) and acknowledges; every Web API call happens after
the ack, in the background and in order per channel. Events and presses are handled by the
coach before the ack (it is fast and local, and the store records the event id in the
same transaction as the change, so a retry is recognised however late it comes); `/coffee`
is acked first, because the interview goes on in a DM the door may first have to open.

Bolt runs with `process_before_response=True`: the listener's return is the HTTP response,
so the ack never waits on the listener runner's 10 ms polling loop.

Every slack_bolt and slack_sdk import lives in this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Config
from bot.messages import (
    Card,
    Choice,
    FileOut,
    Incoming,
    MemberKey,
    Outgoing,
    Reply,
    Sender,
    StageCard,
    SummaryCard,
    TeamReportCard,
    Turn,
    Undeliverable,
)
from bot.pacing import ConversationPacer
from bot.port import Home, Port
from bot.render import card_lines, checkins_line, reply_text

log = logging.getLogger("coffee_coach.slack")

PLATFORM = "slack"
COMMAND = "/coffee"
DEFAULT_API_URL = "https://slack.com/api/"
# The bot scopes the code needs, each for a reason; manifest.yml declares exactly these.
BOT_SCOPES: dict[str, str] = {
    "commands": "the /coffee slash command",
    "chat:write": "chat.postMessage, chat.update and chat.postEphemeral",
    "chat:write.public": "reports in a team's public channel without inviting the bot first",
    "im:history": "message.im events: answers typed in the DM, and their edits",
    "im:write": "conversations.open, to find a member's DM with the app",
    "users:read": "users.info: members' names and time zones",
    "files:write": "files.getUploadURLExternal and files.completeUploadExternal (export)",
}
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "message.im", "tokens_revoked")

# `/coffee help` and `/coffee status` answer in place (ephemeral, in the ack itself);
# `report` goes to the team's channel; everything else carries on in the member's DM.
ANSWERED_IN_PLACE = frozenset({"help", "?", "commands", "status", "progress"})
REPORT = "report"
SENT_TO_DM = "I've sent you a direct message: we carry on there."
NOT_IN_CHANNEL = (
    "I can't post in your team's channel yet: invite me there with `/invite @Coffee Coach`,"
    " then try `/coffee report` again. Here is the team picture for you meanwhile."
)

# Web API errors that a retry of the same message cannot change: the conversation or the
# member is gone, the bot was removed or its token revoked, or the message itself is refused.
UNDELIVERABLE = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)

MAX_AGE_S = 5 * 60
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_BUTTONS = 25
MAX_HOME_BLOCKS = 100
ACTION = "coffee."
ANSWER_ACTION = ACTION + "answer."
NAV_ACTION = ACTION + "nav."
HOME_ACTION = ACTION + "home"
BLOCK = "coffee:"


# --- Slack text ---------------------------------------------------------------------------

_ENTITY_TAIL = re.compile(r"&[a-z]*$")
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Escape Slack's control characters, so echoed user text never pings or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_text(text: str) -> str:
    """What the member typed, from Slack's wire format: `<@U1|ann>` → `@ann`, `&lt;` → `<`."""

    def readable(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith(("@", "#")):
            return target[0] + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return label or target

    text = _SLACK_MARKUP.sub(readable, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fit(text: str, limit: int) -> str:
    """Escaped `text` within `limit` characters, never cutting an entity in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return _ENTITY_TAIL.sub("", escaped[: limit - 1]) + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": clipped, "emoji": True}


def _sections(escaped: str) -> list[dict[str, Any]]:
    """Already-escaped mrkdwn as sections of at most 3,000 characters, split between lines."""
    blocks: list[dict[str, Any]] = []
    chunk = ""
    for line in escaped.split("\n"):
        while len(line) > MAX_SECTION:
            if chunk:
                blocks.append(_section(chunk))
                chunk = ""
            head = _ENTITY_TAIL.sub("", line[:MAX_SECTION])
            blocks.append(_section(head))
            line = line[len(head) :]
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION:
            blocks.append(_section(chunk))
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    if chunk.strip():
        blocks.append(_section(chunk))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


# --- replies as Block Kit -----------------------------------------------------------------


def blocks_for(reply: Reply) -> list[dict[str, Any]]:
    """One reply as Block Kit: its text, its card, then its buttons."""
    blocks = _sections(escape(reply.text)) if reply.text else []
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
                    "text": _plain(choice.label),
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
    blocks = [*_sections(head), _section(ladder_mrkdwn(card.ladder, card.rung))]
    if card.evidence:
        why = "\n".join(
            f"{'✓' if e.met else '✗'} {escape(e.because)} ({escape(e.stage)})"
            for e in card.evidence
        )
        blocks += _sections("*Why*\n" + why)
    if card.actions:
        target = f" toward {escape(card.next_stage)}" if card.next_stage else ""
        steps = "\n".join(f"{i}. {escape(a)}" for i, a in enumerate(card.actions, start=1))
        blocks += _sections(f"*Next actions{target}*\n{steps}")
    return blocks


def summary_blocks(card: SummaryCard) -> list[dict[str, Any]]:
    rows = [
        _section(f"*{fit(question, 200)}*\n{fit(answer, MAX_SECTION - 210)}")
        for question, answer in card.rows
    ]
    return [_section(f"*{fit(card.title, 200)}*"), *rows]


def report_blocks(card: TeamReportCard) -> list[dict[str, Any]]:
    """The team picture: rung with evidence, answers side by side, disagreements, actions."""
    names = ", ".join(card.members) or "nobody yet"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Team picture: {card.team}", 150)},
        _context(fit(f"{len(card.members)} member(s): {names}", MAX_SECTION)),
    ]
    if card.stage is not None:
        blocks += stage_blocks(card.stage)
    else:
        blocks.append(_section("No rung yet: nobody has finished the interview."))
    if card.placements:
        placed = " · ".join(f"{who}: {stage}" for who, stage in card.placements)
        blocks.append(_context(fit("Members' placements: " + placed, MAX_SECTION)))
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
            _mrkdwn(f"*{fit(who, 100)}*\n{fit(text, MAX_FIELD - 110)}")
            for who, text in question.answers
        ] or [_mrkdwn("_No answers yet._")]
        for start in range(0, len(fields), MAX_FIELDS):
            section: dict[str, Any] = {"type": "section", "fields": fields[start : start + 10]}
            if start == 0:
                section["text"] = _mrkdwn(head)
            blocks.append(section)
    if card.commitments:
        lines = "\n".join(f"• *{escape(who)}*: {escape(what)}" for who, what in card.commitments)
        blocks += _sections("*Commitments*\n" + lines)
    return blocks


def history_blocks(card: TeamReportCard) -> list[dict[str, Any]]:
    """The team over time: its stage after each change, and who answered each check-in."""
    blocks: list[dict[str, Any]] = []
    if card.stage_history:
        history = " → ".join(f"{stage} ({day})" for day, stage in card.stage_history)
        blocks.append(_context(fit("Stage history: " + history, MAX_SECTION)))
    if card.checkins:
        blocks.append(_context(checkins_line(card.checkins)))
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
    return [*kept, _context(f"{mark} *{fit(label, 200)}*")]


# --- Slack payloads to the coach's messages -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """What users.info says about a member, for names in reports and the team's time zone."""

    name: str | None = None
    timezone: str | None = None
    is_admin: bool = False


def is_dm(channel: str) -> bool:
    return channel.startswith("D")


def _team_name(name: object) -> str | None:
    return name if isinstance(name, str) and name not in ("directmessage", "privategroup") else None


def command_incoming(command: Mapping[str, Any], *, dm: str | None) -> Incoming:
    """`/coffee [sub]`: in a channel, that channel is the team; in a DM, the member's team."""
    channel = str(command["channel_id"])
    in_dm = is_dm(channel)
    team = None if in_dm else channel
    return Incoming(
        key=MemberKey(PLATFORM, str(command["team_id"]), str(command["user_id"]), team),
        text=plain_text(str(command.get("text") or "")).strip() or "start",
        event_id=f"command:{command['trigger_id']}",
        dm_address=dm,
        team_address=team,
        display_name=command.get("user_name") or None,
        team_name=None if in_dm else _team_name(command.get("channel_name")),
    )


def message_incoming(body: Mapping[str, Any]) -> Incoming | None:
    """A member's message in their DM with the app, or an edit of one.

    None for everything else: bots (this one included), channel messages, and subtypes
    that are not a person typing (joins, deletions, unfurls, file shares).
    """
    event = body.get("event")
    if not isinstance(event, dict) or event.get("channel_type") != "im":
        return None
    edits = None
    message: Any = event
    if event.get("subtype") == "message_changed":
        message = event.get("message")
        previous = event.get("previous_message")
        if not isinstance(message, dict):
            return None
        if isinstance(previous, dict) and previous.get("text") == message.get("text"):
            return None
        edits = message.get("ts")
    elif event.get("subtype") is not None:
        return None
    user, text = message.get("user"), message.get("text")
    if message.get("bot_id") or not isinstance(user, str) or not isinstance(text, str):
        return None
    channel = event.get("channel")
    return Incoming(
        key=MemberKey(PLATFORM, _workspace(body), user),
        text=plain_text(text),
        event_id=body.get("event_id"),
        message_id=None if edits else message.get("ts"),
        edits=edits if isinstance(edits, str) else None,
        dm_address=channel if isinstance(channel, str) else None,
    )


def action_incoming(body: Mapping[str, Any], *, dm: str | None = None) -> Incoming | None:
    """A press on one of the coach's buttons: the answer it carries and its prompt token.

    A press on a message is keyed by (channel, message, member), so a double click, or a
    second button on an already answered prompt, is a duplicate the store turns away.
    """
    action = _action(body)
    if action is None:
        return None
    user = str(body["user"]["id"])
    container = body.get("container") or {}
    block_id = str(action.get("block_id") or "")
    token = block_id.removeprefix(BLOCK).rpartition(":")[0] if block_id.startswith(BLOCK) else ""
    channel = str(container.get("channel_id") or "")
    team = channel if channel and not is_dm(channel) else None
    event_id = None
    if container.get("type") == "message":
        event_id = f"press:{channel}:{container.get('message_ts')}:{user}"
    return Incoming(
        key=MemberKey(PLATFORM, _workspace(body), user, team),
        value=str(action.get("value") or ""),
        prompt_token=token or None,
        event_id=event_id,
        dm_address=channel if is_dm(channel) else dm,
        team_address=team,
    )


def with_profile(incoming: Incoming, profile: Profile) -> Incoming:
    return replace(
        incoming,
        display_name=profile.name or incoming.display_name,
        timezone=profile.timezone,
        is_admin=profile.is_admin,
    )


def _action(body: Mapping[str, Any]) -> dict[str, Any] | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action: dict[str, Any] = actions[0]
    return action if str(action.get("action_id", "")).startswith(ACTION) else None


def _workspace(body: Mapping[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or body.get("enterprise_id") or "")


def signature_ok(secret: str, body: bytes, *, timestamp: str, signature: str, now: float) -> bool:
    """Slack's v0 signature of the raw bytes, stamped within the last five minutes."""
    if not secret or not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_S:
        return False
    signed = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def malformed(body: Any) -> str | None:
    """Why a signed body is not a request Slack sends this app, or None if it is one."""
    if not isinstance(body, dict):
        return "the body is not an object"

    def text(mapping: Any, *names: str) -> str | None:
        if not isinstance(mapping, dict):
            return "expected an object"
        missing = [n for n in names if not isinstance(mapping.get(n), str) or not mapping[n]]
        return f"missing {', '.join(missing)}" if missing else None

    if "command" in body:
        return text(body, "command", "team_id", "user_id", "channel_id", "trigger_id")
    if body.get("ssl_check"):
        return None
    kind = body.get("type")
    if kind == "url_verification":
        return text(body, "challenge")
    if kind == "event_callback":
        return text(body, "event_id", "team_id") or text(body.get("event"), "type")
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "no actions"
        return text(body.get("user"), "id") or next(
            (problem for a in actions if (problem := text(a, "action_id"))), None
        )
    return f"not a request this app handles (type {kind!r})"


# --- App Home -----------------------------------------------------------------------------


def home_view(home: Home) -> dict[str, Any]:
    """The member's team at a glance: the ladder, its history, progress and commitments."""
    ladder = home.ladder
    report = home.report
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain("Coffee Coach", 150)}]
    if report is None:
        blocks += [
            _section(
                "I ask a marketing team the questions a good consultant would ask over a"
                " coffee, place the team on the social media ladder and suggest what to do"
                " next. Run `/coffee` in your team's channel, or start here."
            ),
            _section(ladder_mrkdwn(ladder, None)),
            _home_button(Choice("Start the interview", "start", "primary")),
        ]
        return {"type": "home", "blocks": blocks}
    rung = report.stage.rung if report.stage is not None else None
    if home.team_address is None:
        blocks.append(_section("No team channel yet: run `/coffee` in your team's channel."))
    else:
        blocks.append(_section(f"Your team: <#{home.team_address}>"))
    blocks.append(_section(ladder_mrkdwn(ladder, rung)))
    if rung is None:
        blocks.append(_context("No rung yet: it appears once a member finishes the interview."))
    blocks += history_blocks(report)
    blocks += [{"type": "divider"}, _section("*Progress through the interview*")]
    blocks += _sections("\n".join(_progress_lines(home)) or "Nobody has started yet.")
    if report.commitments:
        blocks += [{"type": "divider"}]
        lines = "\n".join(f"• *{escape(w)}*: {escape(a)}" for w, a in report.commitments)
        blocks += _sections("*Committed actions*\n" + lines)
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
        "text": _plain(choice.label),
        "value": choice.value,
    }
    if choice.style is not None:
        button["style"] = choice.style
    if choice.value == "restart":
        button["confirm"] = {
            "title": _plain("Start again?"),
            "text": _mrkdwn("Your earlier answers stay in the history."),
            "confirm": _plain("Start again"),
            "deny": _plain("Cancel"),
        }
    return {"type": "actions", "block_id": "coffee-home", "elements": [button]}


# --- sending ------------------------------------------------------------------------------


class ChannelQueue:
    """Background work after the ack: per channel in order, and drained at shutdown."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, channel: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run `job` after every job submitted earlier for the same channel."""
        previous = self._tails.get(channel)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await job()

        task = self._track(run())
        self._tails[channel] = task
        task.add_done_callback(lambda done: self._release(channel, done))
        return task

    def _release(self, channel: str, done: asyncio.Task[None]) -> None:
        if self._tails.get(channel) is done:
            del self._tails[channel]

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        return self._track(work)

    def _track(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait, at most `timeout` seconds, until nothing is left (work that work started too)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)


async def _logged(work: Awaitable[object], what: str) -> None:
    """Run background work; a failure is logged (the member's request was acked already)."""
    try:
        await work
    except Exception:
        log.exception("Slack: %s failed", what)


class _SQLiteInstallations(SQLite3InstallationStore):
    """slack_sdk's SQLite installation store with the async deletes it lacks (3.47): without
    them app_uninstalled and tokens_revoked raise NotImplementedError."""

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)


# --- the door -----------------------------------------------------------------------------


class SlackDoor:
    """Coffee Coach in Slack: the bolt app, its listeners, and the proactive `Sender`."""

    platform = PLATFORM

    @property
    def sender(self) -> Sender:
        """What the server registers for proactive sends: the door is its own Sender."""
        return self

    def __init__(
        self,
        coach: Port,
        config: Config,
        *,
        oauth_db: str | None = None,
        pacer: ConversationPacer | None = None,
    ) -> None:
        self.coach = coach
        self.config = config
        # About one post per second per channel, Slack's limit for chat.postMessage.
        self.pacer = pacer or ConversationPacer(rate=1, per_s=1.0)
        self.queue = ChannelQueue()
        self._dms: dict[tuple[str, str], str] = {}
        self._profiles: dict[tuple[str, str], Profile] = {}
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        base_url = config.slack_api_url or DEFAULT_API_URL
        self.client = AsyncWebClient(
            token=None if self.multi_workspace else config.slack_bot_token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.installations: AsyncCacheableInstallationStore | None = None
        self.bolt = self._bolt_app(oauth_db or config.db)
        self.bolt.command(COMMAND)(self._on_command)
        self.bolt.event("message")(self._on_message)
        self.bolt.event("app_home_opened")(self._on_home_opened)
        self.bolt.event("app_uninstalled")(self._on_uninstalled)
        self.bolt.event("tokens_revoked")(self._on_tokens_revoked)
        self.bolt.action(re.compile("^" + re.escape(ACTION)))(self._on_action)

    @property
    def multi_workspace(self) -> bool:
        return bool(self.config.slack_client_id and self.config.slack_client_secret)

    def _bolt_app(self, path: str) -> AsyncApp:
        config = self.config
        common: dict[str, Any] = {
            "name": "coffee-coach",
            "client": self.client,
            "signing_secret": config.slack_signing_secret or "",
            "process_before_response": True,
            # Verified in `_events` before the body is parsed: bolt checks only after parsing,
            # too late to answer a malformed unsigned body with a 401.
            "request_verification_enabled": False,
        }
        if not self.multi_workspace:
            if not config.slack_bot_token:
                raise ValueError(
                    "Slack needs SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID and"
                    " SLACK_CLIENT_SECRET (installs over OAuth)"
                )
            return AsyncApp(**common)
        assert config.slack_client_id and config.slack_client_secret
        # Installations and OAuth states: their own tables in the database at `path`.
        self.installations = AsyncCacheableInstallationStore(
            _SQLiteInstallations(database=path, client_id=config.slack_client_id)
        )
        settings = AsyncOAuthSettings(
            client_id=config.slack_client_id,
            client_secret=config.slack_client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=self.installations,
            state_store=SQLite3OAuthStateStore(database=path, expiration_seconds=600),
        )
        # Cached, so an event costs no auth.test round trip once the workspace was seen.
        settings.authorize = AsyncInstallationStoreAuthorize(
            client_id=config.slack_client_id,
            client_secret=config.slack_client_secret,
            installation_store=self.installations,
            cache_enabled=True,
            logger=log,
        )
        return AsyncApp(**common, oauth_settings=settings)

    # --- wiring -------------------------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        if self.config.slack_signing_secret:
            app.router.add_post("/slack/events", self._events)
        flow = self.bolt.oauth_flow
        if flow is not None:
            app.router.add_get(flow.install_path, self._oauth(flow.handle_installation))
            app.router.add_get(flow.redirect_uri_path, self._oauth(flow.handle_callback))
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        app[SLACK_DOOR] = self

    async def _start(self, app: web.Application) -> None:
        # One connection pool for every Web API call, bolt's per-request clients included.
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        if self.config.slack_app_token:
            self._socket = AsyncSocketModeHandler(
                self.bolt, self.config.slack_app_token, web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def _stop(self, app: web.Application) -> None:
        await self.queue.drain(timeout=10)
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._session is not None:
            await self._session.close()

    async def _events(self, request: web.Request) -> web.Response:
        """POST /slack/events: verify, reject what Slack would never send, then bolt."""
        body = await request.read()
        if not signature_ok(
            self.config.slack_signing_secret or "",
            body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
            now=time.time(),
        ):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError):
            return web.json_response({"error": "malformed body"}, status=400)
        if problem := malformed(bolt_request.body):
            return web.json_response({"error": problem}, status=400)
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    def _oauth(
        self, handle: Callable[[AsyncBoltRequest], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def route(request: web.Request) -> web.Response:
            bolt_request = AsyncBoltRequest(
                body="", query=request.query_string, headers=dict(request.headers)
            )
            return await to_aiohttp_response(await handle(bolt_request))

        return route

    # --- listeners ----------------------------------------------------------------------

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        text = plain_text(str(command.get("text") or "")).strip()
        word = text.split(maxsplit=1)[0].casefold() if text else ""
        workspace, user = str(command["team_id"]), str(command["user_id"])
        client: AsyncWebClient = context.client
        if word in ANSWERED_IN_PLACE:
            incoming = command_incoming(command, dm=self._known_dm(workspace, user))
            turn = self.coach.handle(with_profile(incoming, self._cached_profile(client, incoming)))
            blocks = [
                b
                for m in messages_for(turn.replies)
                if isinstance(m, SlackMessage)
                for b in m.blocks
            ]
            await ack(
                text=_fallback([reply_text(r) for r in turn.replies]),
                blocks=blocks[:MAX_BLOCKS],
                response_type="ephemeral",
            )
            return
        in_app_dm = command["channel_id"] == self._known_dm(workspace, user)
        if in_app_dm or word == REPORT:
            await ack()
        else:
            await ack(text=SENT_TO_DM, response_type="ephemeral")
        self.queue.spawn(_logged(self._run_command(client, command, word), "/coffee " + word))

    async def _run_command(
        self, client: AsyncWebClient, command: dict[str, Any], word: str
    ) -> None:
        workspace, user = str(command["team_id"]), str(command["user_id"])
        profile = await self._profile(client, workspace, user)
        dm = await self._dm(client, workspace, user)
        turn = self.coach.handle(with_profile(command_incoming(command, dm=dm), profile))
        if turn.duplicate:
            return
        if word == REPORT:
            await self._deliver_report(client, turn, str(command["channel_id"]), user, dm)
        else:
            await self.queue.submit(dm, lambda: self._post(client, dm, turn.replies))

    async def _deliver_report(
        self, client: AsyncWebClient, turn: Turn, channel: str, user: str, dm: str
    ) -> None:
        """In the team's channel for everyone; anywhere else, only for the member who asked."""
        try:
            if turn.team is not None and turn.team.team == channel:
                await self.queue.submit(channel, lambda: self._post(client, channel, turn.replies))
            else:
                await self.queue.submit(
                    channel, lambda: self._ephemeral(client, channel, user, turn.replies)
                )
        except SlackApiError as error:
            if error.response.get("error") not in ("not_in_channel", "channel_not_found"):
                raise
            note = Reply(NOT_IN_CHANNEL)
            await self.queue.submit(dm, lambda: self._post(client, dm, [note, *turn.replies]))

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = message_incoming(body)
        if incoming is None or incoming.dm_address is None:
            return
        client: AsyncWebClient = context.client
        channel = incoming.dm_address
        self._dms[(incoming.key.workspace, incoming.key.user)] = channel
        turn = self.coach.handle(with_profile(incoming, self._cached_profile(client, incoming)))
        if turn.replies:
            self.queue.submit(
                channel, lambda: _logged(self._post(client, channel, turn.replies), "DM reply")
            )

    async def _on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client: AsyncWebClient = context.client
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or "")
        incoming = action_incoming(body)
        if incoming is None:
            await ack()
            return
        if container.get("type") != "message" or not is_dm(channel):
            # App Home, or a message in a channel: the conversation goes on in the DM.
            await ack()
            work = self._run_press_elsewhere(client, body, home=container.get("type") == "view")
            self.queue.spawn(_logged(work, "button press"))
            return
        self._dms[(incoming.key.workspace, incoming.key.user)] = channel
        turn = self.coach.handle(with_profile(incoming, self._cached_profile(client, incoming)))
        await ack()
        if turn.duplicate:
            return
        user = incoming.key.user
        if turn.stale:
            job = self._ephemeral(client, channel, user, turn.replies)
        else:
            job = self._settle(client, body, turn)
        self.queue.submit(channel, lambda: _logged(job, "button press"))

    async def _settle(self, client: AsyncWebClient, body: dict[str, Any], turn: Turn) -> None:
        """Replace the pressed prompt's buttons with the answer, then send what comes next."""
        action = _action(body) or {}
        channel = str(body["container"]["channel_id"])
        message = body.get("message") or {}
        chosen = next((r.answered for r in turn.replies if r.answered), None)
        label = chosen or str((action.get("text") or {}).get("text") or action.get("value"))
        blocks = settled_blocks(
            message.get("blocks") or [], label, nav=str(action["action_id"]).startswith(NAV_ACTION)
        )
        await client.chat_update(
            channel=channel,
            ts=str(body["container"]["message_ts"]),
            text=str(message.get("text") or label),
            blocks=blocks,
        )
        await self._post(client, channel, turn.replies)

    async def _run_press_elsewhere(
        self, client: AsyncWebClient, body: dict[str, Any], *, home: bool
    ) -> None:
        workspace, user = _workspace(body), str(body["user"]["id"])
        profile = await self._profile(client, workspace, user)
        dm = await self._dm(client, workspace, user)
        incoming = action_incoming(body, dm=dm)
        assert incoming is not None
        turn = self.coach.handle(with_profile(incoming, profile))
        if turn.duplicate:
            return
        await self.queue.submit(dm, lambda: self._post(client, dm, turn.replies))
        if home:
            await self._publish_home(client, workspace, user)

    async def _on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home" or not isinstance(event.get("user"), str):
            return
        work = self._publish_home(context.client, str(context.team_id), event["user"])
        self.queue.spawn(_logged(work, "App Home"))

    async def _publish_home(self, client: AsyncWebClient, workspace: str, user: str) -> None:
        view = home_view(self.coach.home(MemberKey(PLATFORM, workspace, user)))
        await client.views_publish(user_id=user, view=view)

    async def _on_uninstalled(self, context: AsyncBoltContext) -> None:
        log.info("Slack: uninstalled from %s; the coaching data is kept", context.team_id)
        self._forget_workspace(str(context.team_id))
        if self.installations is not None:
            await AsyncTokenRevocationListeners(self.installations).handle_app_uninstalled_events(
                context
            )

    async def _on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._forget_workspace(str(context.team_id))
        if self.installations is not None:
            await AsyncTokenRevocationListeners(self.installations).handle_tokens_revoked_events(
                event, context
            )

    def _forget_workspace(self, workspace: str) -> None:
        for cache in (self._dms, self._profiles):
            for key in [k for k in cache if k[0] == workspace]:
                del cache[key]

    # --- Web API --------------------------------------------------------------------------

    async def _post(self, client: AsyncWebClient, channel: str, replies: Sequence[Reply]) -> None:
        for item in messages_for(replies):
            if isinstance(item, Upload):
                await client.files_upload_v2(
                    channel=channel,
                    filename=item.file.name,
                    title=item.file.name,
                    content=item.file.content,
                    initial_comment=item.comment or None,
                )
                continue
            await self.pacer.wait(channel)
            await client.chat_postMessage(channel=channel, text=item.text, blocks=list(item.blocks))

    async def _ephemeral(
        self, client: AsyncWebClient, channel: str, user: str, replies: Sequence[Reply]
    ) -> None:
        for item in messages_for(replies):
            if isinstance(item, SlackMessage):
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=item.text, blocks=list(item.blocks)
                )

    async def _dm(self, client: AsyncWebClient, workspace: str, user: str) -> str:
        """The member's DM channel with the app: remembered, stored, or opened now."""
        known = self._known_dm(workspace, user)
        if known is None:
            response = await client.conversations_open(users=user)
            known = str(response["channel"]["id"])
            self._dms[(workspace, user)] = known
        return known

    def _known_dm(self, workspace: str, user: str) -> str | None:
        known = self._dms.get((workspace, user))
        if known is None:
            stored = self.coach.known_address(MemberKey(PLATFORM, workspace, user))
            if stored:
                known = self._dms[(workspace, user)] = stored
        return known

    async def _profile(self, client: AsyncWebClient, workspace: str, user: str) -> Profile:
        profile = self._profiles.get((workspace, user))
        if profile is not None:
            return profile
        try:
            info = (await client.users_info(user=user))["user"]
        except SlackApiError as error:
            log.warning("Slack: users.info %s failed: %s", user, error.response.get("error"))
            return Profile()
        names = info.get("profile") or {}
        profile = Profile(
            name=names.get("display_name") or info.get("real_name") or info.get("name"),
            timezone=info.get("tz"),
            is_admin=bool(info.get("is_admin") or info.get("is_owner")),
        )
        self._profiles[(workspace, user)] = profile
        return profile

    def _cached_profile(self, client: AsyncWebClient, incoming: Incoming) -> Profile:
        """The member's profile if known; otherwise fetched for next time, not waited for."""
        key = (incoming.key.workspace, incoming.key.user)
        profile = self._profiles.get(key)
        if profile is None:
            self.queue.spawn(_logged(self._profile(client, *key), "users.info"))
            return Profile()
        return profile

    # --- Sender ---------------------------------------------------------------------------

    def messages(self, outgoing: Outgoing) -> int:
        """A check-in's replies are packed into as few posts as Slack allows."""
        return len(messages_for(outgoing.replies))

    async def send(self, outgoing: Outgoing) -> None:
        """Post the coach's own messages to a stored address, in order and paced.

        Multi-workspace installs need `outgoing.key` to pick the workspace's bot token.
        Raises `Undeliverable` when Slack's answer cannot change on a retry (the channel is
        gone, the bot was removed, the member deactivated), and the Web API's error otherwise,
        so the scheduler can record it and try again.
        """
        client = await self._client_for(outgoing.key)
        channel = outgoing.address
        try:
            await self.queue.submit(channel, lambda: self._post(client, channel, outgoing.replies))
        except SlackApiError as error:
            code = error.response.get("error")
            if code in UNDELIVERABLE:
                raise Undeliverable(f"Slack answered {code} for {channel}") from error
            raise

    async def _client_for(self, key: MemberKey | None) -> AsyncWebClient:
        if self.installations is None:
            return self.client
        if key is None:
            raise ValueError("a multi-workspace Slack send needs Outgoing.key")
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=key.workspace)
        if bot is None:
            # Uninstalling deletes the workspace's installation: nobody is left to send as.
            raise Undeliverable(f"Coffee Coach is not installed in Slack workspace {key.workspace}")
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=list(self.client.retry_handlers),
        )


SLACK_DOOR: web.AppKey[SlackDoor] = web.AppKey("slack_door", SlackDoor)


def mount(
    app: web.Application, coach: Port, config: Config, *, oauth_db: str | None = None
) -> SlackDoor:
    """Open the Slack door on `app`: /slack/events, OAuth routes, Socket Mode.

    The caller registers the returned door's `sender` for proactive sends.
    """
    door = SlackDoor(coach, config, oauth_db=oauth_db)
    door.attach(app)
    return door

"""Pure converters from Slack payloads (commands, events, presses) to `Incoming`."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from adapters.slack.blocks import plain_text
from adapters.slack.names import ACTION, BLOCK, MAX_AGE_S, PICK_ACTION, PICKED, PLATFORM
from bot.messages import (
    Incoming,
    MemberKey,
)

# --- Slack payloads to the coach's messages -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """What users.info says about a member, for names in reports and the team's time zone."""

    name: str | None = None
    timezone: str | None = None
    is_admin: bool = False
    is_bot: bool = False


def is_dm(channel: str) -> bool:
    return channel.startswith("D")


def _team_name(name: object) -> str | None:
    return name if isinstance(name, str) and name not in ("directmessage", "privategroup") else None


def is_group_dm(command: Mapping[str, Any]) -> bool:
    return str(command.get("channel_name") or "").startswith("mpdm-")


def unnamed_channel(command: Mapping[str, Any]) -> bool:
    """A channel whose slash command payload carries no name people know it by."""
    channel = str(command["channel_id"])
    return (
        not is_dm(channel)
        and not is_group_dm(command)
        and not _team_name(command.get("channel_name") or None)
    )


# A mention or channel link with no name in it, as Slack sends what a member typed.
_UNNAMED = re.compile(r"<([@#])([UWC][A-Z0-9]+)>")


def unnamed(text: str) -> list[tuple[str, str]]:
    """The (sigil, id) of each mention and channel link in `text` that carries no name."""
    return list(dict.fromkeys(_UNNAMED.findall(text)))


def with_names(text: str, names: Mapping[tuple[str, str], str]) -> str:
    """`<@U0SARA>` as `<@U0SARA|Sara>` where the name is known, so it reads as `@Sara`."""

    def named(match: re.Match[str]) -> str:
        name = names.get((match.group(1), match.group(2)))
        return f"<{match.group(1)}{match.group(2)}|{name}>" if name else match.group(0)

    return _UNNAMED.sub(named, text)


def raw_message_text(body: Mapping[str, Any]) -> str:
    """The text of a DM message event (or of the edited message), as Slack sent it."""
    event = body.get("event")
    if not isinstance(event, dict):
        return ""
    message = event.get("message") if event.get("subtype") == "message_changed" else event
    text = message.get("text") if isinstance(message, dict) else None
    return text if isinstance(text, str) else ""


def command_incoming(
    command: Mapping[str, Any], *, dm: str | None, place_name: str | None = None
) -> Incoming:
    """`/coffee [sub]`: a command, never an answer. In a channel that channel's team (a
    group DM only once its members make it one); in a DM, the member's own team.

    `place_name` names a group DM (after its members), or a channel whose payload gave no
    name (a private channel's is "privategroup")."""
    channel = str(command["channel_id"])
    in_dm = is_dm(channel)
    team = None if in_dm else channel
    group = not in_dm and is_group_dm(command)
    return Incoming(
        key=MemberKey(PLATFORM, str(command["team_id"]), str(command["user_id"]), team),
        text=plain_text(str(command.get("text") or "")).strip() or "start",
        event_id=f"command:{command['trigger_id']}",
        dm_address=dm,
        team_address=team,
        display_name=command.get("user_name") or None,
        team_name=_place_name(command, in_dm=in_dm, group=group, given=place_name),
        command=True,
        shared=not in_dm,
        group=group,
    )


def _place_name(
    command: Mapping[str, Any], *, in_dm: bool, group: bool, given: str | None
) -> str | None:
    if in_dm:
        return None
    if group:
        return given
    return _team_name(command.get("channel_name")) or given


def message_incoming(
    body: Mapping[str, Any], names: Mapping[tuple[str, str], str] | None = None
) -> Incoming | None:
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
        text=plain_text(with_names(text, names or {})),
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
    where = body.get("channel")
    group = isinstance(where, dict) and str(where.get("name") or "").startswith("mpdm-")
    value = str(action.get("value") or "")
    if value == PICKED:
        value = " ".join(ticked(body))
    return Incoming(
        key=MemberKey(PLATFORM, _workspace(body), user, team),
        shared=team is not None,
        group=group and team is not None,
        value=value,
        prompt_token=token or None,
        event_id=event_id,
        dm_address=channel if is_dm(channel) else dm,
        team_address=team,
    )


def ticked(body: Mapping[str, Any]) -> list[str]:
    """The values of the boxes ticked on the message, from the press's `state`."""
    state = body.get("state") or {}
    values = state.get("values") if isinstance(state, dict) else None
    found: list[str] = []
    for block in values.values() if isinstance(values, dict) else ():
        element = block.get(PICK_ACTION) if isinstance(block, dict) else None
        if isinstance(element, dict):
            for option in element.get("selected_options") or ():
                if isinstance(option, dict) and isinstance(option.get("value"), str):
                    found.append(option["value"])
    return found


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
    if action.get("action_id") == PICK_ACTION:
        return None  # a box ticked: nothing is answered until the button beside it
    return action if str(action.get("action_id", "")).startswith(ACTION) else None


def _workspace(body: Mapping[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or body.get("enterprise_id") or "")


MAX_STAMP_DIGITS = 12


def signature_ok(secret: str, body: bytes, *, timestamp: str, signature: str, now: float) -> bool:
    """Slack's v0 signature of the raw bytes, stamped within the last five minutes."""
    # `"²".isdigit()` is true and `int()` refuses 5,000 digits: only a plain ASCII number of
    # a sane length is a timestamp, and a signature that is not ASCII is simply wrong.
    plain = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_STAMP_DIGITS
    if not secret or not plain or abs(now - int(timestamp)) > MAX_AGE_S:
        return False
    signed = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


# What `form_fields` leaves to urllib: anything that is not ASCII, a line break (which the
# quoted-printable decoder would read as a soft break), a `%` that is not an escape. Three
# checks, not one alternation: a pattern that tries each alternative at every character
# took some 50 µs of a press's few-kilobyte form, the three together a fifth of that.
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unusual_form(text: str) -> bool:
    return (
        not text.isascii()
        or "\n" in text
        or "\r" in text
        or _STRAY_PERCENT.search(text) is not None
    )


def form_fields(text: str) -> dict[str, str]:
    """`dict(parse_qsl(text, keep_blank_values=True))`, about ten times faster.

    A press's form carries the pressed message's blocks as JSON, hundreds of `%XX` escapes
    that urllib decodes one at a time in Python. Here every escape is decoded at once by
    binascii's quoted-printable decoder (in C): `=` is escaped as `=3D` first, then each
    `%` becomes `=`. Unusual input goes to urllib itself, so the result is always urllib's.
    """
    if _unusual_form(text):
        return dict(parse_qsl(text, keep_blank_values=True))
    fields: dict[str, str] = {}
    for pair in text.encode("ascii").split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        fields[_unquote_plus(name)] = _unquote_plus(value)
    return fields


def _unquote_plus(raw: bytes) -> str:
    if b"%" not in raw:
        return raw.replace(b"+", b" ").decode("ascii")
    qp = raw.replace(b"+", b" ").replace(b"=", b"=3D").replace(b"%", b"=")
    return binascii.a2b_qp(qp).decode("utf-8", "replace")


def parse_body(text: str, content_type: str | None) -> Any:
    """A request's body as bolt parses it: JSON, or a form with the JSON in `payload`."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    params = form_fields(text)
    if "payload" in text:
        payload = params.get("payload")
        return json.loads(payload) if payload is not None else {}
    return params


def _not_object(mapping: dict[str, Any], name: str) -> bool:
    return mapping.get(name) is not None and not isinstance(mapping[name], dict)


def _message_problem(message: Any) -> str | None:
    """The pressed message, as far as the door redraws it: text and a list of blocks."""
    if not isinstance(message, dict):
        return None
    blocks = message.get("blocks")
    if blocks is not None and not (
        isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)
    ):
        return "message.blocks must be a list of objects"
    if message.get("text") is not None and not isinstance(message["text"], str):
        return "message.text must be text"
    return None


def malformed(body: Any) -> str | None:
    """Why a signed body is not a request Slack sends this app, or None if it is one."""
    if not isinstance(body, dict):
        return "the body is not an object"

    def text(mapping: Any, *names: str) -> str | None:
        if not isinstance(mapping, dict):
            return "expected an object"
        missing = [n for n in names if not isinstance(mapping.get(n), str) or not mapping[n]]
        return f"missing {', '.join(missing)}" if missing else None

    def strings(mapping: Any, *names: str) -> str | None:
        """Each of `names` that is present is a string."""
        if not isinstance(mapping, dict):
            return None
        wrong = [n for n in names if mapping.get(n) is not None and not isinstance(mapping[n], str)]
        return f"{', '.join(wrong)} must be text" if wrong else None

    if "command" in body:
        return text(body, "command", "team_id", "user_id", "channel_id", "trigger_id")
    if body.get("ssl_check"):
        return None
    kind = body.get("type")
    if kind == "url_verification":
        return text(body, "challenge")
    if kind == "event_callback":
        event = body.get("event")
        return (
            text(body, "event_id", "team_id")
            or text(event, "type")
            or strings(event, "user", "channel", "channel_type", "text", "ts", "subtype", "tab")
        )
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "no actions"
        for part in ("container", "team", "message", "view", "channel"):
            if part in body and body[part] is not None and not isinstance(body[part], dict):
                return f"{part} must be an object"
        return (
            text(body.get("user"), "id")
            or strings(body.get("user"), "team_id", "name", "username")
            or strings(body.get("container"), "type", "channel_id", "message_ts", "view_id")
            or (
                text(body["container"], "channel_id", "message_ts")
                if isinstance(body.get("container"), dict)
                and body["container"].get("type") == "message"
                else None
            )
            or strings(body.get("team"), "id")
            or next((problem for a in actions if (problem := text(a, "action_id"))), None)
            or next((p for a in actions if (p := strings(a, "value", "block_id", "type"))), None)
            or ("an action's text must be an object" if _not_object(actions[0], "text") else None)
            or _message_problem(body.get("message"))
        )
    return f"not a request this app handles (type {kind!r})"

"""What a Slack turn sends, as outbox posts: plain JSON, rendered inside the turn's commit.

A post names one operation and carries everything it needs, so that any process can
deliver it after a restart:

- `post`: the messages, to the post's channel (a DM or the team's channel);
- `ephemeral`: the messages, only for `user`, in the post's channel;
- `settle`: the pressed prompt redrawn (`update`, the `chat.update`'s body), and the
  messages posted;
- `report`: the team picture, public when `public` (the team's own channel), otherwise
  for `user` alone; `dm` is where it goes if the coach may not post in the channel.

A message is `{"text", "blocks"}`, `{"upload": {"name", "content", "comment"}}`, or, in a
`post` or a `settle`, `{"body"}`: its `chat.postMessage`'s JSON body, channel included,
encoded as the turn is rendered (in the store's process), so that delivering it on the
event loop is sending bytes, not pickling and encoding its blocks again. A post written
by an earlier version (a settle's `ts`, `text` and `blocks`; messages' text and blocks)
is delivered all the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import SlackMessage, Upload, messages_for, settled_blocks
from bot.messages import FileOut, Post, Reply, TeamReportCard, Turn

JsonObject = dict[str, Any]
POST, EPHEMERAL, SETTLE, REPORT = "post", "ephemeral", "settle", "report"
_encode = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Encoded:
    """A Web API call's JSON body, encoded when the turn was rendered."""

    body: str


def message_json(replies: Sequence[Reply], channel: str | None = None) -> list[JsonObject]:
    """A turn's messages as the outbox keeps them: for `channel`, as encoded bodies."""
    out: list[JsonObject] = []
    for item in messages_for(replies):
        if isinstance(item, Upload):
            file = {"name": item.file.name, "content": item.file.content, "mime": item.file.mime}
            out.append({"upload": file | {"comment": item.comment}})
        elif channel is not None:
            body = {"channel": channel, "text": item.text, "blocks": item.blocks}
            out.append({"body": _encode(body)})
        else:
            out.append({"text": item.text, "blocks": list(item.blocks)})
    return out


def messages_of(payload: JsonObject) -> list[SlackMessage | Upload | Encoded]:
    """The messages of a post, as the door sends them."""
    out: list[SlackMessage | Upload | Encoded] = []
    for item in payload.get("messages", ()):
        if "body" in item:
            out.append(Encoded(item["body"]))
        elif "upload" in item:
            up = item["upload"]
            file = FileOut(up["name"], up["content"], up.get("mime", "text/markdown"))
            out.append(Upload(file, up.get("comment", "")))
        else:
            out.append(SlackMessage(item["text"], tuple(item["blocks"])))
    return out


def update_of(payload: JsonObject, channel: str) -> Encoded:
    """A settle's `chat.update` of the pressed prompt."""
    if "update" in payload:
        return Encoded(payload["update"])
    return Encoded(_update(channel, payload["ts"], payload["text"], payload["blocks"]))


def _update(channel: str, ts: str, text: str, blocks: Sequence[JsonObject]) -> str:
    return _encode({"channel": channel, "ts": ts, "text": text, "blocks": list(blocks)})


def post(channel: str, replies: Sequence[Reply]) -> list[Post]:
    messages = message_json(replies, channel)
    return [Post(channel, {"op": POST, "messages": messages})] if messages else []


def ephemeral(channel: str, user: str, replies: Sequence[Reply]) -> list[Post]:
    messages = message_json(replies)
    if not messages:
        return []
    return [Post(channel, {"op": EPHEMERAL, "user": user, "messages": messages})]


def settle(
    channel: str, ts: str, text: str, blocks: Sequence[JsonObject], replies: Sequence[Reply]
) -> list[Post]:
    update = _update(channel, ts, text, blocks)
    payload = {"op": SETTLE, "update": update, "messages": message_json(replies, channel)}
    return [Post(channel, payload)]


def report(
    channel: str, *, user: str, dm: str, public: bool, replies: Sequence[Reply]
) -> list[Post]:
    payload = {
        "op": REPORT,
        "user": user,
        "dm": dm,
        "public": public,
        "messages": message_json(replies),
    }
    return [Post(channel, payload)]


# --- renders: what a turn becomes, as plain data and module-level functions ------------------
# A door hands the port `functools.partial(render, ...)`; the turn may run in another
# process (`bot.store_process`), so a render must pickle.


def to_channel(channel: str, turn: Turn) -> list[Post]:
    """The turn's replies, posted in `channel`."""
    return post(channel, turn.replies)


def for_command(channel: str, user: str, dm: str, report_word: bool, turn: Turn) -> list[Post]:
    """A `/coffee` subcommand's replies: in the DM, or for `report` where it was asked."""
    if not report_word:
        return post(dm, turn.replies)
    # In the team's channel for everyone, when it is the team's picture; anywhere else
    # (or a report's help), only for who asked.
    report_card = any(isinstance(reply.card, TeamReportCard) for reply in turn.replies)
    public = report_card and turn.team is not None and turn.team.team == channel
    return report(channel, user=user, dm=dm, public=public, replies=turn.replies)


@dataclass(frozen=True, slots=True)
class Pressed:
    """The prompt a member pressed a button on, as the press's payload showed it."""

    channel: str
    ts: str
    text: str
    blocks: tuple[JsonObject, ...]
    label: str
    nav: bool


def for_press(pressed: Pressed, user: str, turn: Turn) -> list[Post]:
    """The pressed prompt redrawn with the answer, then what comes next; a press on a
    prompt already answered gets its reply for the member alone."""
    if turn.stale:
        return ephemeral(pressed.channel, user, turn.replies)
    label = next((r.answered for r in turn.replies if r.answered), None) or pressed.label
    blocks = settled_blocks(list(pressed.blocks), label, nav=pressed.nav)
    return settle(pressed.channel, pressed.ts, pressed.text or label, blocks, turn.replies)

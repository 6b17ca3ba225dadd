"""What one message is doing, and the names every part of the engine shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.messages import (
    Incoming,
    Reply,
)
from bot.store import Conversation, Member

INTERVIEW = "coffee"
ACTIVE = ("active", "paused")


@dataclass(slots=True)
class Step:
    """What one message is doing: the member, the conversation, the replies so far."""

    msg: Incoming
    member: Member
    conv: Conversation | None
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, **kw: Any) -> None:
        self.replies.append(Reply(text=text, **kw))


class ConflictError(RuntimeError):
    """The conversation changed under this turn (another process or a repeated delivery)."""

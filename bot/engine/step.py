"""What one message is doing, and the names every part of the engine shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.messages import Card, Choice, FileOut, Incoming, Options, Reply
from bot.store import TEAM, Conversation, Member, Team

INTERVIEW = "coffee"
ACTIVE = ("active", "paused")


@dataclass(slots=True)
class Step:
    """What one message is doing: the member, the conversation, the replies so far."""

    msg: Incoming
    member: Member
    conv: Conversation | None
    replies: list[Reply] = field(default_factory=list)
    # The team of the place the message came from (a channel, a Teams team, a group chat),
    # which need not be the team the member answers for; None in a direct message.
    place: Team | None = None

    @property
    def team(self) -> Team:
        """The team a team command is for: the place's, if it is a team; else the member's."""
        place = self.place
        return place if place is not None and place.kind == TEAM else self.member.team

    def say(
        self,
        text: str,
        *,
        choices: tuple[Choice, ...] = (),
        card: Card | None = None,
        file: FileOut | None = None,
        prompt_token: str | None = None,
        answered: str | None = None,
        options: Options | None = None,
    ) -> None:
        """One more reply (`Reply`'s fields, passed on in order: every turn says one)."""
        self.replies.append(Reply(text, choices, card, file, prompt_token, answered, options))


class ConflictError(RuntimeError):
    """The conversation changed under this turn (another process or a repeated delivery)."""

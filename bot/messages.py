"""The platform-neutral contract between adapters and the coach.

An adapter turns a platform event into an `Incoming`; the coach answers with `Reply`
objects (text, optional choices, an optional card or file) that each adapter renders in its
own idiom. The coach never sees a Slack payload or a Bot Framework activity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, NamedTuple, Protocol

# A member named in the coach's own words (`Reply.text`): a mention in the platform's
# idiom (Slack `<@U1>`), the name elsewhere. Built only by `mention`; member text never
# holds these characters (the engine drops them from what members type).
_MENTION_MARKS = "\ue000\ue001\ue002"
MENTION = re.compile("\ue000([^\ue000-\ue002]*)\ue001([^\ue000-\ue002]*)\ue002")


def mention(user: str, name: str | None) -> str:
    """`user` (a platform id) named in a reply: each door renders it in its idiom."""
    clean = "".join(c for c in f"{name or ''}" if c not in _MENTION_MARKS)
    ident = "".join(c for c in user if c not in _MENTION_MARKS)
    return f"\ue000{ident}\ue001{clean or 'a member'}\ue002"


def named(text: str) -> str:
    """The text with each mention as the member's name: for doors without mentions."""
    return MENTION.sub(lambda m: m.group(2), text)


# The name `team` is scoped by (platform, workspace): a Slack channel id, a Teams team or
# group chat id, or a terminal team name. `None` means "the member's current team".


# The keys are named tuples: immutable and hashable like the records below, and made for
# every message and turn at a fraction of a frozen dataclass's cost.
class MemberKey(NamedTuple):
    """Whose conversation: one member of one team on one platform."""

    platform: str
    workspace: str
    user: str
    team: str | None = None

    def with_team(self, team: str) -> MemberKey:
        return MemberKey(self.platform, self.workspace, self.user, team)


class TeamKey(NamedTuple):
    platform: str
    workspace: str
    team: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from a member, already stripped of its platform's wrapping."""

    key: MemberKey
    text: str = ""
    # The answer a pressed button carries, and the prompt token of the message it was on:
    # a press on an old prompt is recognised and not applied twice.
    value: str | None = None
    prompt_token: str | None = None
    # The platform's id for this delivery (de-duplication) and for the message itself
    # (so a later edit of that message can update the answer it gave).
    event_id: str | None = None
    message_id: str | None = None
    edits: str | None = None
    # Where to reach the member privately later, and the team's shared place (opaque to
    # the coach; only the adapter that wrote it reads it back).
    dm_address: str | None = None
    team_address: str | None = None
    display_name: str | None = None
    team_name: str | None = None
    timezone: str | None = None
    is_admin: bool = False
    # The text is a command and its arguments, never an answer (`/coffee ...`, an @mention
    # of the coach in a channel).
    command: bool = False
    # Others read the place it came from (a channel, a group chat): nothing private is
    # said there; the door sends private replies to the member alone.
    shared: bool = False
    # The place is a group DM or group chat: a team only once someone makes it one.
    group: bool = False
    # The platform's own welcome has already introduced the coach (Teams' install card in
    # the personal chat): the interview then starts without its intro, so the member is
    # greeted once.
    welcomed: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    value: str
    style: Literal["primary", "danger"] | None = None
    # Navigation (skip, back, pause) rather than an answer: adapters may set it apart.
    nav: bool = False


@dataclass(frozen=True, slots=True)
class Cited:
    """Words the evidence rests on: the member's own (quoted), or a pick they made.

    `text` is member text: each adapter escapes it for its platform when showing it.
    """

    text: str
    # Where it comes from: "Q7", "stage check", "your answer to my question".
    source: str
    picked: bool = False
    # A short remark of the coach's on it ("no date yet").
    note: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a criterion is met or not, citing what decided it."""

    stage: str
    criterion: str
    met: bool
    because: str
    cited: tuple[Cited, ...] = ()


@dataclass(frozen=True, slots=True)
class StageCard:
    """Where the member or team stands on the ladder, why, and what to do next."""

    rung: int
    stage: str
    summary: str
    ladder: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    next_stage: str | None
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SummaryCard:
    """A member's answers, question by question."""

    title: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class QuestionView:
    """One question of the team report: every member's answer and what stands out."""

    number: int | None
    title: str
    answers: tuple[tuple[str, str], ...]
    disagreement: bool = False
    gaps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckinRound:
    """One round of check-ins: how many members were asked, and how many answered."""

    # The day the round was scheduled for, in the team's time zone.
    day: date
    asked: int
    answered: int


@dataclass(frozen=True, slots=True)
class TeamReportCard:
    team: str
    members: tuple[str, ...]
    stage: StageCard | None
    placements: tuple[tuple[str, str], ...]
    questions: tuple[QuestionView, ...]
    commitments: tuple[tuple[str, str], ...]
    # The team's stage after each change, as (ISO date, stage), oldest first.
    stage_history: tuple[tuple[str, str], ...] = ()
    # Every check-in round, oldest first.
    checkins: tuple[CheckinRound, ...] = ()
    # A consultant's summary for the top: splits, disagreements, the rung, what to settle.
    # The lines quote member text (names, the things they named): adapters show them inert.
    summary: tuple[str, ...] = ()


Card = StageCard | SummaryCard | TeamReportCard


@dataclass(frozen=True, slots=True)
class FileOut:
    name: str
    content: str
    mime: str = "text/markdown"


@dataclass(frozen=True, slots=True)
class Options:
    """Several answers to tick at once, sent together with one button.

    Each platform shows them as it can (Teams: a multi-select Input.ChoiceSet; Slack:
    checkboxes); the button sends the ticked values joined by spaces, the same answer as
    typing them ("1 3"), which is what the terminal does.
    """

    choices: tuple[Choice, ...]
    submit: str


class Reply(NamedTuple):
    """One message from the coach (a named tuple, as the keys are: every turn makes one).

    `text` uses a small neutral markup, `*bold*` and `` `code` ``, which each adapter
    renders in its platform's idiom; member-typed text inside it is not escaped here.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    card: Card | None = None
    file: FileOut | None = None
    # Set when the reply asks a question; buttons carry it back so a stale press is caught.
    prompt_token: str | None = None
    # The answer a pressed button gave, shown in place of the buttons it came from.
    answered: str | None = None
    # Answers to tick, any number of them (commitments); `choices` stay buttons beside them.
    options: Options | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the coach sends on its own (a check-in, a reminder, a celebration)."""

    address: str
    replies: tuple[Reply, ...]
    key: MemberKey | None = None


class Undeliverable(Exception):
    """Raised by a Sender when retrying cannot help (the member left, the bot was removed)."""


class Sender(Protocol):
    """What an adapter offers the scheduler: proactive delivery to a stored address.

    `send` raises `Undeliverable` when the platform says the message can never arrive (the
    conversation is gone, the bot was removed from it, the member was deactivated): the
    scheduler then gives up at once instead of retrying. Any other exception is taken as
    transient, and the send is retried with backoff.
    """

    platform: str

    def messages(self, outgoing: Outgoing) -> int:
        """How many platform messages `outgoing` becomes, for the platform's rate limits."""
        ...

    async def send(self, outgoing: Outgoing) -> None: ...


@dataclass(frozen=True, slots=True)
class Noted:
    """A member noted in a place: the team they answer for, and whether it is this place's.

    `line` tells a member who just joined this place's team with what they had answered.
    """

    team: str
    here: bool = True
    line: str | None = None


@dataclass(slots=True)
class Turn:
    """The coach's answer to one incoming message."""

    replies: list[Reply] = field(default_factory=list)
    duplicate: bool = False
    # A button press on a prompt that was already answered: nothing changed.
    stale: bool = False
    # The team the message was handled for (after resolving a direct message's team).
    team: TeamKey | None = None


# --- the outbox ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Post:
    """One platform call a turn's replies become, rendered by the door as JSON.

    `channel` orders posts: those of one channel go out in the order they were made.
    """

    channel: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Parcel:
    """A `Post` kept in the store until it is delivered (the outbox)."""

    id: int
    platform: str
    workspace: str
    channel: str
    payload: dict[str, Any]
    attempts: int

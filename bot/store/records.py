"""What the store hands out: typed records, and the names its columns use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.messages import MemberKey, TeamKey

# Check-in deliveries: their kinds, and the statuses one ends in (`sending` rows are in
# flight, or their sender crashed).
CHECKIN, REMINDER, CELEBRATION = "checkin", "reminder", "celebration"
# A one-line message to a member who became their team's lead when the lead forgot themselves.
NEW_LEAD = "new_lead"
SENT, SKIPPED, FAILED, INTERRUPTED, SUPERSEDED = (
    "sent",
    "skipped",
    "failed",
    "interrupted",
    "superseded",
)


# What a team row stands for (schema 7).
TEAM, PERSONAL, GROUP = "team", "personal", "group"


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says why and what to do."""


class StoreBusy(RuntimeError):
    """The database could not be had in time (locked by another process, say); retry later.

    Nothing was written: the transaction that met it was rolled back, or never began.
    """


@dataclass(slots=True)
class Team:
    id: int
    platform: str
    workspace: str
    team: str
    name: str | None
    address: str | None
    timezone: str | None
    lead: str | None
    # TEAM, PERSONAL or GROUP (see bot/store/migrations.py, schema 7).
    kind: str = "team"

    @property
    def key(self) -> TeamKey:
        return TeamKey(self.platform, self.workspace, self.team)

    @property
    def personal(self) -> bool:
        return self.kind == PERSONAL

    @property
    def label(self) -> str:
        """The team's name; never a platform id (a terminal team is named by its key)."""
        if self.name:
            return self.name
        if self.personal:
            return "just you (no team yet)"
        return self.team if self.platform == "console" else "this team"


@dataclass(slots=True)
class Member:
    id: int
    team: Team
    user: str
    name: str | None
    address: str | None
    last_seen: str
    # The zone the member's platform last reported (IANA name), if any.
    timezone: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.user

    @property
    def key(self) -> MemberKey:
        return MemberKey(self.team.platform, self.team.workspace, self.user, self.team.team)


@dataclass(slots=True)
class Conversation:
    id: int
    member_id: int
    flow: str
    state: str
    status: str
    version: int
    trail: list[str]
    return_to: str | None
    followed_up: bool
    context: dict[str, Any]
    started_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    version: int
    text: str
    value: str | None
    skipped: bool
    message_id: str | None
    created_at: str


@dataclass(slots=True)
class Interview:
    """A member's latest coffee interview, with its current answers."""

    member: Member
    conversation: Conversation
    answers: dict[str, Answer] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScheduleColumns:
    """A team's check-in schedule as stored; `bot.checkins.agenda` turns it into a `Schedule`.

    Times are "HH:MM" in the team's `timezone`, `anchor` an ISO date, `working_days` the
    ISO weekdays joined by commas.
    """

    cadence: str
    weekday: int
    local_time: str
    day: int
    anchor: str
    timezone: str
    working_days: str
    quiet_start: str
    quiet_end: str
    stage_check_every: int

    def values(self) -> tuple[Any, ...]:
        """The columns in the order of `schedules`' table."""
        return (
            self.cadence,
            self.weekday,
            self.local_time,
            self.day,
            self.anchor,
            self.timezone,
            self.working_days,
            self.quiet_start,
            self.quiet_end,
            self.stage_check_every,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    key: str
    kind: str
    team_id: int
    member_id: int | None
    detail: dict[str, Any]
    due_at: datetime
    status: str
    attempts: int
    payload: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Prefs:
    opted_out: bool = False
    snoozed_until: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until


@dataclass(frozen=True, slots=True)
class StoredPlacement:
    """One placement in a team's stage history, with the member it placed (if still known)."""

    id: int
    member_id: int | None
    user: str | None
    name: str | None
    conversation_id: int | None
    rung: int
    stage: str
    evidence: list[dict[str, Any]]
    created_at: str


@dataclass(frozen=True, slots=True)
class Commitment:
    """A step a member committed to, and how it went (`open`, `done`, `partly`...)."""

    id: int
    member_id: int
    user: str
    name: str | None
    stage: str
    action: str
    status: str
    created_at: str
    updated_at: str

    @property
    def who(self) -> str:
        return self.name or self.user


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What a `forget` removed: how many members, and who leads the team now, if that changed."""

    members: int
    new_lead: Member | None = None

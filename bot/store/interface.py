"""The store's typed interface: what the coach, the views and the check-ins may ask of it.

`bot.store.sqlite.SQLiteStore` is one implementation; a second backend implements the same
two protocols and passes the same contract suite (tests/test_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.messages import MemberKey, Parcel, Post, TeamKey
from bot.store.records import (
    Answer,
    Commitment,
    Conversation,
    Delivery,
    Forgotten,
    Interview,
    Member,
    Prefs,
    ScheduleColumns,
    StoredPlacement,
    Team,
)


class CoreStore(Protocol):
    """Teams, members, conversations, answers, placements, commitments, events."""

    @property
    def path(self) -> str: ...

    @property
    def clock(self) -> Clock: ...

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction (re-entrant: an inner one joins the outer)."""
        ...

    def close(self) -> None: ...

    def checkpoint_in_background(self, *, every_s: float = 1.0) -> Callable[[], None]:
        """Move WAL checkpoints off the turn path; returns the function that stops it."""
        ...

    def moment(self) -> datetime:
        """The current time; one value for the whole of a transaction."""
        ...

    def now(self) -> str: ...

    @property
    def schema_version(self) -> int: ...

    def claim_event(
        self,
        platform: str,
        workspace: str,
        event_id: str,
        *,
        unless_seen_within: timedelta | None = None,
        user: str | None = None,
    ) -> bool:
        """Record a platform event id; False if it was seen before (a retried delivery).

        `user` is the member whose message it was: forgetting them deletes the id too.
        """
        ...

    def prune_events(self, older_than: timedelta) -> int: ...

    def team(self, key: TeamKey) -> Team | None: ...

    def team_by_id(self, team_id: int) -> Team | None: ...

    def teams(self) -> list[Team]: ...

    def ensure_team(
        self,
        key: TeamKey,
        *,
        name: str | None = None,
        lead: str | None = None,
        kind: str = "team",
    ) -> Team:
        """The team of `key`, created (as `kind`: team, personal or group) if new."""
        ...

    def update_team(self, team_id: int, **fields: str | None) -> None: ...

    def member(self, key: MemberKey) -> Member | None:
        """The member at an explicit team, or at the team where they were last seen."""
        ...

    def member_and_conversation(
        self, key: MemberKey, *, anywhere: bool = False
    ) -> tuple[Member, Conversation | None] | None:
        """The member (as `member`) and their latest conversation, in one query; with
        `anywhere`, at the team where they were last seen whatever `key.team` says."""
        ...

    def ensure_member(self, key: MemberKey, *, name: str | None = None) -> Member: ...

    def touch_member(
        self, member: Member, *, name: str | None = None, address: str | None = None
    ) -> None:
        """Mark the member as seen at this team now; keep a changed name or address."""
        ...

    def move_member(self, member: Member, team_id: int) -> Member:
        """Make `team_id` the team the member answers for; all that is theirs goes along."""
        ...

    def members(self, team_id: int) -> list[Member]: ...

    def conversation(self, member_id: int, *, flow: str | None = None) -> Conversation | None:
        """The member's current conversation (see `_CURRENT`), or their latest of one flow."""
        ...

    def start_conversation(
        self, member_id: int, *, flow: str, state: str, context: dict[str, Any] | None = None
    ) -> Conversation: ...

    def save_conversation(self, conv: Conversation) -> bool:
        """Write the conversation if nobody else changed it since it was read."""
        ...

    def conversations_in(self, team_id: int, *, flow: str) -> list[tuple[Member, Conversation]]:
        """Each member's latest conversation of a flow, for one team."""
        ...

    def add_answer(
        self,
        conversation_id: int,
        question: str,
        *,
        text: str,
        value: str | None = None,
        skipped: bool = False,
        message_id: str | None = None,
    ) -> int:
        """Store an answer as the question's next version; returns that version."""
        ...

    def answers(self, conversation_id: int) -> dict[str, Answer]:
        """The current (latest) version of each answered question."""
        ...

    def answer_history(self, conversation_id: int, question: str) -> list[Answer]: ...

    def answer_for_message(self, member_id: int, message_id: str) -> tuple[int, str] | None:
        """The (conversation id, question) a platform message answered, for that member."""
        ...

    def interview(self, member: Member, *, flow: str = "coffee") -> Interview | None: ...

    def add_placement(
        self,
        *,
        team_id: int,
        member_id: int | None,
        conversation_id: int | None,
        rung: int,
        stage: str,
        evidence: list[dict[str, Any]],
    ) -> None: ...

    def placements(self, team_id: int) -> list[StoredPlacement]:
        """Every placement of the team, oldest first (the stage history)."""
        ...

    def add_commitments(
        self, *, team_id: int, member_id: int, conversation_id: int, stage: str, actions: list[str]
    ) -> None: ...

    def commitments(
        self, *, team_id: int, member_id: int | None = None, status: str | None = None
    ) -> list[Commitment]: ...

    def set_commitment_status(self, commitment_id: int, member_id: int, status: str) -> None: ...

    def export_team(self, team_id: int) -> dict[str, Any]:
        """Everything stored for one team, as plain data."""
        ...

    def forget(self, team_id: int, *, user: str | None = None) -> Forgotten:
        """Delete a team's data, or one member's within it, with their event ids.

        A lead who forgets is replaced by the longest-standing member left; a checkpoint
        then empties the write-ahead log, so no copy of what was deleted stays on disk.
        """
        ...

    def health(self) -> str | None:
        """None while the store is usable; otherwise why not, in one line (for /healthz).

        Cheap (a read, no scan): it runs on every health check.
        """
        ...

    def platforms(self) -> list[str]:
        """The platforms that have teams."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside a transaction: undo what the block wrote if it raises, then re-raise."""
        ...

    def stats(self) -> dict[str, int]: ...

    # --- the outbox: a turn's posts, kept until delivered ---------------------------------

    def add_posts(
        self, platform: str, workspace: str, user: str, posts: Sequence[Post], *, worker: str
    ) -> list[Parcel]:
        """Keep `posts` (in the caller's transaction), claimed by `worker` to deliver now."""
        ...

    def take_over_posts(
        self, platform: str, *, worker: str, claimed_before: datetime, limit: int
    ) -> list[Parcel]:
        """Claim undelivered posts whose claim is older than `claimed_before`, oldest first."""
        ...

    def finish_posts(self, ids: Iterable[int], *, error: str | None = None) -> None:
        """Delivered (or, with `error`, given up for good): never sent again."""
        ...

    def note_post_failure(self, post_id: int, error: str) -> None: ...

    def prune_posts(self, finished_before: datetime) -> int: ...

    def unsent_posts(self) -> int: ...


class CheckinStore(Protocol):
    """The check-in tables: schedules, members' preferences, the deliveries outbox."""

    def schedule_columns(self, team_id: int) -> tuple[ScheduleColumns, datetime | None] | None:
        """The team's schedule as stored, and its next due time; None before any was set."""
        ...

    def save_schedule_columns(
        self, team_id: int, columns: ScheduleColumns, due: datetime | None, *, by: str | None
    ) -> None:
        """Write the team's schedule and its next due time."""
        ...

    def due_schedule_columns(
        self, now: datetime, limit: int
    ) -> list[tuple[int, ScheduleColumns, datetime]]:
        """Teams whose next check-in is due, earliest first (an index range, not a scan)."""
        ...

    def team_zone(self, team_id: int) -> str: ...

    def member_zone(self, member_id: int) -> str | None:
        """The zone the member's platform last reported, as stored."""
        ...

    def checkin_rounds(self, team_id: int) -> list[tuple[str, int, int]]:
        """Each check-in round of a team: (when, members asked, members who answered)."""
        ...

    def checkin_zone(self, team_id: int) -> str:
        """The zone the team's check-ins keep: its schedule's, else the team's, else UTC."""
        ...

    def advance_schedule(
        self, team_id: int, expected: datetime, following: datetime | None
    ) -> bool:
        """Move the next due time on, if nobody else did: the winner expands the occurrence."""
        ...

    def member_by_id(self, member_id: int) -> Member | None: ...

    def forget_address(self, *, team_id: int, member_id: int | None, address: str) -> None:
        """The platform says `address` can never be reached: drop it (if it is still the one)."""
        ...

    def remember_zone(self, member_id: int, zone: str | None) -> None:
        """Keep the zone the member's platform reports, when it is a real zone and changed."""
        ...

    def prefs_of(self, member_id: int) -> Prefs: ...

    def set_prefs(
        self, member_id: int, *, opted_out: bool, snoozed_until: datetime | None
    ) -> None: ...

    def checkin_members(self, team_id: int) -> list[int]:
        """Members who finished an interview and have not opted out: who gets check-ins."""
        ...

    def new_interviews(self, limit: int) -> list[tuple[int, int, int, datetime]]: ...

    def enqueue(
        self,
        *,
        key: str,
        kind: str,
        team_id: int,
        member_id: int | None,
        due: datetime,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Add a delivery unless one with the same key exists; True if it was added."""
        ...

    def supersede(self, member_id: int, kind: str) -> None:
        """Drop a member's pending deliveries of a kind: a newer one replaces them."""
        ...

    def due_deliveries(
        self, now: datetime, limit: int, *, platforms: Collection[str] | None = None
    ) -> list[Delivery]:
        """Pending deliveries due by `now`, earliest first; only to teams on `platforms`
        when given (the platforms this process has a Sender for)."""
        ...

    def claim_delivery(self, delivery_id: int, *, worker: str, payload: str) -> bool:
        """Mark a pending delivery as being sent by `worker`, with the message it will carry."""
        ...

    def defer_delivery(self, delivery_id: int, due: datetime, detail: dict[str, Any]) -> None: ...

    def skip_delivery(self, delivery_id: int, reason: str) -> None: ...

    def record_sent(self, delivery_id: int, *, worker: str) -> None:
        """The send succeeded (also after the claim was presumed lost to a crash)."""
        ...

    def record_failure(
        self, delivery_id: int, *, worker: str, error: str, retry_at: datetime | None
    ) -> None:
        """A failed send: back to pending at `retry_at`, or failed for good when None."""
        ...

    def recover_interrupted(self, claimed_before: datetime, *, max_attempts: int = 5) -> int:
        """Claims older than the lease belong to a sender that died: send them again."""
        ...

    def prune_deliveries(self, finished_before: datetime) -> int:
        """Forget deliveries that ended well: the conversations keep the history that matters."""
        ...

    def next_wake(self, *, platforms: Collection[str] | None = None) -> datetime | None:
        """The earliest moment anything is due (deliveries only to teams on `platforms`,
        when given): two index lookups."""
        ...

    def schedule_counts(self) -> tuple[int, int]:
        """Teams with check-ins on, and off."""
        ...

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Deliveries by kind and status, for `coffee-coach status`."""
        ...

    def problems(self, limit: int = 20) -> list[tuple[Delivery, str, str]]:
        """Failed and interrupted deliveries, newest first, with their team and member."""
        ...

    def checkin_count(self, member_id: int) -> int:
        """How many check-ins the member was ever sent (every Nth has a stage check)."""
        ...

    def previous_outcome(self, member_id: int, *, before: int) -> str | None:
        """How the member's previous answered check-in went (done, partly, not_yet)."""
        ...


class Store(CoreStore, CheckinStore, Protocol):
    """The whole store, as the engine and the check-ins see it."""

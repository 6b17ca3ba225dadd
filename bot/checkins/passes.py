"""The store side of a check-in pass: each method one transaction, plain data in and out.

The scheduler (`bot.checkins.scheduler`) sends, paces and counts on the event loop; what it
reads and writes in the store goes through these methods, run by its store worker. In
`serve` on a SQLite file that is the store process (`bot.store_process`, as its `PASSES`
target), on the other core beside the members' turns; otherwise the store's own thread
(PostgreSQL, a store in memory) or the caller (`coffee-coach tick`). Arguments and
results therefore pickle, and nothing here keeps state between calls: the claim's
`worker` (the sending process's name) comes with each call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.checkins import agenda
from bot.checkins.deliveries import Defer, Skip
from bot.checkins.schedules import catch_up, next_due
from bot.checkins.service import CheckIns
from bot.messages import Outgoing
from bot.store import Delivery, Team

log = logging.getLogger("coffee_coach.scheduler")

MAX_ATTEMPTS = 5
# The wait before retry n is FIRST_RETRY * 4**(n-1): 1, 4, 16 and 64 minutes.
FIRST_RETRY = timedelta(minutes=1)
# A claim older than this belongs to a sender that stopped (sends take seconds).
LEASE = timedelta(minutes=30)
KEEP_FINISHED = timedelta(days=90)
KEEP_EVENT_IDS = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Started:
    """Check-in rounds started by one `start_rounds` call; `more` if more may be due."""

    rounds: int
    missed: int
    queued: int
    more: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery claimed for sending: its message, and the team it goes to."""

    delivery: Delivery
    outgoing: Outgoing
    team: Team | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """One `claim` call: what to send, what was skipped or put off, and whether more may be
    due."""

    claims: list[Claim]
    skipped: int
    deferred: int
    more: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one send went: `error` None when it arrived."""

    error: str | None
    retry: bool = False
    # The platform said this address can never be reached.
    unreachable: bool = False


class PassWork:
    """What a pass does in the store, for one coach's check-ins."""

    def __init__(self, checkins: CheckIns) -> None:
        self.checkins = checkins
        self.store = checkins.store
        self.clock = checkins.coach.clock

    def next_wake(self, platforms: tuple[str, ...]) -> datetime | None:
        return self.store.next_wake(platforms=platforms)

    def recover(self) -> int:
        """Make claims whose sender stopped due again, and prune what is kept no longer;
        the number of claims recovered."""
        store = self.store
        with store.transaction():
            interrupted = store.recover_interrupted(
                self.clock.now() - LEASE, max_attempts=MAX_ATTEMPTS
            )
            store.prune_deliveries(self.clock.now() - KEEP_FINISHED)
            # Retried platform deliveries come within minutes; older event ids can go.
            store.prune_events(older_than=KEEP_EVENT_IDS)
        return interrupted

    def watch_interviews(self, batch: int) -> int:
        """Queue reminders for up to `batch` newly started interviews; how many."""
        with self.store.transaction():
            return self.checkins.watch_interviews(batch)

    def start_rounds(self, batch: int) -> Started:
        """Start the check-in round of up to `batch` due teams."""
        rounds = missed = queued = 0
        with self.store.transaction():
            now = self.clock.now()
            due = agenda.due_schedules(self.store, now, batch)
            for team_id, schedule, expected in due:
                latest, skipped = catch_up(schedule, expected, now)
                if not self.store.advance_schedule(team_id, expected, next_due(schedule, latest)):
                    continue
                rounds += 1
                missed += skipped
                queued += self.checkins.start_round(team_id, latest)
        return Started(rounds, missed, queued, more=len(due) == batch)

    def claim(self, limit: int, *, platforms: tuple[str, ...], worker: str) -> Claimed:
        """Claim up to `limit` due deliveries for `worker`, each with its message, in one
        commit.

        Only what the calling process can send (`platforms`): another platform's deliveries
        (the terminal's, sent by `coffee-coach tick`) keep their attempts for the process
        that can.
        """
        claims: list[Claim] = []
        skipped = deferred = 0
        store = self.store
        with store.transaction():
            now = self.clock.now()
            due = store.due_deliveries(now, limit, platforms=platforms)
            teams: dict[int, Team | None] = {}
            for delivery in due:
                result = self._prepare(delivery, now)
                if isinstance(result, Skip):
                    store.skip_delivery(delivery.id, result.reason)
                    skipped += 1
                elif isinstance(result, Defer):
                    store.defer_delivery(delivery.id, result.due, dict(result.detail))
                    deferred += 1
                elif store.claim_delivery(
                    delivery.id, worker=worker, payload=agenda.encode(result)
                ):
                    if delivery.team_id not in teams:
                        teams[delivery.team_id] = store.team_by_id(delivery.team_id)
                    claims.append(Claim(delivery, result, teams[delivery.team_id]))
        return Claimed(claims, skipped, deferred, more=len(due) == limit)

    def _prepare(self, delivery: Delivery, now: datetime) -> Outgoing | Skip | Defer:
        """The delivery's message: a retry resends what was claimed before, if still wanted."""
        if delivery.payload is not None:
            held = self.checkins.recheck(delivery, now)
            return held or agenda.decode(delivery.payload)
        # One delivery that cannot be prepared must not block the others: undo its writes.
        try:
            with self.store.savepoint():
                return self.checkins.prepare(delivery, now)
        except Exception as exc:
            log.exception("could not prepare %s %s", delivery.kind, delivery.key)
            return Skip(f"could not be prepared: {exc!r}")

    def record(
        self, delivery: Delivery, address: str, outcome: Attempt, *, worker: str
    ) -> datetime | None:
        """Record how a send went; when it failed and is tried again, when that is."""
        error, retry = outcome.error, outcome.retry
        with self.store.transaction():
            if outcome.unreachable:
                # Stop sending there until the member (or team) writes to the coach again.
                self.store.forget_address(
                    team_id=delivery.team_id, member_id=delivery.member_id, address=address
                )
            if error is None:
                self.store.record_sent(delivery.id, worker=worker)
                return None
            attempt = delivery.attempts + 1
            retry_at = None
            if retry and attempt < MAX_ATTEMPTS:
                retry_at = self.clock.now() + FIRST_RETRY * 4 ** (attempt - 1)
            self.store.record_failure(delivery.id, worker=worker, error=error, retry_at=retry_at)
        return retry_at

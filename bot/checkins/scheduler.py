"""The check-in scheduler: one pass finds what is due and delivers it; the task inside
`coffee-coach serve` sleeps until the next due time between passes.

A pass: recover claims whose sender died; start each due team's check-in round (only the
latest occurrence after downtime); queue reminders for newly started interviews; then, a
batch at a time, claim due deliveries (their messages prepared and stored in the same
commit), send them through each platform's Sender within its rate limits, and record
each result. A failed send is retried with backoff, then given up and shown in
`coffee-coach status`; one its Sender calls `Undeliverable` is given up at once. A claim
is never sent by two processes (the claim is a guarded update); after a crash, a stale
claim is sent again: at least once, so it may arrive twice, but never zero times.

Every store call of a pass goes through the `store_worker` (in `serve`, a thread of the
store's own, off the event loop; a `StoreBusy` fails the pass, which is tried again
shortly); only the sends themselves run on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from aiohttp import web

from bot.checkins import agenda
from bot.checkins.deliveries import Defer, Skip
from bot.checkins.extension import install
from bot.checkins.schedules import catch_up, next_due
from bot.checkins.service import CheckIns
from bot.engine import Coach
from bot.messages import Outgoing, Sender, Undeliverable
from bot.pacing import Pacer
from bot.store import Delivery
from bot.worker import InlineWorker, Worker, process_name

log = logging.getLogger("coffee_coach.scheduler")

MAX_ATTEMPTS = 5
# The wait before retry n is FIRST_RETRY * 4**(n-1): 1, 4, 16 and 64 minutes.
FIRST_RETRY = timedelta(minutes=1)
# A claim older than this belongs to a sender that stopped (sends take seconds).
LEASE = timedelta(minutes=30)
SEND_TIMEOUT_S = 60.0
# The task naps at most this long, to notice changes made by other processes (the CLI).
MAX_NAP_S = 60.0
# After a pass that failed outright, wait this long rather than spin on the same error.
FAILED_PASS_NAP_S = 30.0
KEEP_FINISHED = timedelta(days=90)
KEEP_EVENT_IDS = timedelta(days=2)


@dataclass(slots=True)
class PassReport:
    rounds: int = 0
    missed: int = 0
    queued: int = 0
    reminders: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    interrupted: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))

    @property
    def idle(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one send went: `error` None when it arrived."""

    error: str | None
    retry: bool = False
    # The platform said this address can never be reached.
    unreachable: bool = False


class Scheduler:
    def __init__(
        self,
        checkins: CheckIns,
        senders: Mapping[str, Sender],
        *,
        pacer: Pacer | None = None,
        worker: str | None = None,
        batch: int = 100,
        concurrency: int = 32,
        store_worker: Worker | None = None,
    ) -> None:
        self.checkins = checkins
        self.store = checkins.store
        self.clock = checkins.coach.clock
        self.senders = senders
        self.pacer = pacer
        self.worker = worker or process_name()
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._store = store_worker or InlineWorker()

    async def next_wake(self) -> datetime | None:
        platforms = tuple(self.senders)
        return await self._store.run(lambda: self.store.next_wake(platforms=platforms))

    def _recover(self) -> int:
        store = self.store
        with store.transaction():
            interrupted = store.recover_interrupted(
                self.clock.now() - LEASE, max_attempts=MAX_ATTEMPTS
            )
            store.prune_deliveries(self.clock.now() - KEEP_FINISHED)
            # Retried platform deliveries come within minutes; older event ids can go.
            store.prune_events(older_than=KEEP_EVENT_IDS)
        return interrupted

    def _watch_interviews(self) -> int:
        with self.store.transaction():
            return self.checkins.watch_interviews(self.batch)

    async def run_pass(self) -> PassReport:
        report = PassReport()
        report.interrupted = await self._store.run(self._recover)
        if report.interrupted:
            log.error(
                "%d check-in deliveries were interrupted mid-send (a crash?) and are sent"
                " again; a member may get one twice. See `coffee-coach status`",
                report.interrupted,
            )
        while await self._store.run(self._start_rounds, report):
            pass
        while True:
            found = await self._store.run(self._watch_interviews)
            report.reminders += found
            if found < self.batch:
                break
        await self._deliver(report)
        return report

    async def _deliver(self, report: PassReport) -> None:
        """Keep up to a batch of sends waiting or in flight, claiming more as half of
        them have been attempted.

        A slow workspace (waiting for its rate limit) then holds up only its own sends,
        not a whole batch, and memory stays bounded by the batch. A send that has been
        attempted no longer counts while its result is recorded: the store's worker may
        be busy, and the pacer should not run dry meanwhile.
        """
        tasks: set[asyncio.Task[None]] = set()
        done: list[asyncio.Task[None]] = []
        progress = asyncio.Event()
        unsent = 0

        def attempted() -> None:
            nonlocal unsent
            unsent -= 1
            progress.set()

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            done.append(task)
            progress.set()

        while True:
            if unsent <= self.batch // 2:
                claimed, more = await self._store.run(self._claim, report, self.batch - unsent)
                for delivery, outgoing in claimed:
                    unsent += 1
                    task = asyncio.create_task(self._send(delivery, outgoing, report, attempted))
                    tasks.add(task)
                    task.add_done_callback(finished)
                if more and not claimed:
                    continue  # a page of skipped or deferred deliveries: read the next one
            while done:
                done.pop().result()  # a send's own failure is recorded; anything else is raised
            if not tasks:
                return
            progress.clear()
            await progress.wait()

    def _start_rounds(self, report: PassReport) -> bool:
        """Start the check-in round of up to a batch of due teams; True if more may be due."""
        with self.store.transaction():
            now = self.clock.now()
            due = agenda.due_schedules(self.store, now, self.batch)
            for team_id, schedule, expected in due:
                latest, missed = catch_up(schedule, expected, now)
                if not self.store.advance_schedule(team_id, expected, next_due(schedule, latest)):
                    continue
                report.rounds += 1
                report.missed += missed
                report.queued += self.checkins.start_round(team_id, latest)
        return len(due) == self.batch

    def _claim(
        self, report: PassReport, limit: int
    ) -> tuple[list[tuple[Delivery, Outgoing]], bool]:
        """Claim up to `limit` due deliveries, each with its message, in one commit; and
        whether more may be due."""
        claimed: list[tuple[Delivery, Outgoing]] = []
        store = self.store
        with store.transaction():
            now = self.clock.now()
            # Only what this process can send: another platform's deliveries (the terminal's,
            # sent by `coffee-coach tick`) keep their attempts for the process that can.
            due = store.due_deliveries(now, limit, platforms=tuple(self.senders))
            for delivery in due:
                result = self._prepare(delivery, now)
                if isinstance(result, Skip):
                    store.skip_delivery(delivery.id, result.reason)
                    report.skipped += 1
                elif isinstance(result, Defer):
                    store.defer_delivery(delivery.id, result.due, dict(result.detail))
                    report.deferred += 1
                elif store.claim_delivery(
                    delivery.id, worker=self.worker, payload=agenda.encode(result)
                ):
                    claimed.append((delivery, result))
        return claimed, len(due) == limit

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

    async def _attempt(self, delivery: Delivery, outgoing: Outgoing) -> Attempt:
        """Send once, and say how it went."""
        team = await self._store.run(self.store.team_by_id, delivery.team_id)
        if team is None:
            return Attempt("the team was removed")
        sender = self.senders.get(team.platform)
        if sender is None:
            return Attempt(
                f"no sender for {team.platform}: is that platform configured?", retry=True
            )
        if self.pacer is not None:
            # Waiting for a slot holds no connection; only the send itself takes one.
            messages = sender.messages(outgoing)
            await self.pacer.wait(team.platform, team.workspace, outgoing.address, messages)
        async with self._slots:
            try:
                await asyncio.wait_for(sender.send(outgoing), SEND_TIMEOUT_S)
            except TimeoutError:
                # It may have arrived: a retry could send it twice, so it is not retried.
                return Attempt(f"no answer from {team.platform} in {SEND_TIMEOUT_S:.0f}s")
            except Undeliverable as exc:
                return Attempt(f"undeliverable: {exc}", unreachable=True)
            except Exception as exc:
                return Attempt(f"{type(exc).__name__}: {exc}", retry=True)
        return Attempt(None)

    async def _send(
        self,
        delivery: Delivery,
        outgoing: Outgoing,
        report: PassReport,
        attempted: Callable[[], None],
    ) -> None:
        try:
            outcome = await self._attempt(delivery, outgoing)
        finally:
            attempted()
        await self._store.run(self._record, delivery, outgoing, outcome, report)

    def _record(
        self, delivery: Delivery, outgoing: Outgoing, outcome: Attempt, report: PassReport
    ) -> None:
        error, retry = outcome.error, outcome.retry
        with self.store.transaction():
            if outcome.unreachable:
                # Stop sending there until the member (or team) writes to the coach again.
                self.store.forget_address(
                    team_id=delivery.team_id,
                    member_id=delivery.member_id,
                    address=outgoing.address,
                )
            if error is None:
                self.store.record_sent(delivery.id, worker=self.worker)
                report.sent += 1
                return
            attempt = delivery.attempts + 1
            retry_at = None
            if retry and attempt < MAX_ATTEMPTS:
                retry_at = self.clock.now() + FIRST_RETRY * 4 ** (attempt - 1)
            self.store.record_failure(
                delivery.id, worker=self.worker, error=error, retry_at=retry_at
            )
        if retry_at is not None:
            report.retrying += 1
            log.warning(
                "%s %s failed (attempt %d of %d): %s; retrying at %s",
                delivery.kind,
                delivery.key,
                attempt,
                MAX_ATTEMPTS,
                error,
                retry_at.isoformat(),
            )
        else:
            report.failed += 1
            log.error(
                "%s %s given up after %d attempt(s): %s",
                delivery.kind,
                delivery.key,
                attempt,
                error,
            )

    async def run(self, wake: asyncio.Event) -> None:
        """Pass, then sleep until the next due time (or until woken by a change)."""
        while True:
            wake.clear()
            nap = MAX_NAP_S
            try:
                report = await self.run_pass()
                if not report.idle:
                    log.info("check-in pass: %s", report)
                due = await self.next_wake()
                if due is not None:
                    nap = min(MAX_NAP_S, max(0.0, (due - self.clock.now()).total_seconds()))
            except Exception:
                log.exception("the check-in pass failed; trying again shortly")
                nap = FAILED_PASS_NAP_S
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), nap)


def mount(
    app: web.Application,
    coach: Coach,
    senders: Mapping[str, Sender],
    *,
    store_worker: Worker | None = None,
) -> None:
    """Run the scheduler as a task of the server, sending through the adapters' Senders.

    `senders` is read when the server starts, so doors mounted after this still count.
    """
    checkins = install(coach)

    async def scheduler_task(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def wake_up() -> None:
            # A change may come from another thread; the event belongs to the loop.
            loop.call_soon_threadsafe(wake.set)

        unsubscribe = checkins.subscribe(wake_up)
        scheduler = Scheduler(checkins, senders, pacer=Pacer(), store_worker=store_worker)
        task = asyncio.create_task(scheduler.run(wake), name="coffee-coach scheduler")
        log.info("check-in scheduler running as %s", scheduler.worker)
        yield
        unsubscribe()
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(scheduler_task)

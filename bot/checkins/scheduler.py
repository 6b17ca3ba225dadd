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

Every store call of a pass is a method of `bot.checkins.passes.PassWork`, run by the
`store_worker` (in `serve`, the store process on a SQLite file, or a thread of the store's
own: off the event loop either way; a `StoreBusy` fails the pass, which is tried again
shortly); only the sends themselves, their pacing and the counting run on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, fields
from datetime import datetime

from aiohttp import web

from bot.checkins.extension import install
from bot.checkins.passes import MAX_ATTEMPTS, Attempt, Claim, PassWork
from bot.checkins.service import CheckIns
from bot.engine import Coach
from bot.messages import Sender, Undeliverable
from bot.pacing import Pacer
from bot.worker import InlineWorker, Worker, process_name

log = logging.getLogger("coffee_coach.scheduler")

SEND_TIMEOUT_S = 60.0
# The task naps at most this long, to notice changes made by other processes (the CLI).
MAX_NAP_S = 60.0
# After a pass that failed outright, wait this long rather than spin on the same error.
FAILED_PASS_NAP_S = 30.0


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


class Scheduler:
    """Passes over what is due: its store work through `work` on `store_worker`, its
    sends on the loop.

    `work` is the store side of a pass (`PassWork` over `checkins` by default); in `serve`
    on a SQLite file, `remote(PASSES)`: the same methods, run in the store process.
    """

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
        work: PassWork | None = None,
    ) -> None:
        self.clock = checkins.coach.clock
        self.senders = senders
        self.pacer = pacer
        self.worker = worker or process_name()
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._store = store_worker or InlineWorker()
        self._work = work or PassWork(checkins)

    async def next_wake(self) -> datetime | None:
        return await self._store.run(self._work.next_wake, tuple(self.senders))

    async def run_pass(self) -> PassReport:
        report = PassReport()
        report.interrupted = await self._store.run(self._work.recover)
        if report.interrupted:
            log.error(
                "%d check-in deliveries were interrupted mid-send (a crash?) and are sent"
                " again; a member may get one twice. See `coffee-coach status`",
                report.interrupted,
            )
        while True:
            started = await self._store.run(self._work.start_rounds, self.batch)
            report.rounds += started.rounds
            report.missed += started.missed
            report.queued += started.queued
            if not started.more:
                break
        while True:
            found = await self._store.run(self._work.watch_interviews, self.batch)
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
                claimed = await self._store.run(
                    self._work.claim,
                    self.batch - unsent,
                    platforms=tuple(self.senders),
                    worker=self.worker,
                )
                report.skipped += claimed.skipped
                report.deferred += claimed.deferred
                for claim in claimed.claims:
                    unsent += 1
                    task = asyncio.create_task(self._send(claim, report, attempted))
                    tasks.add(task)
                    task.add_done_callback(finished)
                if claimed.more and not claimed.claims:
                    continue  # a page of skipped or deferred deliveries: read the next one
            while done:
                done.pop().result()  # a send's own failure is recorded; anything else is raised
            if not tasks:
                return
            progress.clear()
            await progress.wait()

    async def _attempt(self, claim: Claim) -> Attempt:
        """Send once, and say how it went."""
        team, outgoing = claim.team, claim.outgoing
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

    async def _send(self, claim: Claim, report: PassReport, attempted: Callable[[], None]) -> None:
        try:
            outcome = await self._attempt(claim)
        finally:
            attempted()
        delivery = claim.delivery
        retry_at = await self._store.run(
            self._work.record, delivery, claim.outgoing.address, outcome, worker=self.worker
        )
        if outcome.error is None:
            report.sent += 1
            return
        attempt = delivery.attempts + 1
        if retry_at is not None:
            report.retrying += 1
            log.warning(
                "%s %s failed (attempt %d of %d): %s; retrying at %s",
                delivery.kind,
                delivery.key,
                attempt,
                MAX_ATTEMPTS,
                outcome.error,
                retry_at.isoformat(),
            )
        else:
            report.failed += 1
            log.error(
                "%s %s given up after %d attempt(s): %s",
                delivery.kind,
                delivery.key,
                attempt,
                outcome.error,
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
    work: PassWork | None = None,
) -> None:
    """Run the scheduler as a task of the server, sending through the adapters' Senders.

    `senders` is read at each pass, so doors mounted after this still count. `work` is
    where the pass's store work runs (see `Scheduler`).
    """
    checkins = install(coach)

    async def scheduler_task(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def wake_up() -> None:
            # A change may come from another thread; the event belongs to the loop.
            loop.call_soon_threadsafe(wake.set)

        unsubscribe = checkins.subscribe(wake_up)
        scheduler = Scheduler(
            checkins, senders, pacer=Pacer(), store_worker=store_worker, work=work
        )
        task = asyncio.create_task(scheduler.run(wake), name="coffee-coach scheduler")
        log.info("check-in scheduler running as %s", scheduler.worker)
        yield
        unsubscribe()
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(scheduler_task)

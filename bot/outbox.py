"""Delivering the outbox: what a turn sends goes out at once, and survives a crash.

A door renders a turn's replies as `Post`s (JSON its platform understands); the port
writes them in the turn's own transaction (`Port.handle_and_post`), claimed by this
process. `Relay.dispatch` then delivers them at once, in order per channel, and marks
them finished in batches. What a crash or restart left unfinished is taken over when its
claim runs out (`LEASE`), by this process at start-up or by any other process meanwhile,
and delivered then: at least once, never zero times.

A delivery that fails for good (`Undeliverable`) is finished with its error; any other
failure leaves the claim to run out, so the post is tried again, up to `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import timedelta

from bot.clock import Clock
from bot.messages import Parcel, Undeliverable
from bot.store import Store
from bot.worker import Worker, process_name

log = logging.getLogger("coffee_coach.outbox")

# A post still unfinished this long after its claim belongs to a process that stopped.
LEASE = timedelta(seconds=15)
# How often unfinished posts of other (stopped) processes are looked for.
SCAN_S = 5.0
# Finished posts are marked in batches, at most this long after they went out.
FLUSH_S = 0.05
MAX_ATTEMPTS = 5
KEEP_FINISHED = timedelta(days=1)
TAKE_OVER_BATCH = 200

Deliver = Callable[[Parcel], Awaitable[None]]


class ChannelQueue:
    """Work in the background: per channel in order, and drained at shutdown."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, channel: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run `job` after every job submitted earlier for the same channel."""
        previous = self._tails.get(channel)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await job()

        task = self._track(run())
        self._tails[channel] = task
        task.add_done_callback(lambda done: self._release(channel, done))
        return task

    def _release(self, channel: str, done: asyncio.Task[None]) -> None:
        if self._tails.get(channel) is done:
            del self._tails[channel]

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        return self._track(work)

    def _track(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait, at most `timeout` seconds, until nothing is left (work that work started too)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)


class Relay:
    """One platform's deliveries from the outbox, for one process."""

    def __init__(
        self,
        platform: str,
        store: Store,
        worker: Worker,
        deliver: Deliver,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        queue: ChannelQueue | None = None,
    ) -> None:
        self.platform = platform
        self.store = store
        self.worker = worker
        self.deliver = deliver
        self.clock = clock or store.clock
        self.name = name or process_name()
        self.queue = queue or ChannelQueue()
        self._finished: list[tuple[int, str | None]] = []
        self._flush: asyncio.Task[None] | None = None

    # --- delivering -----------------------------------------------------------------------

    def dispatch(self, parcels: Sequence[Parcel]) -> asyncio.Task[None] | None:
        """Deliver `parcels`, each after whatever was submitted before it for its channel.

        Returns the task of the last one (for one channel, awaiting it awaits them all).
        """
        task = None
        for parcel in parcels:
            task = self.queue.submit(parcel.channel, functools.partial(self._deliver, parcel))
        return task

    async def _deliver(self, parcel: Parcel) -> None:
        try:
            await self.deliver(parcel)
        except Undeliverable as exc:
            log.warning("%s: post %d cannot be delivered: %s", self.platform, parcel.id, exc)
            self._finish(parcel.id, f"undeliverable: {exc}")
        except Exception as exc:
            last = parcel.attempts >= MAX_ATTEMPTS
            log.warning(
                "%s: post %d failed (attempt %d of %d): %r",
                self.platform,
                parcel.id,
                parcel.attempts,
                MAX_ATTEMPTS,
                exc,
            )
            if last:
                self._finish(parcel.id, f"given up after {parcel.attempts} attempts: {exc!r}")
            else:
                with suppress(Exception):
                    await self.worker.run(self.store.note_post_failure, parcel.id, repr(exc))
        else:
            self._finish(parcel.id, None)

    def _finish(self, parcel_id: int, error: str | None) -> None:
        self._finished.append((parcel_id, error))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.ensure_future(self._write_finished())

    async def _write_finished(self) -> None:
        await asyncio.sleep(FLUSH_S)
        while self._finished:
            batch, self._finished = self._finished, []
            delivered = [i for i, error in batch if error is None]
            try:
                if delivered:
                    await self.worker.run(self.store.finish_posts, delivered)
                for parcel_id, error in batch:
                    if error is not None:
                        await self.worker.run(self.store.finish_posts, [parcel_id], error=error)
            except Exception as exc:
                # Not marked: sent again after the lease. At least once, never lost.
                log.warning(
                    "%s: could not mark %d posts delivered: %r", self.platform, len(batch), exc
                )

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait, at most `timeout` seconds, for what is in flight and its marks."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self.queue.drain(timeout)
        if self._flush is not None and (left := deadline - loop.time()) > 0:
            await asyncio.wait([self._flush], timeout=left)

    # --- taking over ----------------------------------------------------------------------

    async def take_over(self) -> int:
        """Claim and dispatch what stopped processes left undelivered; how many."""
        taken = 0
        while True:
            parcels = await self.worker.run(
                self.store.take_over_posts,
                self.platform,
                worker=self.name,
                claimed_before=self.clock.now() - LEASE,
                limit=TAKE_OVER_BATCH,
            )
            if parcels:
                log.info("%s: delivering %d posts left undelivered", self.platform, len(parcels))
            self.dispatch(parcels)
            taken += len(parcels)
            if len(parcels) < TAKE_OVER_BATCH:
                return taken

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Take over what is left, now and every `SCAN_S`, until `stop`; prune the old."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.take_over()
                await self.worker.run(self.store.prune_posts, self.clock.now() - KEEP_FINISHED)
            except Exception as exc:
                log.warning("%s: the outbox scan failed: %r", self.platform, exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCAN_S)

    async def lifetime(self, app: object) -> AsyncIterator[None]:
        """For `aiohttp.web.Application.cleanup_ctx`: scan while serving, drain at the end."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop), name=f"coffee-coach {self.platform} outbox")
        yield
        stop.set()
        await task
        await self.drain()

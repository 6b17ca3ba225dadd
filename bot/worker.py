"""Store work of `serve`, off the event loop and with a bounded wait.

A store call can wait: SQLite for a lock another process holds, PostgreSQL for a row lock
or a pool connection. On the event loop that wait would freeze every request, the health
check included. `StoreWorker.run` sends the call to a thread of the worker's own (one for
SQLite, whose connection serves one caller at a time; the pool's size for PostgreSQL) and
waits for it at most `wait_s`:

- a call still queued when its time is up is never started;
- a call that is still running then goes on (a transaction cannot be abandoned halfway),
  and the caller gets `StoreBusy` at once: a door answers 503, and the platform's retry
  is recognised by its event id if the late turn did commit.

The coach's own code stays synchronous; only the door -> port boundary and the
scheduler's store work become awaits. `InlineWorker` runs calls where they are made, for
the terminal and one-shot commands, which have no loop to keep free.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from bot.store.records import StoreBusy

log = logging.getLogger("coffee_coach.worker")

P = ParamSpec("P")
T = TypeVar("T")

# Slack wants its HTTP answer within 3 s; this leaves the door time to answer.
WAIT_S = 2.0


def process_name() -> str:
    """This process, as claims in the store name it: host, pid and a nonce (pids recur)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker(Protocol):
    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    async def run_then(
        self, late: Callable[[T], object], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`run`; and if the call outlives the wait but then succeeds, `late(result)`."""
        ...

    def close(self) -> None: ...


class InlineWorker:
    """Runs each call where it is made: no thread, no bound on the wait."""

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return fn(*args, **kwargs)

    async def run_then(
        self, late: Callable[[T], object], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return fn(*args, **kwargs)

    def close(self) -> None:
        pass


Late = Callable[[T], object]


class _Job(Generic[T]):
    """One store call: queued for a thread of the worker, awaited on the loop.

    The thread hands the outcome back with one `call_soon_threadsafe`; the loop's timer
    gives up on the call after the wait. The lock decides the one race that matters: a
    call is either started by the thread or abandoned by the loop, never both.
    """

    __slots__ = ("abandoned", "call", "future", "late", "lock", "loop", "timed_out", "timer")

    def __init__(
        self, call: Callable[[], T], loop: asyncio.AbstractEventLoop, late: Late[T] | None
    ) -> None:
        self.call = call
        self.late = late
        self.loop = loop
        self.future: asyncio.Future[T] = loop.create_future()
        self.timer: asyncio.TimerHandle | None = None
        self.lock = threading.Lock()
        self.abandoned = False
        self.timed_out = False

    # --- on the worker's thread ----------------------------------------------------------

    def run(self, *, stopping: bool) -> None:
        with self.lock:
            if self.abandoned:
                return  # given up on while queued: never started
            self.abandoned = stopping
        if stopping:
            self._hand_back(None, StoreBusy("the store worker has stopped"))
            return
        try:
            result, error = self.call(), None
        except BaseException as exc:
            result, error = None, exc
        self._hand_back(result, error)

    def _hand_back(self, result: T | None, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            self.loop.call_soon_threadsafe(self._settle, result, error)

    # --- on the loop -----------------------------------------------------------------------

    def expire(self, wait_s: float) -> None:
        with self.lock:
            self.abandoned = True  # not started yet: it never starts
        self.timed_out = True
        if not self.future.done():
            self.future.set_exception(StoreBusy(f"the store did not answer within {wait_s:g} s"))

    def give_up(self) -> None:
        """The caller was cancelled: a call not started never starts."""
        with self.lock:
            self.abandoned = True
        if self.timer is not None:
            self.timer.cancel()

    def _settle(self, result: T | None, error: BaseException | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.future.done():
            if error is None:
                self.future.set_result(result)  # type: ignore[arg-type]
            else:
                self.future.set_exception(error)
            return
        # Given up on, and it ended all the same.
        if error is None:
            if self.timed_out and self.late is not None:
                self.late(result)  # type: ignore[arg-type]
        elif not isinstance(error, StoreBusy):
            log.error("store work that timed out failed afterwards: %r", error)


class StoreWorker:
    """Runs store calls on `threads` threads of its own, each waited for at most `wait_s`.

    Its own threads fed by a `SimpleQueue`, not an executor: a turn crosses to the thread
    and back with one queue put and one `call_soon_threadsafe`, without the executor's
    futures, locks and `asyncio.wait` bookkeeping on the loop's side.
    """

    def __init__(
        self, *, threads: int = 1, wait_s: float = WAIT_S, name: str = "coffee-coach store"
    ) -> None:
        self.wait_s = wait_s
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run(stopping=self._stopping)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(None, functools.partial(fn, *args, **kwargs))

    async def run_then(
        self, late: Callable[[T], object], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._run(late, functools.partial(fn, *args, **kwargs))

    async def _run(self, late: Late[T] | None, call: Callable[[], T]) -> T:
        if self._stopping:
            raise RuntimeError("the store worker is closed")
        loop = asyncio.get_running_loop()
        job = _Job(call, loop, late)
        job.timer = loop.call_later(self.wait_s, job.expire, self.wait_s)
        self._jobs.put(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            job.give_up()
            raise

    def close(self) -> None:
        """Finish what was started, start nothing new (a queued call ends `StoreBusy`)."""
        if self._stopping:
            return
        self._stopping = True
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

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
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

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


def _retrieve(future: Future[Any]) -> None:
    """A call given up on may still fail later; say so once instead of leaving it unread."""
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None and not isinstance(exc, StoreBusy):
        log.error("store work that timed out failed afterwards: %r", exc)


def _hand_on(
    loop: asyncio.AbstractEventLoop, ended: Future[T], late: Callable[[T], object]
) -> None:
    """A call given up on that then succeeded: its result to `late`, on the loop."""
    if not ended.cancelled() and ended.exception() is None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            loop.call_soon_threadsafe(late, ended.result())


class StoreWorker:
    """Runs store calls on `threads` threads of its own, each waited for at most `wait_s`."""

    def __init__(
        self, *, threads: int = 1, wait_s: float = WAIT_S, name: str = "coffee-coach store"
    ) -> None:
        self.wait_s = wait_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(None, functools.partial(fn, *args, **kwargs))

    async def run_then(
        self, late: Callable[[T], object], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await self._run(late, functools.partial(fn, *args, **kwargs))

    async def _run(self, late: Callable[[T], object] | None, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.wait_s

        def job() -> T:
            if time.monotonic() > deadline:
                raise StoreBusy("the store was busy: this call waited its turn too long")
            return call()

        future = self._pool.submit(job)
        waited = asyncio.wrap_future(future)
        # asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the call ends, and a task told to stop would carry on.
        try:
            done, _ = await asyncio.wait({waited}, timeout=self.wait_s)
        except asyncio.CancelledError:
            waited.cancel()  # a call not started yet never starts
            future.add_done_callback(_retrieve)
            raise
        if not done:
            waited.cancel()
            future.add_done_callback(_retrieve)
            if late is not None:
                loop = asyncio.get_running_loop()
                future.add_done_callback(lambda ended: _hand_on(loop, ended, late))
            raise StoreBusy(f"the store did not answer within {self.wait_s:g} s")
        return waited.result()

    def close(self) -> None:
        """Finish what was started, start nothing new."""
        self._pool.shutdown(wait=True, cancel_futures=True)

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
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

from bot.store.records import StoreBusy

log = logging.getLogger("coffee_coach.worker")

P = ParamSpec("P")
T = TypeVar("T")

# Slack wants its HTTP answer within 3 s; this leaves the door time to answer.
WAIT_S = 2.0


class Worker(Protocol):
    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    def close(self) -> None: ...


class InlineWorker:
    """Runs each call where it is made: no thread, no bound on the wait."""

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
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


class StoreWorker:
    """Runs store calls on `threads` threads of its own, each waited for at most `wait_s`."""

    def __init__(
        self, *, threads: int = 1, wait_s: float = WAIT_S, name: str = "coffee-coach store"
    ) -> None:
        self.wait_s = wait_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        deadline = time.monotonic() + self.wait_s
        call = functools.partial(fn, *args, **kwargs)

        def job() -> T:
            if time.monotonic() > deadline:
                raise StoreBusy("the store was busy: this call waited its turn too long")
            return call()

        future = self._pool.submit(job)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.wait_s)
        except TimeoutError:
            future.add_done_callback(_retrieve)
            raise StoreBusy(f"the store did not answer within {self.wait_s:g} s") from None

    def close(self) -> None:
        """Finish what was started, start nothing new."""
        self._pool.shutdown(wait=True, cancel_futures=True)

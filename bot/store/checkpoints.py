"""WAL checkpoints in a background thread, off the turn path.

SQLite otherwise checkpoints inside whichever commit crosses 1,000 WAL pages, and that
turn pays for copying them (milliseconds, the tail of the latency). A thread with its own
connection runs PASSIVE checkpoints instead: they never block a writer, and sqlite3
releases the GIL while they run.

A PASSIVE checkpoint copies the frames committed before it started. Under a steady stream
of commits it ends behind the writer, and the log is started again from its beginning only
by a transaction that begins when every frame has been copied. Checkpointing once a
second would leave that to chance: the log would grow for as long as the writes go on
(hundreds of megabytes in a minute of back-to-back turns) and every page a turn reads
would be looked up in an ever longer WAL index. So a checkpoint that ends behind is
followed by another soon after (`CATCH_UP_S`), until one completes in a pause between two
transactions; the log then stays near the size of one such stretch of writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress

log = logging.getLogger("coffee_coach.store")

# Between a checkpoint that ended behind the writer and the next one.
CATCH_UP_S = 0.005


def caught_up(outcome: tuple[int, int, int], frames_before: int) -> bool:
    """Whether a checkpoint's (busy, WAL frames, frames copied) leave nothing to copy:
    it copied every frame it found, and none was committed since the checkpoint before
    (which found `frames_before`): the frames a checkpoint reports are those it found on
    starting, and more may have come while it copied them."""
    _, frames, copied = outcome
    return copied >= frames == frames_before


def checkpoint_in_background(
    path: str,
    writer: sqlite3.Connection,
    *,
    busy_timeout_ms: int,
    every_s: float = 1.0,
    catch_up_s: float = CATCH_UP_S,
    seen: Callable[[tuple[int, int, int]], None] = lambda _: None,
) -> Callable[[], None]:
    """Checkpoint `path` every `every_s` (sooner while behind) on a connection of its own;
    `writer` stops checkpointing inline meanwhile. Each checkpoint's (busy, WAL frames,
    frames copied) goes to `seen`. Returns the function that stops the thread and gives
    `writer` its inline checkpoints back."""
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    stop = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        wait, before = every_s, -1
        try:
            while not stop.wait(wait):
                row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                outcome = (int(row[0]), int(row[1]), int(row[2]))
                seen(outcome)
                wait = every_s if caught_up(outcome, before) else catch_up_s
                before = outcome[1]
        except sqlite3.Error:
            log.exception("background checkpoints stopped; SQLite will checkpoint inline")
            writer.execute("PRAGMA wal_autocheckpoint = 1000")
        finally:
            conn.close()

    thread = threading.Thread(target=run, name="coffee-coach checkpoints", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join()
        # A writer closed first has no connection left to restore.
        with suppress(sqlite3.ProgrammingError):
            writer.execute("PRAGMA wal_autocheckpoint = 1000")

    return halt

"""A scheduler process for the multi-process tests: one pass at a given moment.

    python -m tests.checkin_worker DB AT OUT [hang]

DB is a SQLite file or a postgresql:// URL.
Waits for a line on stdin (so two workers can be started together), then runs one pass
with a Sender that appends `user` lines to OUT. With `hang`, the sender hangs after its
first message, so the test can kill the process mid-send.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime

from bot.checkins.extension import install
from bot.checkins.scheduler import Scheduler
from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import Outgoing
from bot.store import open_store
from tests.checkin_support import WORKER_BATCH


class FileSender:
    platform = "console"

    def __init__(self, path: str, *, hang: bool) -> None:
        self.path = path
        self.hang = hang

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        assert outgoing.key is not None
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{outgoing.key.user}\n".encode())
        finally:
            os.close(fd)
        if self.hang:
            print("sent", flush=True)
            await asyncio.Event().wait()


def main() -> None:
    db, at, out = sys.argv[1:4]
    hang = sys.argv[4:] == ["hang"]
    coach = Coach(open_store(db, clock=ManualClock(datetime.fromisoformat(at))))
    sys.stdin.readline()
    scheduler = Scheduler(
        install(coach), {"console": FileSender(out, hang=hang)}, batch=WORKER_BATCH
    )
    print(asyncio.run(scheduler.run_pass()), flush=True)


if __name__ == "__main__":
    main()

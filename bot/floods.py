"""Log floods, rate-limited: the same message at most a few times per interval, then a count.

Under a flood (a client hammering the server, the descriptors running out) one message can
be logged tens of thousands of times a second, and the logging itself becomes the outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

PER_INTERVAL: Final = 5
INTERVAL_S: Final = 10.0
# How many distinct messages are tracked at once; beyond it the oldest window is dropped.
TRACKED: Final = 1024


class RepeatFilter(logging.Filter):
    """Lets through the first `per_interval` records of each message (its logger, level and
    template) in every `interval_s`; the first one let through after a quiet spell says how
    many were held back."""

    def __init__(
        self,
        *,
        per_interval: int = PER_INTERVAL,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.per_interval = per_interval
        self.interval_s = interval_s
        self.clock = clock
        # key -> [window start, records let through in it, records held back]
        self._windows: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.interval_s:
            held = int(window[2]) if window is not None else 0
            if window is None and len(self._windows) >= TRACKED:
                del self._windows[next(iter(self._windows))]
            self._windows[key] = [now, 1, 0]
            if held:
                record.msg = f"{record.msg} [{held} more like this were not logged]"
            return True
        if window[1] < self.per_interval:
            window[1] += 1
            return True
        window[2] += 1
        return False


def configure_logging() -> None:
    """What `serve` (and its store process) log: ours at INFO, floods capped.

    The state machine's library narrates every transition at INFO; only its warnings are
    kept, or each turn would log a handful of lines.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatFilter())
    logging.getLogger("transitions").setLevel(logging.WARNING)

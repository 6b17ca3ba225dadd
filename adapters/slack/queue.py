"""Background work after the ack, whose failure is logged (the member was acked already)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

log = logging.getLogger("coffee_coach.slack")


async def logged(work: Awaitable[object], what: str) -> None:
    """Run background work; a failure is logged (the member's request was acked already)."""
    try:
        await work
    except Exception:
        log.exception("Slack: %s failed", what)

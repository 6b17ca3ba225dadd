"""Work after the ack: in order per channel, in the background, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError

log = logging.getLogger("coffee_coach.slack")


# --- sending ------------------------------------------------------------------------------


class ChannelQueue:
    """Background work after the ack: per channel in order, and drained at shutdown."""

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


async def logged(work: Awaitable[object], what: str) -> None:
    """Run background work; a failure is logged (the member's request was acked already)."""
    try:
        await work
    except SlackApiError as exc:
        # Slack's own refusal (a message gone, a channel archived): one line, no traceback.
        log.warning(
            "Slack: %s failed: %s answered %s", what, _method(exc), exc.response.get("error")
        )
    except Exception:
        log.exception("Slack: %s failed", what)


def _method(exc: SlackApiError) -> str:
    url = str(getattr(exc.response, "api_url", "") or "")
    return url.rsplit("/", 1)[-1] or "the Web API"

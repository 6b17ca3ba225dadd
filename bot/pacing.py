"""Keeping sends inside each platform's rate limits: one module for every door.

`ConversationPacer` spaces a door's replies within one conversation (Slack: a post per
second per channel; Teams: 7 per second); `Pacer` paces the scheduler's proactive sends
across a workspace and its conversations.

A message waits until its conversation is free, then reserves its workspace's (or
tenant's) next slot and sleeps until it; the reservation marks both busy for as long as
their limits require. The check and the reservation happen with no await between them, so
concurrent senders on one event loop never take the same slot. Slots are reserved at the
workspace's rate rather than from whenever each sleeper woke: were each to count from its
own (late) wake-up, every wake-up's latency would add up, slot after slot, and a busy
loop would keep a workspace well under its limit (a pass of 10,000 check-ins took 1.2x
to 1.3x its pacing limit that way). A sleeper woken within one slot of its own goes; one
woken later than that (the loop was held up) takes the next free slot instead, so a stall
never lets the messages it held up go together. Time is injected: the scheduler uses the
monotonic clock; tests and benchmarks use a virtual one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """Messages per second across a workspace or tenant, and seconds between two
    messages to one conversation."""

    per_second: float
    gap: float


LIMITS: Mapping[str, Limit] = {
    # chat.postMessage: one message per second per channel; the workspace-wide limit is
    # not published, so stay well under the hundreds per minute Slack tolerates.
    "slack": Limit(per_second=10.0, gap=1.0),
    # Bot Framework in Teams: 50 requests per second per app per tenant; per conversation
    # 7 per second but only 60 per 30 seconds, so 2 per second sustained.
    "msteams": Limit(per_second=40.0, gap=0.5),
}
# A platform not listed (the terminal, a new adapter) gets the cautious Slack pace.
FALLBACK = Limit(per_second=10.0, gap=1.0)
# Past this many conversations, those already free again are forgotten, so memory follows
# the sends in flight rather than every conversation ever paced.
_REMEMBER = 4096


def _real_monotonic() -> float:
    return time.monotonic()


async def _real_sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


class Pacer:
    def __init__(
        self,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        monotonic: Callable[[], float] = _real_monotonic,
        sleep_until: Callable[[float], Awaitable[None]] = _real_sleep_until,
    ) -> None:
        self.limits = limits
        self._now = monotonic
        self._sleep_until = sleep_until
        self._workspace_free: dict[tuple[str, str], float] = {}
        self._conversation_free: dict[tuple[str, str], float] = {}

    def limit(self, platform: str) -> Limit:
        return self.limits.get(platform, FALLBACK)

    async def wait(self, platform: str, workspace: str, address: str, messages: int) -> None:
        """Return when these messages may be sent, and keep the next ones at their distance.

        Once its conversation is free, a sender reserves the workspace's next slot and
        sleeps until it: the workspace's slots follow one another at exactly its rate
        however late (within a slot) each sleeper wakes, and only one sender wakes per slot.
        """
        limit = self.limit(platform)
        team_key, conv_key = (platform, workspace), (platform, address)
        spacing = messages / limit.per_second
        while True:
            now = self._now()
            free = self._conversation_free.get(conv_key, now)
            if free <= now:
                break
            await self._sleep_until(free)
        while True:
            slot = max(now, self._workspace_free.get(team_key, now))
            self._workspace_free[team_key] = slot + spacing
            self._conversation_free[conv_key] = slot + messages * limit.gap
            if len(self._conversation_free) > _REMEMBER:
                self._conversation_free = {
                    k: v for k, v in self._conversation_free.items() if v > now
                }
            if slot <= now:
                return
            await self._sleep_until(slot)
            now = self._now()
            if now - slot <= spacing:
                return
            # Woken more than a slot late (the loop was held up): the slots it missed are
            # gone. Going now would bunch it with the senders due after it, so it takes
            # the next free slot instead.


class ConversationPacer:
    """At most `rate` messages per `per_s` seconds per conversation.

    A slot is reserved synchronously, so concurrent turns in one conversation queue up in
    order instead of racing for the same second. With `rate=1` it is a cell rate: each
    conversation's next slot moves on by `per_s` per message. Clock and sleep are injected.
    """

    def __init__(
        self,
        rate: int = 1,
        per_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.per_s = per_s
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, deque[float]] = {}

    def reserve(self, conversation: str) -> float:
        """Take the next free slot in the conversation; return how long to wait for it."""
        now = self._clock()
        if len(self._slots) > _REMEMBER:
            self._slots = {k: v for k, v in self._slots.items() if v[-1] > now - self.per_s}
        slots = self._slots.setdefault(conversation, deque(maxlen=self.rate))
        at = now if len(slots) < self.rate else max(now, slots[0] + self.per_s)
        slots.append(at)
        return at - now

    async def wait(self, conversation: str) -> None:
        """Reserve the conversation's next slot and sleep until it."""
        wait = self.reserve(conversation)
        if wait > 0:
            await self._sleep(wait)

"""Sending through the shared connector clients: paced, and retried when Teams throttles."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

from botbuilder.schema import Activity

from adapters.teams.activities import thread_root
from adapters.teams.cards import activity_json
from adapters.teams.connector import BotConnector, ConnectorError, JsonObject, Unreachable
from bot.pacing import ConversationPacer

log = logging.getLogger("coffee_coach.teams")


# --- delivery ------------------------------------------------------------------------------

RETRYABLE: Final = frozenset({412, 429, 502, 503, 504})
# Answers that sending the same message again cannot change: the conversation is gone (404),
# the bot was removed from it or blocked (403), or the message itself is refused (400, 413).
UNDELIVERABLE: Final = frozenset({400, 403, 404, 413})


class DeliveryError(RuntimeError):
    """The Bot Connector refused a message, or kept throttling it past the retry budget."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        # The connector's HTTP status; None when it could not be reached at all.
        self.status = status


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; a Retry-After from the connector takes precedence."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s) * random.uniform(1.0, 1.1)
        backoff = min(self.cap_s, self.base_s * 2**attempt)
        return random.uniform(backoff / 2, backoff)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from either of its forms (seconds, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Address:
    """Where a target's messages go, as plain data: what an outbox post records."""

    conversation_id: str
    envelope: JsonObject
    reply_to_id: str | None = None


@dataclass(slots=True)
class Target:
    """Where messages go: one conversation, through the connector client of its service URL.

    `envelope` holds what every message to it carries (channel, service URL, conversation,
    from and recipient); `reply_to_id` threads replies under the activity that brought them;
    `buffered`, for an activity sent with `expectReplies`, collects the replies for the HTTP
    response instead of posting them.
    """

    connector: BotConnector
    conversation_id: str
    envelope: JsonObject
    reply_to_id: str | None = None
    buffered: list[JsonObject] | None = field(default=None)

    @property
    def address(self) -> Address:
        return Address(self.conversation_id, self.envelope, self.reply_to_id)


class Outbox:
    """Sends and updates activities through the connector: paced, retried when throttled.

    botbuilder retries nothing on 429 or 412 (and nothing at all on a POST), so each call is
    retried here on 412, 429, 502, 503 and 504 (and when the connector cannot be reached),
    honouring Retry-After; any other error status is final at once.
    """

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        pacer: ConversationPacer | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        # Teams allows about 7 messages per second per conversation.
        self.pacer = pacer or ConversationPacer(rate=7, per_s=1.0)
        self.sleep = sleep

    async def send(self, target: Target, activity: Activity) -> None:
        body = activity_json(activity) | target.envelope
        body.pop("id", None)
        if target.reply_to_id:
            body["replyToId"] = target.reply_to_id
        if target.buffered is not None:
            target.buffered.append(body)
            return
        await self.send_body(target, body)

    async def send_body(self, target: Target, body: JsonObject) -> None:
        """Send an activity's JSON as it is (the envelope already in it)."""
        await self._call(
            target,
            lambda: target.connector.send(
                target.conversation_id, body, reply_to_id=target.reply_to_id
            ),
        )

    async def update(self, target: Target, activity: Activity) -> None:
        assert activity.id, "an update names the activity it replaces"
        await self.update_body(target, activity.id, activity_json(activity) | target.envelope)

    async def update_body(self, target: Target, activity_id: str, body: JsonObject) -> None:
        await self._call(
            target, lambda: target.connector.update(target.conversation_id, activity_id, body)
        )

    async def _call(self, target: Target, call: Callable[[], Awaitable[Any]]) -> None:
        conversation = thread_root(target.conversation_id)
        for attempt in range(self.policy.attempts):
            wait = self.pacer.reserve(conversation)
            if wait > 0:
                await self.sleep(wait)
            last = attempt + 1 == self.policy.attempts
            try:
                await call()
                return
            except ConnectorError as exc:
                if exc.status not in RETRYABLE or last:
                    raise DeliveryError(str(exc), status=exc.status) from exc
                after = retry_after(exc.retry_after)
                log.info("Connector answered %s; retry %d after %s", exc.status, attempt + 1, after)
                await self.sleep(self.policy.delay(attempt, after))
            except Unreachable as exc:
                if last:
                    raise DeliveryError(f"the connector could not be reached: {exc}") from exc
                log.info("Connector unreachable (%s); retry %d", exc, attempt + 1)
                await self.sleep(self.policy.delay(attempt, None))

"""Sending through a turn's connector: paced, and retried when Teams throttles."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError

from adapters.teams.activities import thread_root
from bot.pacing import ConversationPacer

log = logging.getLogger("coffee_coach.teams")


# --- delivery ------------------------------------------------------------------------------

RETRYABLE: Final = frozenset({412, 429, 502, 504})
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


class Outbox:
    """Sends and updates activities through a turn's connector: paced, retried when throttled.

    botbuilder retries nothing on 429 or 412 (and nothing at all on a POST), so each call is
    retried here on 412, 429, 502 and 504, honouring Retry-After.
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

    async def send(self, context: TurnContext, activity: Activity) -> None:
        await self._call(context, lambda: context.send_activity(activity))

    async def update(self, context: TurnContext, activity: Activity) -> None:
        await self._call(context, lambda: context.update_activity(activity))

    async def _call(self, context: TurnContext, call: Callable[[], Awaitable[object]]) -> None:
        conversation = thread_root(context.activity.conversation.id)
        for attempt in range(self.policy.attempts):
            wait = self.pacer.reserve(conversation)
            if wait > 0:
                await self.sleep(wait)
            try:
                await call()
                return
            except ErrorResponseException as exc:
                status = exc.response.status_code
                if status not in RETRYABLE or attempt + 1 == self.policy.attempts:
                    raise DeliveryError(
                        f"the connector answered {status}{_error_code(exc)}", status=status
                    ) from exc
                after = retry_after(exc.response.headers.get("Retry-After"))
                log.info("Connector answered %s; retry %d after %s", status, attempt + 1, after)
                await self.sleep(self.policy.delay(attempt, after))
            except ClientRequestError as exc:
                raise DeliveryError(f"the connector could not be reached: {exc}") from exc


def _error_code(exc: ErrorResponseException) -> str:
    """The connector's own name for the error (ConversationNotFound, BotDisabledByAdmin)."""
    code = getattr(getattr(exc.error, "error", None), "code", None)
    return f" ({code})" if code else ""

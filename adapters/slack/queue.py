"""Background work after the ack, whose failure is logged (the member was acked already)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from slack_sdk.errors import SlackApiError

log = logging.getLogger("coffee_coach.slack")


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

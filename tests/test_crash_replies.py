"""A crash never loses a reply: a real `coffee-coach serve` process, killed with SIGKILL.

Twenty members write to the coach in Slack while Slack refuses every chat.postMessage
(so no reply has gone out when the process dies); every event was acknowledged, so Slack
will not redeliver any. After a restart, each member gets their reply from the outbox.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver, dm_channel
from tests.serve_process import free_port, serve, until_healthy

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MEMBERS = [f"U{n:02d}" for n in range(1, 21)]
# The outbox hands a stopped process's posts over once their claim is 15 s old.
DELIVERED_WITHIN_S = 60.0


async def test_replies_acknowledged_before_a_sigkill_are_delivered_after_the_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "coach.db"
    port = free_port()
    async with FakeSlackAPI() as api, aiohttp.ClientSession() as session:
        for user in MEMBERS:
            api.add_user(user, f"Member {user}")
        api.refuse("chat.postMessage")
        slack = SlackDriver(
            session, signing_secret=SECRET, url=f"http://127.0.0.1:{port}/slack/events", api=api
        )
        env = {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api.url,
        }
        with serve(db, port, env) as first:
            await until_healthy(session, port)
            answers = await asyncio.gather(*(slack.message(user, "hello") for user in MEMBERS))
            assert [r.status for r in answers] == [200] * len(MEMBERS)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            # A post the process sent just before it died still reaches this fake (same
            # loop): let it be answered, refused, before Slack starts accepting.
            await asyncio.sleep(0.5)
        assert api.sent("chat.postMessage") == []

        api.accept("chat.postMessage")
        with serve(db, port, env):
            await until_healthy(session, port)
            deadline = time.monotonic() + DELIVERED_WITHIN_S
            waiting = set(MEMBERS)
            while waiting and time.monotonic() < deadline:
                waiting = {
                    u for u in waiting if not api.sent("chat.postMessage", channel=dm_channel(u))
                }
                await asyncio.sleep(0.2)
        assert waiting == set(), "these members never got the reply to their acknowledged message"
        for user in MEMBERS:
            [reply] = api.sent("chat.postMessage", channel=dm_channel(user))
            assert "`start`" in reply.args["text"]

"""A crash never loses a reply: a real `coffee-coach serve` process, killed with SIGKILL.

Twenty members write to the coach in Slack while Slack refuses every chat.postMessage
(so no reply has gone out when the process dies); every event was acknowledged, so Slack
will not redeliver any. After a restart, each member gets their reply from the outbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver, dm_channel

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MEMBERS = [f"U{n:02d}" for n in range(1, 21)]
# The outbox hands a stopped process's posts over once their claim is 15 s old.
DELIVERED_WITHIN_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(db: Path, api_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = os.environ | {
        "COFFEE_COACH_DB": str(db),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": api_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def until_healthy(session: aiohttp.ClientSession, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("serve did not come up")


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
        with serve(db, api.url, port) as first:
            await until_healthy(session, port)
            answers = await asyncio.gather(*(slack.message(user, "hello") for user in MEMBERS))
            assert [r.status for r in answers] == [200] * len(MEMBERS)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert api.sent("chat.postMessage") == []

        api.accept("chat.postMessage")
        with serve(db, api.url, port):
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

"""Replies lost and doubled when `coffee-coach serve` is killed under load.

A real `serve` process (SQLite, Slack door pointed at the fake Web API of
tests/fakes/slack_api.py) takes the interview answers of `--members` members at once,
each member answering, waiting for the coach's next prompt, answering again. Every few
seconds the process is killed with SIGKILL and started again on the same file, `--kills`
times. The members behave as Slack does: an event that was not acknowledged (the
connection dropped, or a 5xx) is sent again with the same event id and X-Slack-Retry-Num,
until it is. At the end, each member's DM must hold one reply per acknowledged answer:

- lost: acknowledged answers that never got a reply (must be 0);
- doubled: replies beyond one per answer (the outbox is at-least-once: a reply in flight
  when the process dies may go out twice).

    python -m bench.crash [--members 50] [--kills 3] [--between 4]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.slack_latency import ANSWERS as INTERVIEW_ANSWERS
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver, dm_channel
from tests.serve_process import free_port, serve, until_healthy

SECRET = "bench-signing-secret"
# The typed part of the interview, as the latency bench answers it.
ANSWERS = INTERVIEW_ANSWERS[:8]
# A stopped process's replies are taken over once their claim is 15 s old.
REPLY_WAIT_S = 40.0


@dataclass
class Member:
    user: str
    acked: int = 0
    retries: int = 0
    waits: list[float] = field(default_factory=list)


async def answer(
    slack: SlackDriver, api: FakeSlackAPI, member: Member, stop: asyncio.Event
) -> None:
    channel = dm_channel(member.user)
    for n, text in enumerate(["start", *ANSWERS]):
        if stop.is_set():
            return
        event_id = f"Ev{member.user}{n:03d}"
        retry = None
        event = slack.dm_event(member.user, text)
        started = time.monotonic()
        while True:  # as Slack: again with the same id until acknowledged
            try:
                response = await slack.event(event, event_id=event_id, retry=retry)
                if response.status == 200:
                    break
            except aiohttp.ClientError:
                pass
            member.retries += 1
            retry = (retry or 0) + 1
            await asyncio.sleep(0.5)
        member.acked += 1
        deadline = time.monotonic() + REPLY_WAIT_S
        while len(api.sent("chat.postMessage", channel=channel)) < member.acked:
            if time.monotonic() > deadline:
                return  # counted as lost below
            await asyncio.sleep(0.05)
        member.waits.append(time.monotonic() - started)


async def run(members: int, kills: int, between: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "coach.db"
        port = free_port()
        async with FakeSlackAPI() as api, aiohttp.ClientSession() as session:
            crowd = [Member(f"U{n:03d}") for n in range(members)]
            for member in crowd:
                api.add_user(member.user, f"Member {member.user}")
            env = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN}
            env["SLACK_API_URL"] = api.url
            slack = SlackDriver(
                session, signing_secret=SECRET, url=f"http://127.0.0.1:{port}/slack/events"
            )
            stop = asyncio.Event()
            started = time.monotonic()
            with ExitStack() as processes:
                process = processes.enter_context(serve(db, port, env))
                await until_healthy(session, port)
                load = asyncio.gather(*(answer(slack, api, m, stop) for m in crowd))
                for _ in range(kills):
                    await asyncio.sleep(between)
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                    process = processes.enter_context(serve(db, port, env))
                    await until_healthy(session, port)
                await load
            elapsed = time.monotonic() - started
            acked = sum(m.acked for m in crowd)
            replies = {
                m.user: len(api.sent("chat.postMessage", channel=dm_channel(m.user))) for m in crowd
            }
            lost = sum(max(0, m.acked - replies[m.user]) for m in crowd)
            doubled = sum(max(0, replies[m.user] - m.acked) for m in crowd)
            waits = sorted(w for m in crowd for w in m.waits)
            title = f"{members} members answering at once, {kills} SIGKILLs {between:g} s apart"
            rows = [
                ("answers acknowledged", f"{acked}"),
                (
                    "events sent again (unacknowledged, as Slack does)",
                    f"{sum(m.retries for m in crowd)}",
                ),
                ("replies lost", f"{lost}"),
                ("replies doubled", f"{doubled}"),
                ("answer -> reply, median s", f"{waits[len(waits) // 2]:.2f}"),
                ("answer -> reply, max s (a reply stranded by a kill)", f"{waits[-1]:.2f}"),
                ("run time s", f"{elapsed:.1f}"),
            ]
            print(f"Crash bench: {title}\n")
            print(f"{'measure':<52}{'value':>10}")
            for name, value in rows:
                print(f"{name:<52}{value:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--between", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(run(args.members, args.kills, args.between))


if __name__ == "__main__":
    main()

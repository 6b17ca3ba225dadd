"""serve's memory as members keep arriving: RSS per extra 1,000 members, after warm-up.

    python -m bench.memory [--members 30000] [--wave 1000] [--at-once 250]

A child process runs the `coffee-coach serve` app (`bot.server.build_app`, background
checkpoints, scheduler off, its turns in a store process of their own as `serve` runs them;
the RSS shown is both processes') with both doors open: Slack signed by a known secret and its
Web client pointed at the fake Slack Web API, Teams unauthenticated (no app id), replying
to the fake Bot Connector. The harness (this process, which also serves both fakes) sends
waves of new members, half on each platform, `--at-once` at a time: a Slack member types
`/coffee` in the team channel (the door opens their DM and looks up their profile) and
answers the first question in the DM; a Teams member writes `start` in their personal chat
and answers the first question. After each wave the child collects its garbage and reports
its RSS (VmRSS from /proc) and the objects its collector tracks, so the table shows what
stays per member, not what a collection would have freed anyway. (The door posts at most
one message a second in a DM, so a member's second message waits for its slot: hence 250
members at once, to keep the run to minutes.)

What the door keeps per member (the Slack DM channels and profiles, Teams' connector
clients, the pacers' conversations) is bounded; once the largest cache is full (10,000
Slack members, `adapters/slack/webapi.CACHED_MEMBERS`) RSS should stop growing. The
default runs well past that: 15,000 Slack members among 30,000.

The harness must not distort the figures: the fakes record every call, so what they
recorded is cleared after each wave; the child freezes its start-up objects with
`gc.freeze()` before the first member arrives. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

from bench.procfs import rss_mib, store_process_pid
from tests.fakes.bot_connector import FakeBotConnector, Person, TeamsService
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
ANSWER = "independent bakeries and cafes in Leeds, and the hotel buyers who order weekly"


async def rss(request: web.Request) -> web.Response:
    """The bench's own route on the child: collect, then report RSS in MiB (its own and its
    store process's) and the objects the collector tracks (a map that keeps something per
    member grows those too)."""
    from bot.server import WORKER

    gc.collect()
    pid = store_process_pid(request.app[WORKER])
    store = rss_mib(pid) if pid is not None else 0.0
    return web.json_response([rss_mib() + store, len(gc.get_objects())])


async def serve(db: str, slack_api: str) -> None:
    """Child process: serve the app on 127.0.0.1, print the port, run until killed."""
    from bot.config import Config
    from bot.engine import Coach
    from bot.server import build_app, store_process_for
    from bot.store import open_store

    logging.disable(logging.WARNING)  # the Teams door's warning that it runs unauthenticated
    config = Config(
        slack_signing_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack_api,
        teams_dev=True,
        scheduler=False,
    )
    coach = Coach(open_store(db))
    app = build_app(coach, config, store_process=store_process_for(coach))
    app.router.add_get("/bench/rss", rss)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    gc.collect()
    gc.freeze()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


def spawn(db: str, slack_api: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.memory", "--serve", "--db", db, "--slack-api", slack_api],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},  # botbuilder's deprecation warnings
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


async def slack_member(slack: SlackDriver, user: str) -> None:
    response = await slack.command(user)
    assert response.status == 200, response.status
    response = await slack.message(user, "1")
    assert response.status == 200, response.status


async def teams_member(teams: TeamsService, person: Person) -> None:
    chat = teams.personal_chat(person)
    for text in ("start", "B2B"):
        assert await teams.post(teams.message(person, chat, text)) in (200, 201)


async def wave(
    slack: SlackDriver, teams: TeamsService, first: int, count: int, at_once: int
) -> None:
    """Members first..first+count-1 arrive, alternately on Slack and on Teams."""
    for start in range(first, first + count, at_once):
        members = range(start, min(start + at_once, first + count))
        await asyncio.gather(
            *(
                slack_member(slack, f"U{n:07d}")
                if n % 2
                else teams_member(teams, Person(f"29:member-{n}", f"Member {n}"))
                for n in members
            )
        )


async def run(members: int, size: int, at_once: int) -> list[tuple[int, float, int]]:
    readings: list[tuple[int, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeSlackAPI() as api, FakeBotConnector() as connector:
            process, url = spawn(str(Path(tmp) / "memory.db"), api.url)
            try:
                async with ClientSession(connector=TCPConnector(limit=0)) as session:
                    slack = SlackDriver(
                        session, signing_secret=SECRET, url=f"{url}/slack/events", api=api
                    )
                    teams = TeamsService(session, f"{url}/api/messages", connector)

                    async def reading(members: int) -> tuple[int, float, int]:
                        async with session.get(f"{url}/bench/rss") as response:
                            mib, objects = await response.json()
                            return members, float(mib), int(objects)

                    readings.append(await reading(0))
                    for first in range(0, members, size):
                        await wave(slack, teams, first, min(size, members - first), at_once)
                        # Let the door's sends after the ack (DM prompts) finish first.
                        await asyncio.sleep(0.5)
                        api.forget()
                        connector.calls.clear()
                        readings.append(await reading(min(first + size, members)))
            finally:
                process.terminate()
                process.wait()
    return readings


def table(readings: list[tuple[int, float, int]], size: int) -> None:
    print(f"\nserve's RSS after each wave of {size:,} new members (half Slack, half Teams)")
    print(f"{'members':>9} {'RSS MiB':>9} {'change':>8} {'objects':>10} {'change':>8}")
    previous: tuple[int, float, int] | None = None
    for members, mib, objects in readings:
        changes = (
            ("", "")
            if previous is None
            else (
                f"{mib - previous[1]:+.1f}",
                f"{objects - previous[2]:+,}",
            )
        )
        print(f"{members:>9,} {mib:>9.1f} {changes[0]:>8} {objects:>10,} {changes[1]:>8}")
        previous = (members, mib, objects)
    print()
    for name, tail in (
        ("second half", readings[len(readings) // 2 :]),
        ("last fifth", readings[len(readings) * 4 // 5 :]),
    ):
        if len(tail) > 1:
            span = (tail[-1][0] - tail[0][0]) / 1000
            print(
                f"{name} ({tail[0][0]:,} to {tail[-1][0]:,} members), per 1,000 members:"
                f" {(tail[-1][1] - tail[0][1]) / span:+.2f} MiB,"
                f" {(tail[-1][2] - tail[0][2]) / span:+,.0f} objects"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--wave", type=int, default=1_000)
    parser.add_argument("--at-once", type=int, default=250)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--slack-api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.db, args.slack_api))
        return
    table(asyncio.run(run(args.members, args.wave, args.at_once)), args.wave)


if __name__ == "__main__":
    main()

"""How fast the Slack door answers, against a floor measured in the same run.

Serves the real `coffee-coach serve` app (bot.server.build_app) on 127.0.0.1 with its Web
client pointed at the fake Slack Web API (tests/fakes/slack_api.py), and sends it requests
signed as Slack signs them. Two figures:

- One DM answer end to end: from the POST of a message.im event to the next prompt's
  chat.postMessage arriving at the fake, with every member answering at once. The floor is
  a bare slack-bolt app on the same stack (aiohttp server, bolt's defaults, the same Web
  client setup) whose only listener posts a fixed reply. Target: p99 within 1.5x the floor.
- The HTTP response to `/coffee` (the ack; the interview itself goes on in the DM), one
  member after another, against a bolt command listener that only acks (bolt's default
  listener runner polls for the ack every 10 ms). Target: p99 under 20 ms.

The harness must not distort the figures: the fake Web API records every call, and a heap
that grows wave after wave triggers full collections in the middle of the waves. So what
the fake recorded is cleared after each wave (`FakeSlackAPI.forget`), and start-up objects
(the SDKs, the flows, the store) are moved out of the collector's sight with `gc.freeze()`
once both sides are warm, before anything is measured.

    python -m bench.slack_latency [--members 50] [--rounds 10] [--commands 300]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import blocks_for
from bot.config import Config
from bot.engine import Coach
from bot.messages import Choice, Reply
from bot.server import build_app
from bot.store import SQLiteStore
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver, dm_channel

SECRET = "bench-signing-secret"
ANSWERS = [
    "b2b",
    "Facilities managers at mid-sized hospitals",
    "Fast repairs and friendly engineers who explain things",
    "Short videos of engineers solving real problems",
    "Being trusted before the tender is published",
    "LinkedIn first, then YouTube for the videos",
    "Priya writes, Tom replies, Sam approves",
    "Two posts a week and a monthly content calendar",
    "Engineers share our posts and we join hospital forums",
    "Twenty qualified leads a month from LinkedIn by June",
    # The stage check (a choice's number is an answer too). Its last answer places the
    # member on the ladder and sends the summary: a heavier turn, left out by default.
    *["1"] * 6,
]
INTERVIEW_ROUNDS = 10
# The door posts at most one message per second per channel: let each DM's slot come round.
PACE_S = 1.05


# The floor's fixed reply has a prompt's shape (a question, a row of answers, a row of
# navigation), so both sides send and the fake parses the same amount of Block Kit.
FIXED_REPLY = Reply(
    "*Question 2 of 9: What they value*\nWhat do those customers value most about you?",
    choices=(Choice("Skip", "skip", nav=True), Choice("Back", "back", nav=True)),
    prompt_token="1.2",
)


def bare_bolt_app(api_url: str) -> web.Application:
    """The floor: bolt's defaults, one fixed reply per DM, an ack-only /coffee."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    bolt = AsyncApp(client=client, signing_secret=SECRET, name="floor")
    blocks = blocks_for(FIXED_REPLY)

    @bolt.event("message")
    async def reply(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.chat_postMessage(
            channel=event["channel"], text=FIXED_REPLY.text, blocks=blocks
        )

    @bolt.command("/coffee")
    async def coffee(ack: AsyncAck) -> None:
        await ack("I've sent you a direct message.")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def pooled(app: web.Application) -> None:
        # The same connection pooling the door uses, so the floor is not handicapped.
        client.session = aiohttp.ClientSession()

    async def close(app: web.Application) -> None:
        if client.session is not None:
            await client.session.close()

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.on_startup.append(pooled)
    app.on_cleanup.append(close)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"


async def answer_round(
    slack: SlackDriver, api: FakeSlackAPI, users: list[str], text: str
) -> list[float]:
    """Every member answers at once; seconds from each POST to that DM's next post.

    What the fake recorded is forgotten afterwards, so each wave starts from an empty fake.
    """
    before = len(api.sent("chat.postMessage"))
    bodies = {u: slack.event_body(slack.dm_event(u, text)) for u in users}
    started: dict[str, float] = {}

    async def answer(user: str) -> None:
        started[dm_channel(user)] = time.perf_counter()
        response = await slack.post(bodies[user], "application/json")
        assert response.status == 200, response.status

    await asyncio.gather(*(answer(u) for u in users))
    posts = (await api.wait_for("chat.postMessage", count=before + len(users)))[before:]
    arrived = {str(c.args["channel"]): c.at for c in posts}
    assert arrived.keys() == started.keys(), "one post per member"
    api.forget()
    return [arrived[channel] - began for channel, began in started.items()]


async def command_time(slack: SlackDriver, user: str) -> float:
    """Seconds from the POST of `/coffee` to its HTTP response."""
    body = slack.command_body(user, "").encode()
    began = time.perf_counter()
    response = await slack.post(body, "application/x-www-form-urlencoded")
    assert response.status == 200, response.status
    return time.perf_counter() - began


async def command_times(slack: SlackDriver, users: list[str], *, at_once: int) -> list[float]:
    """Members type /coffee in the team channel, `at_once` of them at a time."""
    times: list[float] = []
    for start in range(0, len(users), at_once):
        batch = users[start : start + at_once]
        times += await asyncio.gather(*(command_time(slack, u) for u in batch))
        if slack.api is not None:
            slack.api.forget()
    return times


async def measure(members: int, rounds: int, commands: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"door": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        async with FakeSlackAPI() as api, aiohttp.ClientSession() as http:
            config = Config(
                slack_signing_secret=SECRET,
                slack_bot_token=BOT_TOKEN,
                slack_api_url=api.url,
                scheduler=False,
            )
            door_runner, door_url = await serve(build_app(Coach(store), config))
            floor_runner, floor_url = await serve(bare_bolt_app(api.url))
            door = SlackDriver(http, signing_secret=SECRET, url=door_url, api=api)
            floor = SlackDriver(http, signing_secret=SECRET, url=floor_url, api=api)
            try:
                users = [f"U{n:04d}" for n in range(members)]
                floor_users = [f"W{n:04d}" for n in range(members)]
                await asyncio.gather(*(door.command(u) for u in users))
                await api.wait_for("chat.postMessage", count=members)
                # Warm both up (bolt's first request runs auth.test), then move what start-up
                # allocated out of the collector's way: a full collection of the imported
                # SDKs would otherwise land, 50 ms at a time, on whichever side it hits.
                await answer_round(floor, api, floor_users, "warm up")
                gc.collect()
                gc.freeze()
                for text in ANSWERS[:rounds]:
                    await asyncio.sleep(PACE_S)
                    results["door"] += await answer_round(door, api, users, text)
                    results["floor"] += await answer_round(floor, api, floor_users, text)
                fresh = [f"V{n:04d}" for n in range(commands)]
                results["coffee"] = await command_times(door, fresh, at_once=1)
                results["naive"] = await command_times(floor, fresh, at_once=1)
                await asyncio.sleep(PACE_S)
                burst = [f"X{n:04d}" for n in range(commands)]
                results["burst"] = await command_times(door, burst, at_once=members)
            finally:
                await door_runner.cleanup()
                await floor_runner.cleanup()
                store.close()
    return results


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1000, cuts[98] * 1000


ROWS = (
    ("door", "DM answer -> next prompt posted (Coffee Coach)"),
    ("floor", "DM message -> fixed reply posted (bare bolt floor)"),
    ("coffee", "/coffee HTTP response, one at a time (Coffee Coach)"),
    ("naive", "/coffee HTTP response, one at a time (bolt ack-only)"),
    ("burst", "/coffee HTTP response, {members} at once (Coffee Coach)"),
)


def table(results: dict[str, list[float]], members: int) -> str:
    figures = {key: percentiles(samples) for key, samples in results.items()}
    lines = [
        f"Slack door latency: {members} members answering at once, {len(results['door'])}"
        f" answers each; {len(results['coffee'])} /coffee",
        "",
        f"{'measure':<56} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for key, label in ROWS:
        p50, p99 = figures[key]
        lines.append(f"{label.format(members=members):<56} {p50:8.2f} {p99:8.2f}")
    (door50, door99), (floor50, floor99) = figures["door"], figures["floor"]
    lines += [
        "",
        f"DM answer vs floor: p50 x{door50 / floor50:.2f}, p99 x{door99 / floor99:.2f}"
        " (target: p99 within x1.5)",
        f"/coffee p99 one at a time: {figures['coffee'][1]:.2f} ms (target: under 20 ms)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=INTERVIEW_ROUNDS, choices=range(1, len(ANSWERS) + 1)
    )
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    results = asyncio.run(measure(args.members, args.rounds, args.commands))
    print(table(results, args.members))


if __name__ == "__main__":
    main()

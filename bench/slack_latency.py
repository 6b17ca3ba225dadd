"""How fast the Slack door answers, against a floor measured in the same run.

Serves the real `coffee-coach serve` app (bot.server.build_app) on 127.0.0.1 with its Web
client pointed at the fake Slack Web API (tests/fakes/slack_api.py, in a process of its own:
`bench/fakes_apart.py`), its turns in a store process as `serve` runs a SQLite file, and
sends it requests signed as Slack signs them. Three figures:

- One DM answer end to end: from the POST of a message.im event to the next prompt's
  chat.postMessage arriving at the fake, with every member answering at once. The floor is
  a bare slack-bolt app on the same stack (aiohttp server, bolt's defaults, the same Web
  client setup) whose only listener posts a fixed reply. Target: p99 within 1.2x the floor.
- A button press end to end: from the POST of the block_actions payload (the first answer
  of a stage-check prompt) until both the pressed prompt's chat.update and the next
  prompt's chat.postMessage have arrived, every member pressing at once; against the same
  floor, whose waves alternate with the door's answers and then with its presses. Target:
  p99 within 1.4x the floor.
- The HTTP response to `/coffee` (the ack; the interview itself goes on in the DM), one
  member after another, against a bolt command listener that only acks (bolt's default
  listener runner polls for the ack every 10 ms). Target: p99 under 20 ms.

CPU per answer over the waves: the event loop's thread, read with time.thread_time() (it
also runs the driver, so the floor's waves are the baseline to compare with), the store
process's and the fake Web API's, from /proc (the door's turns; the floor has none).

The harness must not distort the figures:
- The fake Web API answers from a process of its own. On the benchmark's loop it would
  charge the servers it measures for Slack's side of every call (about 380 µs each on the
  development machine), and a press, which makes two calls, twice what the floor is charged.
- The fake records every call, and a heap that grows wave after wave triggers full
  collections in the middle of the waves. So what it recorded is cleared before each wave
  (keeping each DM's latest message, on which the next press is made), and start-up
  objects (the SDKs, the flows, the store) are moved out of the collector's sight with
  `gc.freeze()` once both sides are warm, before anything is measured.
- Both sides are warmed up first, the door's presses included: a press's redraw and next
  prompt go out at once, so the first presses open a second connection per DM.

With 50 members at once, a wave's p99 is close to its slowest answer, and a run's p99 is
set by its slowest few waves: on a shared machine, one slow moment. So `--cohorts` groups
of members (three by default) each answer every round, a floor wave after each of theirs,
for 30 answer waves and 15 press waves a run (1,500 answers, 750 presses).

`--runs` repeats the whole comparison with a fresh store and fresh servers; the summary
gives each run's ratios to its own floor and their median. Prints tables; asserts nothing.

    python -m bench.slack_latency [--members 50] [--cohorts 3] [--rounds 10] [--presses 5]
                                  [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import blocks_for
from bench.fakes_apart import FakeApart
from bench.procfs import process_cpu, store_process_pid
from bot.config import Config
from bot.engine import Coach
from bot.messages import Choice, Reply
from bot.outbox import FLUSH_S
from bot.server import WORKER, build_app, store_process_for
from bot.store import SQLiteStore
from bot.worker import Worker
from tests.fakes.slack_api import BOT_TOKEN, Message, SlackDriver, dm_channel

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
# Presses answer the stage check's prompts after the typed answers; its last answer places
# the member (the heavier turn), so one fewer by default.
STAGE_CHECK = 6
PRESS_ROUNDS = STAGE_CHECK - 1
# The door posts at most one message per second per channel: let each DM's slot come round.
PACE_S = 1.05
# Cohorts of members, each answering every round: three give 30 answer waves and 15 press
# waves a run. A run's p99 is set by its slowest few waves; with a third as many, one slow
# moment of a shared machine swung a run's ratio between 0.8x and 1.5x for the same code.
COHORTS = 3
# Each wave starts once the one before has finished its after-work: the door marks its
# posts delivered 50 ms after they went (`bot.outbox.FLUSH_S`) and its store checkpoints the
# WAL, which would otherwise land in the next wave, the floor's when the floor's comes next.
QUIET_S = 2 * FLUSH_S


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
    slack: SlackDriver, api: FakeApart, users: list[str], text: str
) -> list[float]:
    """Every member answers at once; seconds from each POST to that DM's next post."""
    await api.forget()
    bodies = {u: slack.event_body(slack.dm_event(u, text)) for u in users}
    started: dict[str, float] = {}

    async def answer(user: str) -> None:
        started[dm_channel(user)] = time.perf_counter()
        response = await slack.post(bodies[user], "application/json")
        assert response.status == 200, response.status

    await asyncio.gather(*(answer(u) for u in users))
    posts = await api.arrivals("chat.postMessage", len(users))
    arrived = dict(posts)
    assert len(posts) == len(arrived) and arrived.keys() == started.keys(), "one post each"
    return [arrived[channel] - began for channel, began in started.items()]


async def press_bodies(slack: SlackDriver, api: FakeApart, users: list[str]) -> dict[str, bytes]:
    """Each member's press of the first answer on their latest prompt (made before timing)."""
    latest: dict[str, Message] = await api.latest()
    bodies = {}
    for user in users:
        prompt = latest[dm_channel(user)]
        payload = slack.press_payload(user, prompt, prompt.labels()[0])
        bodies[user] = urlencode({"payload": json.dumps(payload)}).encode()
    return bodies


async def press_round(slack: SlackDriver, api: FakeApart, bodies: dict[str, bytes]) -> list[float]:
    """Every member presses at once; seconds from each POST until both the prompt's
    chat.update and the next chat.postMessage arrived."""
    await api.forget()
    users = list(bodies)
    started: dict[str, float] = {}

    async def press(user: str) -> None:
        started[dm_channel(user)] = time.perf_counter()
        response = await slack.post(bodies[user], "application/x-www-form-urlencoded")
        assert response.status == 200, response.status

    await asyncio.gather(*(press(u) for u in users))
    updates = await api.arrivals("chat.update", len(users))
    posts = await api.arrivals("chat.postMessage", len(users))
    redrawn, arrived = dict(updates), dict(posts)
    assert len(updates) == len(redrawn) and len(posts) == len(arrived), "one of each per DM"
    assert redrawn.keys() == arrived.keys() == started.keys(), "one redraw, one post each"
    return [max(redrawn[ch], arrived[ch]) - began for ch, began in started.items()]


class Cpu:
    """CPU seconds of the loop's thread, of the store's work (the store process's, as
    `serve` runs a SQLite file, or the store worker's thread) and of the fake Web API's
    process, per kind of wave."""

    def __init__(self, worker: Worker, fake_pid: int) -> None:
        self.worker = worker
        self.fake_pid = fake_pid
        self.seconds: dict[str, float] = {}
        self.answers: dict[str, int] = {}

    async def store_cpu(self) -> float:
        if (pid := store_process_pid(self.worker)) is not None:
            return process_cpu(pid)
        return await self.worker.run(time.thread_time)

    async def wave(self, kind: str, work: Awaitable[list[float]]) -> list[float]:
        """Time `work` (not started yet) on a quiet machine, and count its CPU."""
        await asyncio.sleep(QUIET_S)
        loop0, worker0 = time.thread_time(), await self.store_cpu()
        fake0 = process_cpu(self.fake_pid)
        times = await work
        loop1, worker1 = time.thread_time(), await self.store_cpu()
        fake1 = process_cpu(self.fake_pid)
        spending = (("loop", loop1 - loop0), ("worker", worker1 - worker0), ("fake", fake1 - fake0))
        for thread, spent in spending:
            self.seconds[f"{kind} {thread}"] = self.seconds.get(f"{kind} {thread}", 0) + spent
        self.answers[kind] = self.answers.get(kind, 0) + len(times)
        return times

    def per_answer_us(self, kind: str, thread: str) -> float:
        return self.seconds[f"{kind} {thread}"] / self.answers[kind] * 1e6


async def command_time(slack: SlackDriver, user: str) -> float:
    """Seconds from the POST of `/coffee` to its HTTP response."""
    body = slack.command_body(user, "").encode()
    began = time.perf_counter()
    response = await slack.post(body, "application/x-www-form-urlencoded")
    assert response.status == 200, response.status
    return time.perf_counter() - began


async def command_times(
    slack: SlackDriver, api: FakeApart, users: list[str], *, at_once: int
) -> list[float]:
    """Members type /coffee in the team channel, `at_once` of them at a time."""
    times: list[float] = []
    for start in range(0, len(users), at_once):
        batch = users[start : start + at_once]
        times += await asyncio.gather(*(command_time(slack, u) for u in batch))
        await api.forget()
    return times


async def measure(
    members: int, rounds: int, presses: int, commands: int, cohorts: int = COHORTS
) -> tuple[dict[str, list[float]], Cpu]:
    results: dict[str, list[float]] = {"door": [], "floor": [], "press": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        async with FakeApart() as api, aiohttp.ClientSession() as http:
            config = Config(
                slack_signing_secret=SECRET,
                slack_bot_token=BOT_TOKEN,
                slack_api_url=api.url,
                scheduler=False,
            )
            coach = Coach(store)
            door_app = build_app(coach, config, store_process=store_process_for(coach))
            cpu = Cpu(door_app[WORKER], api.pid)
            door_runner, door_url = await serve(door_app)
            floor_runner, floor_url = await serve(bare_bolt_app(api.url))
            door = SlackDriver(http, signing_secret=SECRET, url=door_url)
            floor = SlackDriver(http, signing_secret=SECRET, url=floor_url)
            try:
                groups = [[f"U{c}{n:04d}" for n in range(members)] for c in range(cohorts)]
                floor_users = [f"W{n:04d}" for n in range(members)]
                warm = [f"Y{n:04d}" for n in range(members)]
                everyone = [u for group in groups for u in group] + warm
                await asyncio.gather(*(door.command(u) for u in everyone))
                await api.arrivals("chat.postMessage", len(everyone))
                # Warm both up (bolt's first request runs auth.test; the door's first presses
                # open the second connection each DM's redraw and next prompt need at once,
                # members of its own pressing their first prompt), then move what start-up
                # allocated out of the collector's way: a full collection of the imported
                # SDKs would otherwise land, 50 ms at a time, on whichever side it hits.
                await answer_round(floor, api, floor_users, "warm up")
                await asyncio.sleep(PACE_S)
                await press_round(door, api, await press_bodies(door, api, warm))
                gc.collect()
                gc.freeze()
                # Each round, every cohort answers in turn (its own DMs, so the door's pacing
                # of one post per second per channel is kept by one pause a round), and the
                # floor takes its wave after each: both are timed over the same stretch.
                for text in ANSWERS[:rounds]:
                    await asyncio.sleep(PACE_S)
                    for users in groups:
                        results["door"] += await cpu.wave(
                            "door", answer_round(door, api, users, text)
                        )
                        results["floor"] += await cpu.wave(
                            "floor", answer_round(floor, api, floor_users, text)
                        )
                for _ in range(presses):
                    await asyncio.sleep(PACE_S)
                    for users in groups:
                        bodies = await press_bodies(door, api, users)
                        results["press"] += await cpu.wave("press", press_round(door, api, bodies))
                        results["floor"] += await cpu.wave(
                            "floor", answer_round(floor, api, floor_users, "and another")
                        )
                await api.forget()
                fresh = [f"V{n:04d}" for n in range(commands)]
                results["coffee"] = await command_times(door, api, fresh, at_once=1)
                results["naive"] = await command_times(floor, api, fresh, at_once=1)
                await asyncio.sleep(PACE_S)
                burst = [f"X{n:04d}" for n in range(commands)]
                results["burst"] = await command_times(door, api, burst, at_once=members)
            finally:
                await door_runner.cleanup()
                await floor_runner.cleanup()
                store.close()
                gc.unfreeze()
    return results, cpu


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1000, cuts[98] * 1000


ROWS = (
    ("door", "DM answer -> next prompt posted (Coffee Coach)"),
    ("floor", "DM message -> fixed reply posted (bare bolt floor)"),
    ("press", "button press -> redraw and next prompt (Coffee Coach)"),
    ("coffee", "/coffee HTTP response, one at a time (Coffee Coach)"),
    ("naive", "/coffee HTTP response, one at a time (bolt ack-only)"),
    ("burst", "/coffee HTTP response, {members} at once (Coffee Coach)"),
)


def ratios(results: dict[str, list[float]]) -> dict[str, float]:
    figures = {key: percentiles(samples) for key, samples in results.items()}
    (floor50, floor99) = figures["floor"]
    return {
        "answer p50": figures["door"][0] / floor50,
        "answer p99": figures["door"][1] / floor99,
        "press p50": figures["press"][0] / floor50,
        "press p99": figures["press"][1] / floor99,
    }


def table(results: dict[str, list[float]], cpu: Cpu, members: int) -> str:
    figures = {key: percentiles(samples) for key, samples in results.items()}
    lines = [
        f"Slack door latency: {members} members at once, {len(results['door']) // members}"
        f" answer waves; {len(results['door'])} answers,"
        f" {len(results['press'])} presses, {len(results['floor'])} floor replies;"
        f" {len(results['coffee'])} /coffee",
        "",
        f"{'measure':<56} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for key, label in ROWS:
        p50, p99 = figures[key]
        lines.append(f"{label.format(members=members):<56} {p50:8.2f} {p99:8.2f}")
    r = ratios(results)
    lines += [
        "",
        f"DM answer vs floor: p50 x{r['answer p50']:.2f}, p99 x{r['answer p99']:.2f}"
        " (target: p99 within x1.2)",
        f"button press vs floor: p50 x{r['press p50']:.2f}, p99 x{r['press p99']:.2f}"
        " (target: p99 within x1.4)",
        f"/coffee p99 one at a time: {figures['coffee'][1]:.2f} ms (target: under 20 ms)",
        "",
        "CPU per answer, µs (the loop thread also runs the driver; store: the store process,"
        " fake: the fake Web API's, both in 10 ms ticks summed over the waves):",
        f"{'wave':<12} {'loop':>8} {'store':>8} {'fake':>8}",
    ]
    for kind in ("door", "floor", "press"):
        loop, worker = cpu.per_answer_us(kind, "loop"), cpu.per_answer_us(kind, "worker")
        fake = cpu.per_answer_us(kind, "fake")
        lines.append(f"{kind:<12} {loop:8.0f} {worker:8.0f} {fake:8.0f}")
    extra = cpu.per_answer_us("door", "loop") - cpu.per_answer_us("floor", "loop")
    lines.append(f"door's extra on the loop over the floor: {extra:.0f} µs per answer")
    return "\n".join(lines)


def summary(runs: list[dict[str, float]]) -> str:
    lines = [f"Median of {len(runs)} run(s), each against the floor of its own run:", ""]
    for key in runs[0]:
        each = " / ".join(f"{run[key]:.2f}" for run in runs)
        lines.append(f"{key:<12} x{statistics.median(r[key] for r in runs):.2f}  ({each})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=INTERVIEW_ROUNDS, choices=range(1, len(ANSWERS) + 1)
    )
    parser.add_argument(
        "--presses", type=int, default=PRESS_ROUNDS, choices=range(1, STAGE_CHECK + 1)
    )
    parser.add_argument(
        "--cohorts", type=int, default=COHORTS, help="groups of members, each a wave a round"
    )
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        results, cpu = asyncio.run(
            measure(args.members, args.rounds, args.presses, args.commands, args.cohorts)
        )
        print(table(results, cpu, args.members), end="\n\n")
        runs.append(ratios(results))
    print(summary(runs))


if __name__ == "__main__":
    main()

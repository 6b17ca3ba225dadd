"""Answers per second through `/slack/events` with 1, 2 and 4 `serve` processes on one
PostgreSQL database.

    python -m bench.serve_scaling [--members 40] [--answers 6] [--servers 1,2,4]

Each `serve` is the real command in a process of its own (tests/serve_cluster.py), on the
tests' embedded PostgreSQL server (tests/postgres_server.py), with its Slack door talking
to the fake Slack Web API over HTTP. `--members` members answer at once, as people do: each
sends its next answer (a signed DM event, to the next server in turn, as a load balancer
would spread them) once the coach's reply to the last one has arrived. The figure is
answers per second from the first answer to the last reply, against one server's rate in
the same run. Everything shares this machine's cores: the servers, PostgreSQL, the fake
API and this load generator; the table says how many cores this process took and how
many the whole machine was busy on meanwhile. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import aiohttp

from bot.store.postgres import PostgresStore
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, SlackDriver, dm_channel
from tests.postgres_server import PostgresServer
from tests.serve_cluster import servers, slack_drivers

SECRET = "bench-signing-secret"
ANSWER = "independent bakeries and cafes in Leeds, and the hotel buyers who order weekly"


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


async def member(
    user: str, drivers: list[SlackDriver], api: FakeSlackAPI, texts: list[str], offset: int
) -> None:
    channel = dm_channel(user)
    for n, text in enumerate(texts):
        before = api.posts_to(channel)
        driver = drivers[(n + offset) % len(drivers)]
        response = await driver.message(user, text)
        assert response.status == 200
        await api.wait_for_posts(channel, before + 1, timeout=120)


async def run(
    count: int, server: PostgresServer, members: int, answers: int
) -> tuple[float, float, float]:
    """Answers per second, the cores this process (load and fake API) used meanwhile, and
    the cores the whole machine was busy on."""
    url = server.create_database(f"scaling_{count}")
    PostgresStore(url).close()
    async with FakeSlackAPI() as api:
        users = [f"U{n:03}" for n in range(members)]
        for user in users:
            api.add_user(user, f"Member {user}")
        env = {
            "COFFEE_COACH_DB": url,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": api.url,
        }
        with servers(count, env, "--no-scheduler") as urls:
            async with aiohttp.ClientSession() as session:
                drivers = slack_drivers(session, urls, secret=SECRET, api=api)
                # Each member starts and picks B2B first: the timed answers are free text.
                await asyncio.gather(
                    *(member(u, drivers, api, ["start", "1"], n) for n, u in enumerate(users))
                )
                texts = [f"{ANSWER} {n}" for n in range(answers)]
                start, cpu, machine = time.perf_counter(), time.process_time(), cpu_ticks()
                await asyncio.gather(
                    *(member(u, drivers, api, texts, n) for n, u in enumerate(users))
                )
                elapsed = time.perf_counter() - start
                used = (time.process_time() - cpu) / elapsed
                busy, total = (now - then for now, then in zip(cpu_ticks(), machine, strict=True))
    return members * answers / elapsed, used, (os.cpu_count() or 1) * busy / total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--answers", type=int, default=6)
    parser.add_argument("--servers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(c) for c in args.servers.split(",")]
    server = PostgresServer.start()
    try:
        rates = [(count, await run(count, server, args.members, args.answers)) for count in counts]
    finally:
        server.stop()
    first = rates[0][1][0]
    print(f"\nAnswers per second through /slack/events, {args.members} members at once\n")
    print(
        f"{'serve processes':>15} {'answers/s':>10} {'vs one':>7} {'load+fake cores':>16}"
        f" {'machine busy cores':>19}"
    )
    for count, (rate, used, busy) in rates:
        print(f"{count:>15} {rate:>10,.0f} {rate / first:>6.2f}x {used:>16.2f} {busy:>19.2f}")
    print(f"\n(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    asyncio.run(main())

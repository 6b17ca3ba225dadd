"""`coffee-coach serve` under an unlucky operator and a hostile network, as a real process.

Three tables, each measured in the same run as its own baseline:

1. `/healthz` latency while another process holds the database's write lock, against the
   same requests with the file free.
2. Open file descriptors of a server limited to 256 descriptors (`ulimit -n 256`) while 300
   connections stall (half send nothing, half send headers and no body), and how many
   health checks were answered meanwhile.
3. Resident memory over a soak: members answering through the Teams door (development mode,
   replies to a fake Bot Connector) for `--minutes` (2 by default; the README's figure is
   `--minutes 10`), sampled every `--every` seconds.

    python -m bench.soak [--minutes 2] [--members 20]

It prints tables and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.procfs import rss_mib
from tests.edge_process import ServeProcess
from tests.fakes.bot_connector import FakeBotConnector, Person, TeamsService

ANSWERS = (
    "facilities managers at mid-sized hospitals",
    "our engineers know their stuff deeply",
    "a monthly live clinic answering questions",
    "being trusted by the buyers",
    "LinkedIn first, then YouTube demos",
    "Sam writes and Lee approves weekly",
    "a weekly plan with two posts",
    "partners share our content monthly",
    "twenty qualified leads a month by June",
)
HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def health_latencies(
    session: aiohttp.ClientSession, port: int, n: int, *, within_s: float = 60.0
) -> list[float]:
    took: list[float] = []
    give_up = time.monotonic() + within_s
    while len(took) < n and time.monotonic() < give_up:
        start = time.perf_counter()
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            await response.read()
        took.append((time.perf_counter() - start) * 1000)
    return took


async def locked_health(tmp: Path, requests: int) -> None:
    rows: list[tuple[str, list[float]]] = []
    async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
        with ServeProcess(tmp / "locked.db") as serve:
            teams = TeamsService(session, f"http://127.0.0.1:{serve.port}/api/messages", connector)
            rows.append(("free", await health_latencies(session, serve.port, requests)))
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLD_LOCK, str(serve.db), "300"],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None
            holder.stdout.readline()  # "locked"
            try:
                rows.append(("locked", await health_latencies(session, serve.port, requests)))
                # Members keep answering meanwhile: each turn needs the lock.
                stop = time.monotonic() + 30
                people = [Person(f"29:l{n}", f"Locked {n}", f"aad-l{n}") for n in range(5)]
                load = [asyncio.create_task(member(teams, p, stop, [0])) for p in people]
                took = await health_latencies(session, serve.port, requests, within_s=30)
                rows.append(("locked, turns arriving", took))
                for task in load:
                    task.cancel()
                await asyncio.gather(*load, return_exceptions=True)
            finally:
                holder.kill()
                holder.wait()
    free = rows[0][1]
    print("\n/healthz while another process holds the write lock")
    print("| file | answered | p50 ms | p99 ms | p99 vs free |")
    print("|---|---:|---:|---:|---:|")
    for name, took in rows:
        ratio = percentile(took, 0.99) / percentile(free, 0.99)
        print(
            f"| {name} | {len(took)} | {statistics.median(took):.2f} |"
            f" {percentile(took, 0.99):.2f} | {ratio:.2f}x |"
        )


async def stalled_fds(tmp: Path, stalled: int, limit: int) -> None:
    body = (
        b"POST /api/messages HTTP/1.1\r\nHost: coach\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n{"
    )
    with ServeProcess(tmp / "fds.db", fd_limit=limit) as serve:
        idle = serve.open_fds()
        writers = []
        for n in range(stalled):
            _, writer = await asyncio.open_connection("127.0.0.1", serve.port)
            if n % 2:
                writer.write(body)
            writers.append(writer)
        await asyncio.sleep(1)
        during = serve.open_fds()
        answered = 0
        async with aiohttp.ClientSession() as session:
            for _ in range(20):
                try:
                    timeout = aiohttp.ClientTimeout(total=10)
                    async with session.get(
                        f"http://127.0.0.1:{serve.port}/healthz", timeout=timeout
                    ) as response:
                        answered += response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    pass
            await asyncio.sleep(12)
            after = serve.open_fds()
        for writer in writers:
            writer.close()
        flood = serve.log().count("Too many open files")
    print(f"\nOpen descriptors of serve (ulimit -n {limit}) with {stalled} stalled connections")
    print("| idle | 1 s into the stall | 12 s later | /healthz answered | EMFILE log lines |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {idle} | {during} | {after} | {answered} of 20 | {flood} |")


async def member(teams: TeamsService, person: Person, stop: float, counts: list[int]) -> None:
    chat = teams.personal_chat(person)
    script = ["start", "B2B", *ANSWERS, "restart"]
    while time.monotonic() < stop:
        for text in script:
            if time.monotonic() >= stop:
                return
            await teams.post(teams.message(person, chat, text))
            counts[0] += 1
            await asyncio.sleep(0.2)


async def soak(tmp: Path, minutes: float, members: int, every: float) -> None:
    async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
        with ServeProcess(tmp / "soak.db") as serve:
            teams = TeamsService(session, f"http://127.0.0.1:{serve.port}/api/messages", connector)
            counts = [0]
            start = time.monotonic()
            stop = start + minutes * 60
            people = [Person(f"29:m{n}", f"Member {n}", f"aad-{n}") for n in range(members)]
            load = [asyncio.create_task(member(teams, p, stop, counts)) for p in people]
            samples = [(0.0, 0, rss_mib(serve.pid))]
            while time.monotonic() < stop:
                await asyncio.sleep(min(every, max(0.0, stop - time.monotonic())))
                samples.append((time.monotonic() - start, counts[0], rss_mib(serve.pid)))
            await asyncio.gather(*load)
    print(f"\nResident memory of serve over {minutes:g} minutes, {members} members answering")
    print("| elapsed s | turns | RSS MiB | vs first sample after warm-up |")
    print("|---:|---:|---:|---:|")
    warm = samples[1][2] if len(samples) > 1 else samples[0][2]
    for elapsed, turns, rss in samples:
        print(f"| {elapsed:.0f} | {turns} | {rss:.1f} | {rss / warm:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between RSS samples")
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--fd-limit", type=int, default=256)
    parser.add_argument("--requests", type=int, default=200, help="health checks per table row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(locked_health(Path(tmp), args.requests))
        asyncio.run(stalled_fds(Path(tmp), args.stalled, args.fd_limit))
        asyncio.run(soak(Path(tmp), args.minutes, args.members, args.every))


if __name__ == "__main__":
    main()

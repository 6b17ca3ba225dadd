"""Engine throughput and its growth with the store, memory, and the terminal's first prompt.

    python -m bench.engine_turns [--sizes 1000,10000,1000000] [--turns 20000] [--runs 1]

Throughput: answered turns per second through `Coach.handle`, each in its own durable
transaction (WAL, synchronous=NORMAL, event id recorded), with N conversations in the
store, run the way `serve` runs it: WAL checkpoints in a background thread
(`SQLiteStore.checkpoint_in_background`), none inside a turn. Against a floor measured in
the same run: plain sqlite3 on the same file settings, with its own background
checkpoints, running the very statements an engine turn runs (the store's own SQL text:
claim the event, read the member with their current conversation, add the answer, save the
conversation under its version guard), with the same per-turn timestamp and the same JSON
(the trail read and written; an empty context neither). The table gives turns per second
at each size, the ratio to the floor, and the turn's time against the smallest size.

The stores are filled by bulk inserts (executemany in one transaction), not through the
engine, so a million conversations take seconds. Members are stamped as seen an hour
ahead, so no turn refreshes `last_seen` (a write the engine makes at most once a minute
per member, which a run would otherwise hit at some sizes and not at others).

Memory: peak RSS of a process that opens a store holding 1,000 or 100,000 conversations
and runs the same turns. Start-up objects are frozen (`gc.freeze()`) before each timed
loop, so the full collections a run triggers only walk what the turns themselves make.
Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import iso
from bot.engine import Coach
from bot.messages import Incoming, MemberKey
from bot.store import SQLiteStore
from bot.store.answers import ADD_ANSWER
from bot.store.member_tables import MEMBER_AND_CONVERSATION_BY_TEAM, SAVE_CONVERSATION
from bot.store.sqlite import BUSY_TIMEOUT_MS, CLAIM_EVENT

ROOT = Path(__file__).resolve().parents[1]

ANSWER = "independent bakeries and cafes in Leeds, and the hotel buyers who order weekly"
CHUNK = 50_000


def _chunks(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def populate(path: Path, conversations: int) -> None:
    """A store with one team of 10 members per 10 conversations, each at question 1."""
    SQLiteStore(path).close()
    now = datetime.now(UTC)
    stamp = iso(now)
    seen = iso(now + timedelta(hours=1))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    teams = max(1, conversations // 10)
    inserts: list[tuple[str, Callable[[int], tuple[object, ...]], int]] = [
        (
            "INSERT INTO teams (id, platform, workspace, team, lead, created_at)"
            " VALUES (?, 'console', 'bench', ?, 'u0', ?)",
            lambda t: (t + 1, f"team{t}", stamp),
            teams,
        ),
        (
            "INSERT INTO members (id, team_id, user, last_seen) VALUES (?, ?, ?, ?)",
            lambda i: (i + 1, i % teams + 1, f"u{i}", seen),
            conversations,
        ),
        (
            "INSERT INTO conversations (id, member_id, flow, state, status, trail, started_at,"
            " updated_at) VALUES (?, ?, 'coffee', 'customers', 'active', '[\"business_model\"]',"
            " ?, ?)",
            lambda i: (i + 1, i + 1, stamp, stamp),
            conversations,
        ),
        (
            "INSERT INTO answers (conversation_id, question, version, text, value, created_at)"
            " VALUES (?, 'business_model', 1, 'B2B', 'b2b', ?)",
            lambda i: (i + 1, stamp),
            conversations,
        ),
    ]
    for sql, row, count in inserts:
        for chunk in _chunks(row(i) for i in range(count)):
            conn.executemany(sql, chunk)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def member_key(n: int, conversations: int) -> MemberKey:
    """The member who answers turn n (made per turn, so the harness holds no per-member data)."""
    i = n % conversations
    return MemberKey("console", "bench", f"u{i}", f"team{i % max(1, conversations // 10)}")


@contextmanager
def frozen() -> Iterator[None]:
    """Start-up objects out of the collector's sight while a loop is timed."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class EngineTurns:
    """Turns through `Coach.handle`, on a store checkpointing in the background."""

    def __init__(self, path: Path, conversations: int) -> None:
        self.conversations = conversations
        self.store = SQLiteStore(path)
        self.halt = self.store.checkpoint_in_background()
        self.coach = Coach(self.store)

    def run(self, first: int, count: int) -> float:
        """Turns first..first+count-1; returns the seconds they took."""
        coach, conversations = self.coach, self.conversations
        start = time.perf_counter()
        for n in range(first, first + count):
            coach.handle(
                Incoming(key=member_key(n, conversations), text=f"{ANSWER} {n}", event_id=f"E{n}")
            )
        return time.perf_counter() - start

    def close(self) -> None:
        self.halt()
        self.store.close()


def background_checkpoints(conn: sqlite3.Connection, path: Path) -> Callable[[], None]:
    """What `SQLiteStore.checkpoint_in_background` does, for the floor's own connection."""
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    stop = threading.Event()

    def run() -> None:
        own = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        own.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        while not stop.wait(1.0):
            own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        own.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join()

    return halt


ORDER = ["customers", "value", "experience", "pathway", "networks", "owners", "sustain"]


class FloorTurns:
    """An engine turn's statements, in plain sqlite3, with no engine."""

    def __init__(self, path: Path, conversations: int) -> None:
        self.conversations = conversations
        self.conn = conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        self.halt = background_checkpoints(conn, path)

    def run(self, first: int, count: int) -> float:
        conn, conversations = self.conn, self.conversations
        start = time.perf_counter()
        for n in range(first, first + count):
            key = member_key(n, conversations)
            now = iso(datetime.now(UTC))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(CLAIM_EVENT, (key.platform, key.workspace, f"E{n}", now, ""))
            row = conn.execute(
                MEMBER_AND_CONVERSATION_BY_TEAM, (key.platform, key.workspace, key.team, key.user)
            ).fetchone()
            conv_id, state, version, trail = row[14], row[17], row[19], json.loads(row[20])
            conn.execute(
                ADD_ANSWER, (conv_id, state, f"{ANSWER} {n}", None, 0, None, now)
            ).fetchone()
            trail.append(state)
            following = ORDER[(ORDER.index(state) + 1) % len(ORDER)]
            conn.execute(
                SAVE_CONVERSATION,
                (following, "active", json.dumps(trail), None, 0, "{}", now, conv_id, version),
            )
            conn.execute("COMMIT")
        return time.perf_counter() - start

    def close(self) -> None:
        self.halt()
        self.conn.close()


BLOCK = 1_000


def side_by_side(base: Path, conversations: int, turns: int) -> tuple[float, float]:
    """(floor, engine) turns per second, each on its own copy of `base`.

    The two take turns in blocks of 1,000 turns, so a neighbour's load on this shared
    machine slows both alike instead of whichever happened to be running.
    """
    copies = []
    for name in ("floor", "engine"):
        copy = base.with_name(f"{name}-{base.name}")
        shutil.copy(base, copy)
        copies.append(copy)
    runners: tuple[FloorTurns | EngineTurns, ...] = (
        FloorTurns(copies[0], conversations),
        EngineTurns(copies[1], conversations),
    )
    spent = [0.0, 0.0]
    with frozen():
        for first in range(0, turns, BLOCK):
            for side, runner in enumerate(runners):
                spent[side] += runner.run(first, min(BLOCK, turns - first))
    for runner in runners:
        runner.close()
    for copy in copies:
        for leftover in copy.parent.glob(copy.name + "*"):
            leftover.unlink()
    return turns / spent[0], turns / spent[1]


def engine_turns(path: Path, conversations: int, turns: int) -> float:
    runner = EngineTurns(path, conversations)
    with frozen():
        rate = turns / runner.run(0, turns)
    runner.close()
    return rate


def peak_rss_child(conversations: int, turns: int, workdir: Path) -> float:
    """Peak RSS (MiB) of a fresh process that opens the store and runs the turns."""
    path = workdir / f"mem{conversations}.db"
    populate(path, conversations)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent.
    code = (
        "import sys; from bench.engine_turns import engine_turns; from pathlib import Path;"
        " engine_turns(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]));"
        " print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(conversations), str(turns)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def first_prompt_seconds(workdir: Path, runs: int = 5) -> list[float]:
    """From process start to the first prompt on stdout, for `coffee-coach chat`."""
    times = []
    for n in range(runs):
        db = workdir / f"first{n}.db"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--db", str(db), "chat", "--team", "t"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert proc.stdout is not None and proc.stdin is not None
        while "B2B" not in proc.stdout.readline():
            pass
        times.append(time.perf_counter() - start)
        proc.stdin.close()
        proc.wait()
    return times


def sizes_arg(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",")]


def throughput(workdir: Path, sizes: list[int], turns: int) -> dict[int, tuple[float, float]]:
    """(floor, engine) turns per second at each size."""
    rates: dict[int, tuple[float, float]] = {}
    for size in sizes:
        base = workdir / f"base{size}.db"
        started = time.perf_counter()
        populate(base, size)
        print(f"  {size:,} conversations stored in {time.perf_counter() - started:.1f} s")
        rates[size] = side_by_side(base, size, turns)
        base.unlink()
    return rates


def throughput_table(rates: dict[int, tuple[float, float]], turns: int) -> None:
    smallest = min(rates)
    print(f"\nTurns per second, {turns:,} turns, background checkpoints (as `serve` runs)")
    print(
        f"{'conversations':>14} {'floor/s':>9} {'engine/s':>9} {'of floor':>9}"
        f" {'engine turn us':>15} {'vs ' + format(smallest, ','):>12}"
    )
    for size, (floor, engine) in rates.items():
        growth = rates[smallest][1] / engine
        print(
            f"{size:>14,} {floor:>9,.0f} {engine:>9,.0f} {engine / floor:>8.0%}"
            f" {1e6 / engine:>15.1f} {growth:>11.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=sizes_arg,
        default=[1_000, 10_000, 1_000_000],
        help="conversations stored, comma-separated (default 1000,10000,1000000)",
    )
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1, help="throughput runs (median shown)")
    parser.add_argument("--no-extras", action="store_true", help="throughput only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = [throughput(workdir, args.sizes, args.turns) for _ in range(args.runs)]
        for n, rates in enumerate(runs, start=1):
            if args.runs > 1:
                print(f"\nrun {n}")
            throughput_table(rates, args.turns)
        if args.runs > 1:
            # Each run's ratios against its own floor; the median of those.
            print(f"\nmedian of {args.runs} runs")
            print(f"{'conversations':>14} {'of floor':>9} {'vs smallest':>12}")
            smallest = min(args.sizes)
            for size in args.sizes:
                share = statistics.median(r[size][1] / r[size][0] for r in runs)
                growth = statistics.median(r[smallest][1] / r[size][1] for r in runs)
                print(f"{size:>14,} {share:>8.0%} {growth:>11.2f}x")
        if args.no_extras:
            return

        print("\nPeak RSS while running 5,000 turns")
        print(f"{'conversations stored':>22} {'peak RSS MiB':>13}")
        for size in (1_000, 100_000):
            print(f"{size:>22,} {peak_rss_child(size, 5_000, workdir):>13.1f}")

        times = first_prompt_seconds(workdir)
        print("\nTime to the first prompt of `coffee-coach chat` (5 runs)")
        print(f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"\n(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()

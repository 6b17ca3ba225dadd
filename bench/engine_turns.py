"""Engine throughput and its growth with the store, memory, and the terminal's first prompt.

    python -m bench.engine_turns [--sizes 1000,10000,1000000] [--turns 20000] [--runs 1]
        [--no-postgres] [--no-extras]

Throughput: answered turns per second through `Coach.handle`, each in its own durable
transaction (WAL, synchronous=NORMAL, event id recorded), with N conversations in the
store, run the way `serve` runs it: WAL checkpoints in a background thread
(`SQLiteStore.checkpoint_in_background`), none inside a turn. Against a floor measured in
the same run: plain sqlite3 on the same file and connection settings (the store's PRAGMAs),
with its own background checkpoints, running the very statements an engine turn runs (the
store's own SQL text: claim the event, read the member with their current conversation in
the workspace, add the answer, save the conversation under its version guard), with the
same per-turn timestamp and the same JSON (the trail read and written; an empty context
neither). The table gives turns per second at each size, the ratio to the floor, and the
turn's time against the smallest size.
Each member answers at most the nine typed questions in a run (fewer turns with fewer
conversations), so every turn, at every size, stores a typed answer and moves on. Each
block's messages (and the floor's keys, event ids and texts) are made before its clock
starts: building a message is the door's work, not the engine's.

The stores are filled by bulk inserts (executemany in one transaction), not through the
engine, so a million conversations take seconds. Members are stamped as seen an hour
ahead, so no turn refreshes `last_seen` (a write the engine makes at most once a minute
per member, which a run would otherwise hit at some sizes and not at others).

Memory: peak RSS of a process that opens a store holding 1,000 or 100,000 conversations
and runs the same turns. Start-up objects are frozen (`gc.freeze()`) before each timed
loop, so the full collections a run triggers only walk what the turns themselves make.
The same engine on PostgreSQL (the tests' embedded server, the rows copied in by
`coffee-coach migrate`) against its own plain-psycopg floor, at 10,000 conversations,
unless `--no-postgres`. Prints tables; asserts nothing.
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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import iso
from bot.engine import Coach
from bot.messages import Incoming, MemberKey
from bot.store import SQLiteStore, Store
from bot.store.answers import ADD_ANSWER
from bot.store.checkpoints import checkpoint_in_background
from bot.store.common import CLAIM_EVENT
from bot.store.member_tables import MEMBER_AND_CONVERSATION_BY_WORKSPACE, SAVE_CONVERSATION
from bot.store.sqlite import BUSY_TIMEOUT_MS

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
    """The member who answers turn n (made for each block of turns, so the harness holds no
    per-member data)."""
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


@dataclass(frozen=True, slots=True)
class Spent:
    """Wall-clock seconds, and the CPU seconds of the thread running the turns.

    On this shared machine a neighbour's load stretches the wall clock far more than the
    CPU time a turn needs, so the ratios are given on both.
    """

    wall: float = 0.0
    cpu: float = 0.0

    @staticmethod
    def now() -> Spent:
        return Spent(time.perf_counter(), time.thread_time())

    def __sub__(self, other: Spent) -> Spent:
        return Spent(self.wall - other.wall, self.cpu - other.cpu)

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.wall + other.wall, self.cpu + other.cpu)


class EngineTurns:
    """Turns through `Coach.handle`, on a store checkpointing in the background."""

    def __init__(self, path: Path, conversations: int) -> None:
        self.conversations = conversations
        self.store = SQLiteStore(path)
        self.halt = self.store.checkpoint_in_background()
        self.coach = Coach(self.store)

    def run(self, first: int, count: int) -> Spent:
        """Turns first..first+count-1; the seconds they took."""
        coach, conversations = self.coach, self.conversations
        # Made before the clock starts: a message is the door's work, not the engine's.
        messages = [
            Incoming(key=member_key(n, conversations), text=f"{ANSWER} {n}", event_id=f"E{n}")
            for n in range(first, first + count)
        ]
        start = Spent.now()
        for msg in messages:
            coach.handle(msg)
        return Spent.now() - start

    def close(self) -> None:
        self.halt()
        self.store.close()


# The interview's typed questions, then the first stage-check question they lead to. A
# member answers at most these nine in a run (see `turns_at`), so every turn of the floor
# and of the engine stores a typed answer and moves on.
ORDER = [
    *("customers", "value", "experience", "pathway", "networks", "owners", "sustain"),
    *("growth", "success", "sc_posts"),
]
TYPED = len(ORDER) - 1


def turns_at(conversations: int, turns: int) -> int:
    """The turns run with N conversations stored: at most nine per member."""
    return min(turns, TYPED * conversations)


def _select_columns(sql: str) -> list[str]:
    """The names a SELECT lists before its first FROM, as written ("c.id")."""
    listed = sql.removeprefix("SELECT ").split(" FROM ", 1)[0]
    return [name.strip() for name in listed.split(",")]


# Where the member query puts what the floor reads, found by name so that a column added to
# the store's query moves them with it.
_COLUMNS = _select_columns(MEMBER_AND_CONVERSATION_BY_WORKSPACE)
CONV_ID, STATE, VERSION, TRAIL = (
    _COLUMNS.index(c) for c in ("c.id", "c.state", "c.version", "c.trail")
)


class FloorTurns:
    """An engine turn's statements, in plain sqlite3, with no engine, on a connection set up
    with the PRAGMAs the store sets on its own (`secure_delete` included: it is part of
    what a write costs)."""

    def __init__(self, path: Path, conversations: int) -> None:
        self.conversations = conversations
        self.conn = conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA secure_delete = ON")
        # The store's own background checkpoints (`bot.store.checkpoints`), on this
        # connection.
        self.halt = checkpoint_in_background(str(path), conn, busy_timeout_ms=BUSY_TIMEOUT_MS)

    def run(self, first: int, count: int) -> Spent:
        conn, conversations = self.conn, self.conversations
        # What the engine's messages carry, made before the clock starts as theirs are.
        messages = [
            (member_key(n, conversations), f"E{n}", f"{ANSWER} {n}")
            for n in range(first, first + count)
        ]
        start = Spent.now()
        for key, event_id, text in messages:
            now = iso(datetime.now(UTC))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(CLAIM_EVENT, (key.platform, key.workspace, event_id, now, key.user, ""))
            row = conn.execute(
                MEMBER_AND_CONVERSATION_BY_WORKSPACE, (key.platform, key.workspace, key.user)
            ).fetchone()
            conv_id, state, version = row[CONV_ID], row[STATE], row[VERSION]
            trail = json.loads(row[TRAIL])
            conn.execute(
                ADD_ANSWER, (conv_id, state, text, None, 0, None, now, conv_id, state)
            ).fetchone()
            trail.append(state)
            following = ORDER[ORDER.index(state) + 1]
            conn.execute(
                SAVE_CONVERSATION,
                (following, "active", json.dumps(trail), None, 0, "{}", now, conv_id, version),
            )
            conn.execute("COMMIT")
        return Spent.now() - start

    def close(self) -> None:
        self.halt()
        self.conn.close()


BLOCK = 1_000


@dataclass(frozen=True, slots=True)
class Rates:
    turns: int
    floor: Spent
    engine: Spent

    def share(self, clock: str) -> float:
        """The engine's speed as a share of the floor's, on the wall clock or on CPU time."""
        share: float = getattr(self.floor, clock) / getattr(self.engine, clock)
        return share

    def turn_us(self, clock: str) -> float:
        turn: float = getattr(self.engine, clock) / self.turns * 1e6
        return turn


def interleaved(workdir: Path, sizes: list[int], turns: int) -> dict[int, Rates]:
    """The floor's and the engine's time at each size, each on its own copy of its store.

    Every runner (the floor and the engine at every size) takes its turn in blocks of
    1,000 turns, round after round, so a neighbour's load on this shared machine slows all
    of them alike instead of whichever happened to be running: the ratios between them
    (engine to floor, one size to another) are the figures to read.
    """
    runners: list[tuple[int, int, FloorTurns | EngineTurns]] = []
    for size in sizes:
        base = workdir / f"base{size}.db"
        started = time.perf_counter()
        populate(base, size)
        print(f"  {size:,} conversations stored in {time.perf_counter() - started:.1f} s")
        kinds: tuple[type[FloorTurns] | type[EngineTurns], ...] = (FloorTurns, EngineTurns)
        for side, kind in enumerate(kinds):
            copy = workdir / f"{kind.__name__}{size}.db"
            shutil.copy(base, copy)
            runners.append((size, side, kind(copy, size)))
        base.unlink()
    spent: dict[tuple[int, int], Spent] = {}
    with frozen():
        for first in range(0, turns, BLOCK):
            for size, side, runner in runners:
                count = min(BLOCK, turns_at(size, turns) - first)
                if count > 0:
                    spent[size, side] = spent.get((size, side), Spent()) + runner.run(first, count)
    for _, _, runner in runners:
        runner.close()
    for leftover in workdir.glob("*Turns*.db*"):
        leftover.unlink()
    return {size: Rates(turns_at(size, turns), spent[size, 0], spent[size, 1]) for size in sizes}


def engine_turns(path: Path, conversations: int, turns: int) -> float:
    runner = EngineTurns(path, conversations)
    with frozen():
        rate = turns / runner.run(0, turns).wall
    runner.close()
    return rate


# --- PostgreSQL, beside SQLite (its own floor, as it was written for it) --------------


def coach_turns(store: Store, conversations: int, turns: int) -> float:
    coach = Coach(store)
    start = time.perf_counter()
    for n in range(turns):
        coach.handle(
            Incoming(key=member_key(n, conversations), text=f"{ANSWER} {n}", event_id=f"E{n}")
        )
    elapsed = time.perf_counter() - start
    coach.store.close()
    return turns / elapsed


def postgres_floor_turns(url: str, conversations: int, turns: int) -> float:
    """The statements of an engine turn as first written for PostgreSQL (a `max(id)` member
    query, the member's row lock), in plain psycopg on one connection."""
    import psycopg  # only for this comparison: the memory figures' child never loads it

    order = ["customers", "value", "experience", "pathway", "networks", "owners", "sustain"]
    now = datetime.now(UTC).isoformat()
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for n in range(turns):
            key = member_key(n, conversations)
            with conn.transaction():
                conn.execute(
                    "INSERT INTO events (platform, workspace, event_id, seen_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (key.platform, key.workspace, f"E{n}", now),
                )
                conn.execute(
                    "SELECT m.id FROM members m JOIN teams t ON t.id = m.team_id"
                    ' WHERE t.platform = %s AND t.workspace = %s AND m."user" = %s'
                    " AND t.team = %s ORDER BY m.id FOR UPDATE OF m",
                    (key.platform, key.workspace, key.user, key.team),
                )
                row = conn.execute(
                    "SELECT c.id, c.state, c.version, c.trail FROM members m"
                    " JOIN teams t ON t.id = m.team_id LEFT JOIN conversations c"
                    " ON c.id = (SELECT max(id) FROM conversations WHERE member_id = m.id)"
                    ' WHERE t.platform = %s AND t.workspace = %s AND t.team = %s AND m."user" = %s',
                    (key.platform, key.workspace, key.team, key.user),
                ).fetchone()
                assert row is not None
                conv_id, state, version, trail = row
                conn.execute(
                    "INSERT INTO answers (conversation_id, question, version, text, created_at)"
                    " SELECT %s, %s, coalesce(max(version), 0) + 1, %s, %s FROM answers"
                    " WHERE conversation_id = %s AND question = %s RETURNING version",
                    (conv_id, state, f"{ANSWER} {n}", now, conv_id, state),
                ).fetchone()
                following = order[(order.index(state) + 1) % len(order)]
                conn.execute(
                    "UPDATE conversations SET state = %s, trail = %s, updated_at = %s,"
                    " version = version + 1 WHERE id = %s AND version = %s",
                    (following, json.dumps([*json.loads(trail), state]), now, conv_id, version),
                )
        elapsed = time.perf_counter() - start
    return turns / elapsed


def postgres_rows(base: Path, conversations: int, turns: int) -> list[tuple[str, float]]:
    """Floor and engine on PostgreSQL, each on its own copy of the same rows."""
    from bot.store.copying import copy_to_postgres
    from bot.store.postgres import PostgresStore
    from tests.postgres_server import PostgresServer

    server = PostgresServer.start()
    try:
        floor_url = server.create_database("bench_floor")
        engine_url = server.create_database("bench_engine")
        for url in (floor_url, engine_url):
            copy_to_postgres(base, url)
        return [
            ("floor: plain psycopg", postgres_floor_turns(floor_url, conversations, turns)),
            ("coach engine", coach_turns(PostgresStore(engine_url), conversations, turns)),
        ]
    finally:
        server.stop()


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


def throughput_table(rates: dict[int, Rates]) -> None:
    smallest = min(rates)
    print("\nTurns per second, background checkpoints (as `serve` runs); wall clock and CPU")
    print(
        f"{'conversations':>14} {'turns':>7} {'floor/s':>8} {'engine/s':>9}"
        f" {'of floor':>9} {'(CPU)':>6} {'turn us':>8} {'(CPU)':>6}"
        f" {'vs ' + format(smallest, ','):>9} {'(CPU)':>6}"
    )
    for size, r in rates.items():
        print(
            f"{size:>14,} {r.turns:>7,} {r.turns / r.floor.wall:>8,.0f}"
            f" {r.turns / r.engine.wall:>9,.0f} {r.share('wall'):>8.0%} {r.share('cpu'):>6.0%}"
            f" {r.turn_us('wall'):>8.1f} {r.turn_us('cpu'):>6.1f}"
            f" {r.turn_us('wall') / rates[smallest].turn_us('wall'):>8.2f}x"
            f" {r.turn_us('cpu') / rates[smallest].turn_us('cpu'):>5.2f}x"
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
    parser.add_argument("--no-extras", "--turns-only", action="store_true", help="throughput only")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs = [interleaved(workdir, args.sizes, args.turns) for _ in range(args.runs)]
        for n, rates in enumerate(runs, start=1):
            if args.runs > 1:
                print(f"\nrun {n}")
            throughput_table(rates)
        if args.runs > 1:
            # Each run's ratios against its own floor and its own smallest size; their median.
            smallest = min(args.sizes)
            print(f"\nmedian of {args.runs} runs (wall clock / CPU)")
            print(f"{'conversations':>14} {'of floor':>14} {'vs ' + format(smallest, ','):>14}")
            for size in args.sizes:
                shares = [
                    statistics.median(r[size].share(clock) for r in runs)
                    for clock in ("wall", "cpu")
                ]
                growth = [
                    statistics.median(
                        r[size].turn_us(clock) / r[smallest].turn_us(clock) for r in runs
                    )
                    for clock in ("wall", "cpu")
                ]
                print(
                    f"{size:>14,} {shares[0]:>6.0%} / {shares[1]:>4.0%}"
                    f" {growth[0]:>7.2f}x / {growth[1]:.2f}x"
                )
        if not args.no_postgres:
            size = 10_000
            base = workdir / "postgres-base.db"
            populate(base, size)
            turns = turns_at(size, args.turns)
            print(f"\nPostgreSQL, {size:,} conversations stored, {turns:,} turns")
            print(f"{'':24} {'turns/s':>10} {'of floor':>9}")
            measured = postgres_rows(base, size, turns)
            for name, rate in measured:
                print(f"{name:24} {rate:>10,.0f} {rate / measured[0][1]:>8.0%}")
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

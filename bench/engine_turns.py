"""Engine throughput, memory against store size, and time to the terminal's first prompt.

    python -m bench.engine_turns [--conversations 10000] [--turns 20000] [--no-postgres]

Throughput: answered turns per second through `Coach.handle`, each in its own durable
transaction (WAL, synchronous=NORMAL, event id recorded), with N conversations in the
store; against a floor measured in the same run: plain sqlite3 doing the same reads and
writes per turn with no engine. The same on PostgreSQL (the tests' embedded server,
tests/postgres_server.py, on 127.0.0.1 over TCP, the same rows copied in by
`coffee-coach migrate`), against its own floor: plain psycopg doing the same statements
on one connection, with the member's row lock the PostgreSQL store takes. Memory: peak
RSS of a process that opens a store holding 1,000 or 100,000 conversations and runs the
same turns. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bot.engine import Coach
from bot.messages import Incoming, MemberKey
from bot.store import SQLiteStore, Store
from bot.store.copying import copy_to_postgres
from bot.store.postgres import PostgresStore
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]

ANSWER = "independent bakeries and cafes in Leeds, and the hotel buyers who order weekly"


def populate(path: Path, conversations: int) -> None:
    """A store with one team of 10 members per 10 conversations, each at question 1."""
    SQLiteStore(path).close()
    now = datetime.now(UTC).isoformat()
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    teams = max(1, conversations // 10)
    conn.executemany(
        "INSERT INTO teams (id, platform, workspace, team, lead, created_at)"
        " VALUES (?, 'console', 'bench', ?, 'u0', ?)",
        [(t + 1, f"team{t}", now) for t in range(teams)],
    )
    conn.executemany(
        "INSERT INTO members (id, team_id, user, last_seen) VALUES (?, ?, ?, ?)",
        [(i + 1, i % teams + 1, f"u{i}", now) for i in range(conversations)],
    )
    conn.executemany(
        "INSERT INTO conversations (id, member_id, flow, state, status, trail, started_at,"
        " updated_at) VALUES (?, ?, 'coffee', 'customers', 'active', '[\"business_model\"]', ?, ?)",
        [(i + 1, i + 1, now, now) for i in range(conversations)],
    )
    conn.executemany(
        "INSERT INTO answers (conversation_id, question, version, text, value, created_at)"
        " VALUES (?, 'business_model', 1, 'B2B', 'b2b', ?)",
        [(i + 1, now) for i in range(conversations)],
    )
    conn.execute("COMMIT")
    conn.close()


def member_key(n: int, conversations: int) -> MemberKey:
    """The member who answers turn n (made per turn, so the harness holds no per-member data)."""
    i = n % conversations
    return MemberKey("console", "bench", f"u{i}", f"team{i % max(1, conversations // 10)}")


def engine_turns(path: Path, conversations: int, turns: int) -> float:
    return coach_turns(SQLiteStore(path), conversations, turns)


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


def floor_turns(path: Path, conversations: int, turns: int) -> float:
    """The same reads and writes as an engine turn, in plain sqlite3, with no engine."""
    order = ["customers", "value", "experience", "pathway", "networks", "owners", "sustain"]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    now = datetime.now(UTC).isoformat()
    start = time.perf_counter()
    for n in range(turns):
        key = member_key(n, conversations)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT OR IGNORE INTO events (platform, workspace, event_id, seen_at)"
            " VALUES (?, ?, ?, ?)",
            (key.platform, key.workspace, f"E{n}", now),
        )
        conv_id, state, version, trail = conn.execute(
            "SELECT c.id, c.state, c.version, c.trail FROM members m"
            " JOIN teams t ON t.id = m.team_id LEFT JOIN conversations c"
            " ON c.id = (SELECT max(id) FROM conversations WHERE member_id = m.id)"
            " WHERE t.platform = ? AND t.workspace = ? AND t.team = ? AND m.user = ?",
            (key.platform, key.workspace, key.team, key.user),
        ).fetchone()
        conn.execute(
            "INSERT INTO answers (conversation_id, question, version, text, created_at)"
            " SELECT ?1, ?2, coalesce(max(version), 0) + 1, ?3, ?4 FROM answers"
            " WHERE conversation_id = ?1 AND question = ?2 RETURNING version",
            (conv_id, state, f"{ANSWER} {n}", now),
        ).fetchone()
        following = order[(order.index(state) + 1) % len(order)]
        conn.execute(
            "UPDATE conversations SET state = ?, trail = ?, updated_at = ?, version = version + 1"
            " WHERE id = ? AND version = ?",
            (following, json.dumps([*json.loads(trail), state]), now, conv_id, version),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return turns / elapsed


def postgres_floor_turns(url: str, conversations: int, turns: int) -> float:
    """The same statements as `floor_turns`, in plain psycopg on one connection."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--turns-only", action="store_true", help="skip memory and start-up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = workdir / "base.db"
        populate(base, args.conversations)
        rows = []
        for name, runner in (("floor: plain sqlite3", floor_turns), ("coach engine", engine_turns)):
            copy = workdir / f"{name.split(':')[0].replace(' ', '_')}.db"
            shutil.copy(base, copy)
            rows.append((name, runner(copy, args.conversations, args.turns)))
        backends = [("SQLite", rows)]
        if not args.no_postgres:
            backends.append(("PostgreSQL", postgres_rows(base, args.conversations, args.turns)))
        print(
            f"\nTurns per second, {args.conversations:,} conversations stored, {args.turns:,} turns"
        )
        print(f"{'':12} {'':24} {'turns/s':>10} {'of floor':>9}")
        for backend, measured in backends:
            floor = measured[0][1]
            for name, rate in measured:
                print(f"{backend:12} {name:24} {rate:>10,.0f} {rate / floor:>8.0%}")
        if args.turns_only:
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

"""Finding what is due on PostgreSQL, as the store grows: an index seek, not a scan.

    python -m bench.due_scan [--teams 100000] [--members 10]

The same stores as `bench.scheduler`'s first table (teams of 10 members who finished the
interview, 100 teams due, the rest due later; at the largest size 100,000 pending
deliveries not yet due), built in SQLite and copied into a fresh PostgreSQL database at
each size by `coffee-coach migrate`'s copy, on the tests' embedded server
(tests/postgres_server.py). For each size: the median time of the two reads a scheduler
pass starts with (due schedules, due deliveries) and of the next-wake lookup, on both
backends in the same run, and PostgreSQL's plan for the two reads. Prints tables;
asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg

from bench.scheduler import (
    MONDAY,
    add_future_deliveries,
    due_sets,
    find_due,
    populate,
    table,
)
from bot.clock import ManualClock, iso
from bot.store import SQLiteStore
from bot.store.copying import copy_to_postgres
from bot.store.postgres import PostgresStore
from tests.postgres_server import PostgresServer

# The two reads of `find_due`, as the PostgreSQL store sends them.
PLANS = {
    "due schedules": "SELECT team_id FROM schedules WHERE next_due IS NOT NULL"
    " AND next_due <= %s ORDER BY next_due LIMIT 100 FOR UPDATE SKIP LOCKED",
    "due deliveries": "SELECT id FROM deliveries WHERE status = 'pending' AND due_at <= %s"
    " ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED",
}


def plan(url: str, query: str) -> str:
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")
        rows = conn.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, BUFFERS OFF, SUMMARY OFF) " + query,
            (iso(MONDAY),),
        ).fetchall()
    return "\n".join("    " + row[0] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10)
    args = parser.parse_args()
    sets = due_sets(100, args.members)
    sizes = [s for s in (1_000, 10_000) if s < args.teams] + [args.teams]
    server = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            clock = ManualClock(MONDAY - timedelta(days=10))
            SQLiteStore(path, clock=clock).close()
            rows: list[list[object]] = []
            plans: list[str] = []
            done = 0
            for size in sizes:
                populate(path, done + 1, size, args.members, sets)
                pending = 0
                if size == sizes[-1]:
                    pending = 100_000
                    add_future_deliveries(path, pending, args.members, size)
                done = size
                url = server.create_database(f"due_{size}")
                start = time.perf_counter()
                copy_to_postgres(path, url)
                copied = time.perf_counter() - start
                sqlite = SQLiteStore(path, clock=clock)
                lite_find, lite_wake, _ = find_due(sqlite, MONDAY)
                sqlite.close()
                pg = PostgresStore(url, clock=clock)
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("ANALYZE")
                pg_find, pg_wake, found = find_due(pg, MONDAY)
                pg.close()
                rows.append(
                    [
                        f"{size:,}",
                        f"{pending:,}",
                        found,
                        f"{lite_find:.3f}",
                        f"{pg_find:.3f}",
                        f"{lite_wake:.3f}",
                        f"{pg_wake:.3f}",
                        f"{copied:.1f}",
                    ]
                )
                if size == sizes[-1]:
                    plans = [f"  {name}:\n{plan(url, q)}" for name, q in PLANS.items()]
        table(
            f"Finding what is due (median of 50; 100 teams due; {args.members} members a team)",
            [
                "teams",
                "pending, not due",
                "teams due",
                "SQLite due ms",
                "PostgreSQL due ms",
                "SQLite wake ms",
                "PostgreSQL wake ms",
                "copied in s",
            ],
            rows,
        )
        print(f"\nPostgreSQL's plans at {sizes[-1]:,} teams:")
        print("\n".join(plans))
    finally:
        server.stop()


if __name__ == "__main__":
    main()

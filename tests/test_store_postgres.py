"""The PostgreSQL store's own behaviour: its schema, and its guarantees under concurrency.

The contract suite (tests/test_store_contract.py) already runs every store assertion on
PostgreSQL; these tests add what only a shared server makes possible: several threads
and several processes at once, on one real database from tests/postgres_server.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import psycopg
import pytest

from bot.clock import ManualClock
from bot.engine import Coach
from bot.messages import Incoming, MemberKey, Turn
from bot.store import CHECKIN, SCHEMA_VERSION, StoreError, open_store
from bot.store.postgres import PostgresStore

ANN = MemberKey("slack", "T1", "U_ANN", "C_MKT")
T = TypeVar("T")


@pytest.fixture
def pg(postgres_db_url: str, clock: ManualClock) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_db_url, clock=clock, pool_size=8, timeout_s=10)
    yield store
    store.close()


def at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(0..count-1)` on as many threads, released together."""
    start = threading.Barrier(count)

    def run(index: int) -> T:
        start.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


# --- schema ------------------------------------------------------------------------------


def test_postgres_schema_is_migrated_to_the_current_version(
    pg: PostgresStore, postgres_db_url: str
) -> None:
    assert pg.schema_version == SCHEMA_VERSION
    reopened = PostgresStore(postgres_db_url)
    assert reopened.schema_version == SCHEMA_VERSION
    reopened.close()


def test_postgres_refuses_a_newer_schema_and_leaves_it_alone(postgres_db_url: str) -> None:
    PostgresStore(postgres_db_url).close()
    with psycopg.connect(postgres_db_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"newer than this Coffee Coach knows"):
        PostgresStore(postgres_db_url)
    with psycopg.connect(postgres_db_url) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert row == ("99",)


def test_postgres_refuses_a_database_of_another_program(postgres_db_url: str) -> None:
    with psycopg.connect(postgres_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreError, match=r"database of something else \(tables: invoices\)"):
        PostgresStore(postgres_db_url)


def test_postgres_processes_starting_at_once_migrate_the_schema_once(postgres_db_url: str) -> None:
    script = (
        "import sys; from bot.store.postgres import PostgresStore;"
        " PostgresStore(sys.argv[1]).close()"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", script, postgres_db_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [proc.communicate(timeout=120)[1].decode() for proc in starts]
    assert [proc.returncode for proc in starts] == [0, 0, 0, 0], errors
    with psycopg.connect(postgres_db_url) as conn:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    assert rows == [("schema_version", str(SCHEMA_VERSION))]


def test_postgres_url_opens_the_postgres_store_and_its_path_hides_the_password(
    postgres_db_url: str,
) -> None:
    store = open_store(postgres_db_url)
    try:
        assert isinstance(store, PostgresStore)
        password = psycopg.conninfo.conninfo_to_dict(postgres_db_url)["password"]
        assert isinstance(password, str) and password not in store.path
        assert store.path.startswith("postgresql://coach:***@127.0.0.1:")
    finally:
        store.close()


def test_postgres_pool_size_comes_from_the_environment_and_is_the_concurrency(
    postgres_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COFFEE_COACH_PG_POOL", "7")
    store = open_store(postgres_db_url)
    try:
        assert isinstance(store, PostgresStore) and store.concurrency == 7
    finally:
        store.close()
    monkeypatch.setenv("COFFEE_COACH_PG_POOL", "lots")
    with pytest.raises(StoreError, match=r"COFFEE_COACH_PG_POOL must be a number"):
        open_store(postgres_db_url)


def test_postgres_text_compares_bytewise_like_sqlite(pg: PostgresStore) -> None:
    # Stored times compare as text: the server's locale must not reorder them.
    team = pg.ensure_member(ANN).team
    with pg.transaction():
        for name in ("b", "B", "a", "_a"):
            pg.enqueue(
                key=f"k:{name}", kind=CHECKIN, team_id=team.id, member_id=None, due=pg.moment()
            )
    rows = pg._conn.execute("SELECT key FROM deliveries ORDER BY key").fetchall()
    assert [row[0] for row in rows] == ["k:B", "k:_a", "k:a", "k:b"]


# --- concurrency --------------------------------------------------------------------------


def test_postgres_an_event_id_claimed_from_many_threads_at_once_is_claimed_once(
    pg: PostgresStore,
) -> None:
    def claim(_: int) -> bool:
        with pg.transaction():
            return pg.claim_event("slack", "T1", "Ev-same")

    assert sorted(at_once(8, claim)) == [False] * 7 + [True]


def test_postgres_the_version_guard_lets_one_of_many_concurrent_saves_through(
    pg: PostgresStore,
) -> None:
    member = pg.ensure_member(ANN)
    with pg.transaction():
        pg.start_conversation(member.id, flow="coffee", state="customers")
    copies = [pg.conversation(member.id) for _ in range(6)]

    def save(index: int) -> bool:
        conv = copies[index]
        assert conv is not None
        conv.state = f"state-{index}"
        with pg.transaction():
            return pg.save_conversation(conv)

    saved = at_once(6, save)
    assert saved.count(True) == 1
    stored = pg.conversation(member.id)
    assert stored is not None and stored.version == 1
    assert stored.state == f"state-{saved.index(True)}"


def test_postgres_two_schedulers_claiming_at_once_never_claim_one_delivery_twice(
    pg: PostgresStore, clock: ManualClock
) -> None:
    member = pg.ensure_member(ANN)
    with pg.transaction():
        for n in range(40):
            pg.enqueue(
                key=f"checkin:{n}",
                kind=CHECKIN,
                team_id=member.team.id,
                member_id=member.id,
                due=clock.now() - timedelta(minutes=1),
            )

    def scheduler(index: int) -> list[int]:
        claimed: list[int] = []
        while True:
            with pg.transaction():
                due = pg.due_deliveries(clock.now(), 5)
                if not due:
                    return claimed
                for delivery in due:
                    if pg.claim_delivery(delivery.id, worker=f"w{index}", payload="{}"):
                        claimed.append(delivery.id)

    first, second = at_once(2, scheduler)
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40
    rows = pg._conn.execute("SELECT attempts, count(*) FROM deliveries GROUP BY attempts")
    assert rows.fetchall() == [(1, 40)]


def test_postgres_a_scheduler_skips_the_deliveries_another_holds_instead_of_waiting(
    postgres_db_url: str, clock: ManualClock
) -> None:
    # With a short lock timeout, a claimer that waited for the held rows would fail.
    pg = PostgresStore(postgres_db_url, clock=clock, timeout_s=0.5)
    try:
        member = pg.ensure_member(ANN)
        with pg.transaction():
            for n in range(3):
                pg.enqueue(
                    key=f"checkin:{n}",
                    kind=CHECKIN,
                    team_id=member.team.id,
                    member_id=member.id,
                    due=clock.now(),
                )
        holding, release = threading.Event(), threading.Event()
        held: list[int] = []

        def first() -> None:
            with pg.transaction():
                held.extend(d.id for d in pg.due_deliveries(clock.now(), 2))
                holding.set()
                release.wait(30)

        thread = threading.Thread(target=first)
        thread.start()
        assert holding.wait(30)
        try:
            with pg.transaction():
                seen = [d.id for d in pg.due_deliveries(clock.now(), 10)]
                taken = [i for i in held if pg.claim_delivery(i, worker="w2", payload="{}")]
        finally:
            release.set()
            thread.join()
        assert len(held) == 2 and seen and not set(seen) & set(held)
        assert taken == []
    finally:
        pg.close()


def test_postgres_one_members_messages_on_many_threads_are_each_stored_once(
    pg: PostgresStore,
) -> None:
    """Servers given one member's messages at once take them one after the other, as
    SQLite would: each is stored exactly once, none is lost to a crossing."""
    coach = Coach(pg)
    key = MemberKey("slack", "T1", "U_ANN", "C_MKT")
    coach.handle(Incoming(key=key, text="start", event_id="Ev-start"))
    coach.handle(Incoming(key=key, text="1", event_id="Ev-b2b"))
    words = [f"customers of kind {n} in town" for n in range(6)]

    def say(i: int) -> Turn:
        return coach.handle(Incoming(key=key, text=words[i], event_id=f"Ev-{i}"))

    turns = at_once(len(words), say)
    again = at_once(len(words), say)
    assert all(turn.duplicate for turn in again)
    assert not any(turn.duplicate or turn.stale for turn in turns)
    rows = pg._conn.execute(
        "SELECT a.text FROM answers a JOIN conversations c ON c.id = a.conversation_id"
        " WHERE a.question <> 'business_model'"
    ).fetchall()
    assert sorted(row[0] for row in rows) == sorted(words)
    events = pg._conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert events == len(words) + 2

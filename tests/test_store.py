"""The store contract, run against every way the store is opened, and its refusals."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bot.messages import MemberKey
from bot.store import SCHEMA_VERSION, SQLiteStore, Store, StoreError
from bot.store.checkpoints import caught_up
from bot.store.member_tables import (
    MEMBER_AND_CONVERSATION_BY_TEAM,
    MEMBER_AND_CONVERSATION_BY_WORKSPACE,
)
from tests.sqlite_support import connection

ANN = MemberKey("slack", "T1", "U_ANN", "C_MKT")


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "new.db")
    assert store.schema_version == SCHEMA_VERSION
    assert connection(store).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection(store).execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_a_newer_schema_is_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 5),)
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer than this Coffee Coach knows"):
        SQLiteStore(path)
    assert path.read_bytes() == before


def test_terminal_members_stored_before_version_3_get_their_user_name_as_address(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    store = SQLiteStore(path)
    with store.transaction():
        store.ensure_member(MemberKey("console", "local", "ann", "bakers"))
        store.ensure_member(ANN)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.execute("DROP INDEX commitments_by_team")  # as a version 2 file had it
    conn.execute("DROP INDEX events_by_user")
    conn.execute("ALTER TABLE events DROP COLUMN user")
    conn.execute("DROP TABLE outbox")
    conn.execute("ALTER TABLE teams DROP COLUMN kind")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    terminal = store.member(MemberKey("console", "local", "ann", "bakers"))
    slack = store.member(ANN)
    assert terminal is not None and terminal.address == "ann"
    assert slack is not None and slack.address is None
    store.close()


def test_a_team_whose_lead_forgot_themselves_before_version_6_gets_its_longest_member_as_lead(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    store = SQLiteStore(path)
    with store.transaction():
        ann = store.ensure_member(MemberKey("console", "local", "ann", "bakers"))
        store.ensure_member(MemberKey("console", "local", "bob", "bakers"))
        store.ensure_member(MemberKey("console", "local", "cy", "bakers"))
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM members WHERE user = 'ann'")  # as forget did before version 6
    conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    conn.execute("DROP INDEX events_by_user")
    conn.execute("ALTER TABLE events DROP COLUMN user")
    conn.execute("ALTER TABLE teams DROP COLUMN kind")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    team = store.team_by_id(ann.team.id)
    assert team is not None and team.lead == "bob"
    store.close()


def test_personal_teams_stored_before_version_7_are_known_as_personal(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    store = SQLiteStore(path)
    with store.transaction():
        store.ensure_member(MemberKey("slack", "T1", "U1", "personal:U1"))
        store.ensure_member(MemberKey("slack", "T1", "U2", "C_MKT"))
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    conn.execute("ALTER TABLE teams DROP COLUMN kind")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    personal = store.member(MemberKey("slack", "T1", "U1"))
    channel = store.member(MemberKey("slack", "T1", "U2"))
    assert personal is not None and personal.team.personal
    assert channel is not None and channel.team.kind == "team"
    store.close()


def test_a_corrupt_file_is_refused_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match=r"not a usable Coffee Coach database"):
        SQLiteStore(path)
    assert path.read_bytes() == b"this is not a database at all" * 100


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"database of something else"):
        SQLiteStore(path)


def test_two_connections_on_one_file_see_one_history(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    member = first.ensure_member(ANN)
    with first.transaction():
        conv = first.start_conversation(member.id, flow="coffee", state="customers")
    seen = second.conversation(member.id)
    assert seen is not None and seen.id == conv.id
    first.close()
    second.close()


def test_background_checkpoints_catch_up_the_wal_and_stop_cleanly(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "busy.db")
    halt = store.checkpoint_in_background(every_s=0.01)
    assert connection(store).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    member = store.ensure_member(ANN)
    with store.transaction():
        conv = store.start_conversation(member.id, flow="coffee", state="customers")
        for n in range(500):
            store.add_answer(conv.id, "customers", text=f"answer {n} " + "x" * 500)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = store.last_checkpoint
        if done is not None and done[1] > 0 and done[2] == done[1]:
            break
        time.sleep(0.01)
    halt()
    assert store.last_checkpoint is not None
    _, frames, checkpointed = store.last_checkpoint
    assert frames > 0 and checkpointed == frames
    assert connection(store).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    store.close()


def test_a_checkpoint_is_caught_up_only_when_nothing_came_since_the_one_before() -> None:
    assert not caught_up((0, 900, 600), frames_before=300)  # copied only a part
    assert not caught_up((0, 900, 900), frames_before=300)  # more came meanwhile, maybe
    assert caught_up((0, 900, 900), frames_before=900)
    assert caught_up((0, 0, 0), frames_before=0)  # an empty log


def test_background_checkpoints_restart_the_wal_between_bursts_of_commits(
    tmp_path: Path,
) -> None:
    """Bursts of back-to-back commits with short pauses, as a busy server makes them: once
    the checkpoints have begun, the log is started again in some pause and keeps its size,
    instead of growing for as long as the writes go on (checkpoints once a period, each
    ending behind the writer, left it two and a half times the size by the end of this
    test)."""
    every_s = 0.5
    store = SQLiteStore(tmp_path / "bursts.db")
    halt = store.checkpoint_in_background(every_s=every_s)
    member = store.ensure_member(ANN)
    with store.transaction():
        conv = store.start_conversation(member.id, flow="coffee", state="customers")
    wal = tmp_path / "bursts.db-wal"
    started = time.monotonic()
    settled = 0
    while (elapsed := time.monotonic() - started) < 4 * every_s:
        for n in range(200):
            with store.transaction():
                store.add_answer(conv.id, "customers", text=f"answer {n}")
        if not settled and elapsed > 1.5 * every_s:
            settled = wal.stat().st_size
        time.sleep(0.01)
    logged = wal.stat().st_size
    halt()
    store.close()
    assert settled and logged < 1.5 * settled


def test_a_teams_commitments_are_found_through_an_index_not_a_scan(store: Store) -> None:
    plan = " ".join(
        str(row[-1])
        for row in connection(store).execute(
            "EXPLAIN QUERY PLAN SELECT c.id FROM commitments c"
            " JOIN members m ON m.id = c.member_id WHERE c.team_id = ? ORDER BY c.id",
            (1,),
        )
    )
    assert "commitments_by_team" in plan
    assert "SCAN c" not in plan


def test_a_turns_member_query_reads_the_current_conversation_without_sorting(
    store: Store,
) -> None:
    plans = []
    for query in (MEMBER_AND_CONVERSATION_BY_TEAM, MEMBER_AND_CONVERSATION_BY_WORKSPACE):
        params = ("slack", "T1", "C_MKT", "U_ANN")[: query.count("?")]
        plans.append(
            " ".join(
                str(row[-1])
                for row in connection(store).execute(f"EXPLAIN QUERY PLAN {query}", params)
            )
        )
    for plan in plans:
        assert "conversations_current" in plan
        assert "USE TEMP B-TREE" not in plan.split("CORRELATED SCALAR SUBQUERY")[1]


def test_the_current_conversation_is_the_one_in_progress_before_a_later_finished_one(
    store: Store,
) -> None:
    member = store.ensure_member(ANN)
    with store.transaction():
        interview = store.start_conversation(member.id, flow="coffee", state="customers")
        checkin = store.start_conversation(member.id, flow="checkin", state="progress")
        checkin.status = "done"
        assert store.save_conversation(checkin)
    found = store.member_and_conversation(ANN)
    assert found is not None and found[1] is not None
    assert found[1].id == interview.id
    current = store.conversation(member.id)
    assert current is not None and current.id == interview.id
    interview.status = "done"
    with store.transaction():
        assert store.save_conversation(interview)
    latest = store.conversation(member.id)
    assert latest is not None and latest.id == checkin.id

"""The store contract, run against every way the store is opened, and its refusals."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.messages import MemberKey, TeamKey
from bot.store import SCHEMA_VERSION, SQLiteStore, Store, StoreError
from tests.sqlite_support import connection

ANN = MemberKey("slack", "T1", "U_ANN", "C_MKT")


@pytest.fixture(params=["file", "memory"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[Store]:
    path = tmp_path / "contract.db" if request.param == "file" else ":memory:"
    store = SQLiteStore(path, clock=clock)
    yield store
    store.close()


class TestStoreContract:
    def test_a_new_member_creates_their_team_with_them_as_lead(self, any_store: Store) -> None:
        member = any_store.ensure_member(ANN, name="Ann")
        assert member.team.key == TeamKey("slack", "T1", "C_MKT")
        assert member.team.lead == "U_ANN"
        assert any_store.member(ANN) == member

    def test_a_direct_message_finds_the_team_the_member_was_last_seen_in(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        any_store.ensure_member(ANN)
        clock.advance(minutes=5)
        other = any_store.ensure_member(ANN.with_team("C_SALES"))
        found = any_store.member(MemberKey("slack", "T1", "U_ANN"))
        assert found is not None and found.team.team == "C_SALES"
        clock.advance(minutes=5)
        any_store.touch_member(any_store.ensure_member(ANN))
        found = any_store.member(MemberKey("slack", "T1", "U_ANN"))
        assert found is not None and found.team.team == "C_MKT" and found.id != other.id

    def test_the_same_user_id_in_another_workspace_is_someone_else(self, any_store: Store) -> None:
        any_store.ensure_member(ANN)
        assert any_store.member(MemberKey("slack", "T2", "U_ANN")) is None
        assert any_store.member(MemberKey("msteams", "T1", "U_ANN", "C_MKT")) is None

    def test_answers_are_history_an_edit_adds_a_version(self, any_store: Store) -> None:
        member = any_store.ensure_member(ANN)
        with any_store.transaction():
            conv = any_store.start_conversation(member.id, flow="coffee", state="customers")
            assert any_store.add_answer(conv.id, "customers", text="bakeries") == 1
            assert any_store.add_answer(conv.id, "customers", text="bakeries and cafes") == 2
        assert any_store.answers(conv.id)["customers"].text == "bakeries and cafes"
        history = any_store.answer_history(conv.id, "customers")
        assert [a.text for a in history] == ["bakeries", "bakeries and cafes"]

    def test_a_stale_version_cannot_change_a_conversation(self, any_store: Store) -> None:
        member = any_store.ensure_member(ANN)
        with any_store.transaction():
            conv = any_store.start_conversation(member.id, flow="coffee", state="customers")
        first = any_store.conversation(member.id)
        second = any_store.conversation(member.id)
        assert first is not None and second is not None
        first.state = "value"
        second.state = "experience"
        with any_store.transaction():
            assert any_store.save_conversation(first)
            assert not any_store.save_conversation(second)
        stored = any_store.conversation(member.id)
        assert stored is not None and stored.state == "value" and stored.version == conv.version + 1

    def test_an_event_id_is_claimed_once_per_workspace(self, any_store: Store) -> None:
        with any_store.transaction():
            assert any_store.claim_event("slack", "T1", "Ev1")
            assert not any_store.claim_event("slack", "T1", "Ev1")
            assert any_store.claim_event("slack", "T2", "Ev1")

    def test_old_event_ids_are_pruned(self, any_store: Store, clock: ManualClock) -> None:
        with any_store.transaction():
            any_store.claim_event("slack", "T1", "Ev1")
        clock.advance(days=2)
        assert any_store.prune_events(older_than=timedelta(days=1)) == 1

    def test_a_failed_transaction_leaves_nothing_behind(self, any_store: Store) -> None:
        member = any_store.ensure_member(ANN)
        with pytest.raises(RuntimeError), any_store.transaction():
            any_store.start_conversation(member.id, flow="coffee", state="customers")
            raise RuntimeError("crash mid-turn")
        assert any_store.conversation(member.id) is None

    def test_forget_one_member_keeps_the_rest_of_the_team(self, any_store: Store) -> None:
        ann = any_store.ensure_member(ANN)
        bob = any_store.ensure_member(MemberKey("slack", "T1", "U_BOB", "C_MKT"))
        with any_store.transaction():
            conv = any_store.start_conversation(ann.id, flow="coffee", state="customers")
            any_store.add_answer(conv.id, "customers", text="x")
        assert any_store.forget(ann.team.id, user="U_ANN") == 1
        assert [m.user for m in any_store.members(ann.team.id)] == ["U_BOB"]
        assert any_store.stats()["answers"] == 0
        assert any_store.forget(bob.team.id) == 1
        assert any_store.team(bob.team.key) is None

    def test_export_holds_every_answer_version(self, any_store: Store) -> None:
        member = any_store.ensure_member(ANN, name="Ann")
        with any_store.transaction():
            conv = any_store.start_conversation(member.id, flow="coffee", state="customers")
            any_store.add_answer(conv.id, "customers", text="v1")
            any_store.add_answer(conv.id, "customers", text="v2")
        data = any_store.export_team(member.team.id)
        answers = data["members"][0]["conversations"][0]["answers"]
        assert [(a["text"], a["version"]) for a in answers] == [("v1", 1), ("v2", 2)]
        assert data["team"]["team"] == "C_MKT"


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


def test_an_event_claimed_with_a_window_can_be_claimed_again_after_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = SQLiteStore(tmp_path / "window.db", clock=clock)
    window = timedelta(minutes=10)
    with store.transaction():
        assert store.claim_event("msteams", "T", "welcome:chat", unless_seen_within=window)
        assert not store.claim_event("msteams", "T", "welcome:chat", unless_seen_within=window)
    clock.advance(minutes=11)
    with store.transaction():
        assert store.claim_event("msteams", "T", "welcome:chat", unless_seen_within=window)
        assert not store.claim_event("msteams", "T", "welcome:chat")
    store.close()

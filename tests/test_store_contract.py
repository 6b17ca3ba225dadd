"""The store contract: every backend passes the same assertions.

A backend is one entry in `BACKENDS` (tests/store_backends.py). Behaviour of the SQLite
file itself (pragmas, WAL, corrupt files, the version guard) is in tests/test_store.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.messages import MemberKey, Post, TeamKey
from bot.store import (
    CHECKIN,
    GROUP,
    NEW_LEAD,
    PERSONAL,
    SENT,
    TEAM,
    Prefs,
    ScheduleColumns,
    Store,
)
from tests.store_backends import BACKENDS, Backend

ANN = MemberKey("slack", "T1", "U_ANN", "C_MKT")


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[Store]:
    backend: Backend = request.param
    store = backend.open(request, tmp_path, clock)
    yield store
    backend.close(store)


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

    def test_a_team_row_says_what_it_stands_for(self, any_store: Store) -> None:
        assert any_store.ensure_team(TeamKey("slack", "T1", "C_MKT")).kind == TEAM
        personal = any_store.ensure_team(TeamKey("slack", "T1", "personal:U_ANN"), kind=PERSONAL)
        assert personal.personal
        group = any_store.ensure_team(TeamKey("slack", "T1", "G_ANN_BOB"), kind=GROUP)
        any_store.update_team(group.id, kind=TEAM, name="Ann, Bob")
        made = any_store.team(TeamKey("slack", "T1", "G_ANN_BOB"))
        assert made is not None and (made.kind, made.label) == (TEAM, "Ann, Bob")

    def test_a_member_moves_to_a_team_with_everything_they_answered(self, any_store: Store) -> None:
        own = ANN.with_team("personal:U_ANN")
        any_store.ensure_team(TeamKey("slack", "T1", "personal:U_ANN"), kind=PERSONAL)
        member = any_store.ensure_member(own, name="Ann")
        with any_store.transaction():
            conv = any_store.start_conversation(member.id, flow="coffee", state="customers")
            any_store.add_answer(conv.id, "customers", text="Hotel buyers")
            any_store.add_placement(
                team_id=member.team.id,
                member_id=member.id,
                conversation_id=conv.id,
                rung=2,
                stage="Listen",
                evidence=[],
            )
            any_store.add_commitments(
                team_id=member.team.id,
                member_id=member.id,
                conversation_id=conv.id,
                stage="Listen",
                actions=["Reply within a day"],
            )
        team = any_store.ensure_team(TeamKey("slack", "T1", "C_MKT"), name="marketing")

        moved = any_store.move_member(member, team.id)

        assert (moved.id, moved.team.id) == (member.id, team.id)
        assert any_store.member(MemberKey("slack", "T1", "U_ANN")) == moved
        assert any_store.member(own) is None
        interview = any_store.interview(moved)
        assert interview is not None and interview.answers["customers"].text == "Hotel buyers"
        assert [p.stage for p in any_store.placements(team.id)] == ["Listen"]
        assert [c.action for c in any_store.commitments(team_id=team.id)] == ["Reply within a day"]
        assert any_store.placements(member.team.id) == []

    def test_a_member_already_noted_in_the_team_keeps_one_row_with_both_histories(
        self, any_store: Store
    ) -> None:
        noted = any_store.ensure_member(ANN)
        with any_store.transaction():
            first = any_store.start_conversation(noted.id, flow="checkin", state="recall")
        elsewhere = any_store.ensure_member(ANN.with_team("C_SALES"))
        with any_store.transaction():
            second = any_store.start_conversation(elsewhere.id, flow="coffee", state="customers")

        moved = any_store.move_member(elsewhere, noted.team.id)

        assert [m.id for m in any_store.members(noted.team.id)] == [elsewhere.id]
        assert any_store.members(elsewhere.team.id) == []
        current = any_store.conversation(moved.id)
        assert current is not None and current.id == second.id
        older = any_store.conversation(moved.id, flow="checkin")
        assert older is not None and older.id == first.id

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
        assert any_store.forget(ann.team.id, user="U_ANN").members == 1
        assert [m.user for m in any_store.members(ann.team.id)] == ["U_BOB"]
        assert any_store.stats()["answers"] == 0
        assert any_store.forget(bob.team.id).members == 1
        assert any_store.team(bob.team.key) is None

    def test_forget_deletes_the_members_event_ids_and_no_one_elses(self, any_store: Store) -> None:
        ann = any_store.ensure_member(ANN)
        any_store.ensure_member(MemberKey("slack", "T1", "U_BOB", "C_MKT"))
        with any_store.transaction():
            any_store.claim_event("slack", "T1", "Ev-ann", user="U_ANN")
            any_store.claim_event("slack", "T1", "Ev-bob", user="U_BOB")
        any_store.forget(ann.team.id, user="U_ANN")
        with any_store.transaction():
            assert any_store.claim_event("slack", "T1", "Ev-ann", user="U_ANN")
            assert not any_store.claim_event("slack", "T1", "Ev-bob", user="U_BOB")

    def test_a_lead_who_forgets_is_replaced_by_the_longest_standing_member(
        self, any_store: Store
    ) -> None:
        ann = any_store.ensure_member(ANN)
        any_store.ensure_member(MemberKey("slack", "T1", "U_BOB", "C_MKT"))
        any_store.ensure_member(MemberKey("slack", "T1", "U_CY", "C_MKT"))
        assert ann.team.lead == "U_ANN"

        forgotten = any_store.forget(ann.team.id, user="U_ANN")

        assert forgotten.new_lead is not None
        assert forgotten.new_lead.user == "U_BOB"
        team = any_store.team_by_id(ann.team.id)
        assert team is not None
        assert team.lead == "U_BOB"
        # Anyone else forgetting leaves the lead as it is.
        assert any_store.forget(ann.team.id, user="U_CY").new_lead is None
        team = any_store.team_by_id(ann.team.id)
        assert team is not None
        assert team.lead == "U_BOB"

    def test_a_lead_who_moves_to_another_team_hands_the_lead_to_the_longest_standing(
        self, any_store: Store
    ) -> None:
        ann = any_store.ensure_member(ANN)
        any_store.ensure_member(MemberKey("slack", "T1", "U_BOB", "C_MKT"))
        other = any_store.ensure_team(TeamKey("slack", "T1", "C_SALES"))

        any_store.move_member(ann, other.id)

        left = any_store.team_by_id(ann.team.id)
        assert left is not None and left.lead == "U_BOB"
        told = [d for d in any_store.due_deliveries(any_store.moment(), 10) if d.kind == NEW_LEAD]
        assert [d.team_id for d in told] == [ann.team.id]

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

    def test_an_event_claimed_with_a_window_can_be_claimed_again_after_it(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        window = timedelta(minutes=10)
        with any_store.transaction():
            assert any_store.claim_event("msteams", "T", "welcome:chat", unless_seen_within=window)
            assert not any_store.claim_event(
                "msteams", "T", "welcome:chat", unless_seen_within=window
            )
        clock.advance(minutes=11)
        with any_store.transaction():
            assert any_store.claim_event("msteams", "T", "welcome:chat", unless_seen_within=window)
            assert not any_store.claim_event("msteams", "T", "welcome:chat")

    # --- the check-in tables -----------------------------------------------------------

    def test_a_schedule_is_kept_with_its_next_due_time(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        team = any_store.ensure_member(ANN).team
        assert any_store.schedule_columns(team.id) is None
        columns = ScheduleColumns(
            "weekly", 0, "09:30", 1, "2026-01-05", "UTC", "0,1,2,3,4", "20:00", "08:00", 4
        )
        due = clock.now() + timedelta(days=1)
        with any_store.transaction():
            any_store.save_schedule_columns(team.id, columns, due, by="U_ANN")
        assert any_store.schedule_columns(team.id) == (columns, due)
        assert any_store.due_schedule_columns(due, limit=10) == [(team.id, columns, due)]
        with any_store.transaction():
            assert any_store.advance_schedule(team.id, due, None)
            assert not any_store.advance_schedule(team.id, due, None)
        assert any_store.schedule_counts() == (0, 1)

    def test_a_delivery_is_queued_once_and_claimed_once(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        member = any_store.ensure_member(ANN)
        now = clock.now()
        with any_store.transaction():
            assert any_store.enqueue(
                key="checkin:1", kind=CHECKIN, team_id=member.team.id, member_id=member.id, due=now
            )
            assert not any_store.enqueue(
                key="checkin:1", kind=CHECKIN, team_id=member.team.id, member_id=member.id, due=now
            )
        [delivery] = any_store.due_deliveries(now, limit=10)
        with any_store.transaction():
            assert any_store.claim_delivery(delivery.id, worker="w1", payload="{}")
            assert not any_store.claim_delivery(delivery.id, worker="w2", payload="{}")
            any_store.record_sent(delivery.id, worker="w1")
        assert any_store.delivery_counts() == {CHECKIN: {SENT: 1}}
        assert any_store.next_wake() is None

    def test_a_members_preferences_default_to_checkins_on(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        member = any_store.ensure_member(ANN)
        assert any_store.prefs_of(member.id) == Prefs()
        later = clock.now() + timedelta(days=3)
        with any_store.transaction():
            any_store.set_prefs(member.id, opted_out=True, snoozed_until=later)
        assert any_store.prefs_of(member.id) == Prefs(True, later)

    # --- the outbox ----------------------------------------------------------------------

    def test_a_turns_posts_are_kept_until_finished_and_taken_over_when_their_claim_runs_out(
        self, any_store: Store, clock: ManualClock
    ) -> None:
        member = any_store.ensure_member(ANN)
        posts = [Post("D1", {"text": "one"}), Post("D1", {"text": "two"})]
        with any_store.transaction():
            kept = any_store.add_posts("slack", "T1", "U_ANN", posts, worker="w1")
        assert [(p.channel, p.payload, p.attempts) for p in kept] == [
            ("D1", {"text": "one"}, 1),
            ("D1", {"text": "two"}, 1),
        ]
        assert any_store.unsent_posts() == 2
        any_store.finish_posts([kept[0].id])
        clock.advance(minutes=1)
        taken = any_store.take_over_posts(
            "slack", worker="w2", claimed_before=clock.now(), limit=10
        )
        assert [(p.id, p.attempts) for p in taken] == [(kept[1].id, 2)]
        assert (
            any_store.take_over_posts(
                "slack", worker="w3", claimed_before=clock.now() - timedelta(seconds=1), limit=10
            )
            == []
        )
        assert any_store.forget(member.team.id, user="U_ANN").members == 1
        assert any_store.unsent_posts() == 0

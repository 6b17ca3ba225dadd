"""Forget means gone: no copy of the answers in the file or its write-ahead log, no event id
naming the member, and a team whose lead forgot themselves has a new lead who is told."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapters.console import incoming as terminal
from bot.checkins.service import CheckIns
from bot.engine import Coach
from bot.messages import named
from bot.store import Store
from tests.checkin_support import FakeSender, join, key, run_pass
from tests.sqlite_support import connection

SECRET = "our-unreleased-product-codename-zebrafish"


def say(coach: Coach, user: str, text: str, event_id: str | None = None) -> str:
    turn = coach.handle(replace(terminal(key(user), text), event_id=event_id))
    return "\n".join(named(r.text) for r in turn.replies)


def test_no_copy_of_a_forgotten_answer_is_left_in_the_file_or_its_log(
    coach: Coach, store: Store, db_path: Path
) -> None:
    say(coach, "ann", "start")
    say(coach, "ann", "b2b")
    for n in range(5):
        say(coach, "ann", "edit 1")
        say(coach, "ann", f"{SECRET} version {n}")
    wal = Path(f"{db_path}-wal")
    assert SECRET.encode() in db_path.read_bytes() + wal.read_bytes()

    assert "deleted" in say(coach, "ann", "forget yes")

    assert SECRET.encode() not in db_path.read_bytes()
    assert not wal.exists() or SECRET.encode() not in wal.read_bytes()


def test_the_members_event_ids_go_with_them(coach: Coach, store: Store) -> None:
    say(coach, "ann", "start", event_id="Ev-ann-1")
    say(coach, "ann", "b2b", event_id="Ev-ann-2")
    say(coach, "bob", "start", event_id="Ev-bob-1")

    say(coach, "ann", "forget yes", event_id="Ev-ann-3")

    ids = [row[0] for row in connection(store).execute("SELECT event_id FROM events")]
    assert ids == ["Ev-bob-1"]


async def test_a_lead_who_forgets_is_replaced_and_the_new_lead_is_told_in_one_line(
    coach: Coach, store: Store, checkins: CheckIns, sender: FakeSender
) -> None:
    for user in ("ann", "bob", "cy"):
        join(coach, user)
    [team] = store.teams()
    assert team.lead == "ann"

    say(coach, "ann", "forget yes")
    await run_pass(checkins, sender)

    [told] = sender.texts("bob")
    assert told.count("\n") == 0
    assert "You now lead bakers" in told
    assert sender.texts("cy") == []
    assert "Only the team's lead (bob)" in say(coach, "cy", "schedule weekly")
    assert "The lead (bob) can change it" in say(coach, "cy", "schedule")

"""Stored timestamps: their text, and the last-seen refresh that compares with one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.clock import Cutoff, ManualClock, iso
from bot.engine import TOUCH_EVERY_S, Coach
from bot.messages import Incoming, MemberKey
from bot.store import Store

MOMENT = datetime(2026, 11, 23, 9, 0, 0, 250_000, tzinfo=UTC)


def test_a_moment_is_stored_as_the_same_utc_text_whatever_its_zone() -> None:
    paris = MOMENT.astimezone(timezone(timedelta(hours=1)))
    assert iso(MOMENT) == iso(paris) == "2026-11-23T09:00:00.250000+00:00"


def test_a_cutoff_is_the_moment_less_its_age_and_is_made_again_a_second_later_or_earlier() -> None:
    cutoff = Cutoff(timedelta(minutes=1))
    assert cutoff.at(MOMENT) == iso(MOMENT - timedelta(minutes=1))
    # Within the second: the text already made, a fraction of a second early at most.
    assert cutoff.at(MOMENT + timedelta(milliseconds=900)) == iso(MOMENT - timedelta(minutes=1))
    later = MOMENT + timedelta(seconds=1)
    assert cutoff.at(later) == iso(later - timedelta(minutes=1))
    earlier = MOMENT - timedelta(hours=2)
    assert cutoff.at(earlier) == iso(earlier - timedelta(minutes=1))


def test_a_member_is_marked_seen_again_only_once_the_refresh_interval_has_passed(
    store: Store, clock: ManualClock
) -> None:
    coach = Coach(store)
    key = MemberKey("console", "local", "ana", "growth")
    coach.handle(Incoming(key, "start"))
    first = store.member(key)
    assert first is not None and first.last_seen == iso(clock.now())

    clock.advance(seconds=TOUCH_EVERY_S - 5)
    coach.handle(Incoming(key, "b2b"))
    soon = store.member(key)
    assert soon is not None and soon.last_seen == first.last_seen

    clock.advance(seconds=10)
    coach.handle(Incoming(key, "Facilities managers at hospitals"))
    later = store.member(key)
    assert later is not None and later.last_seen == iso(clock.now())

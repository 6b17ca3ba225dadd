"""Bounded caches: what a door keeps per member stays within its size."""

from __future__ import annotations

import pytest

from bot.caches import LruCache


def test_the_least_recently_used_entry_is_dropped_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1  # "a" is now the most recent
    cache["c"] = 3
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
    assert len(cache) == 2


def test_a_cache_never_holds_more_than_its_size() -> None:
    cache: LruCache[int, int] = LruCache(100)
    for member in range(10_000):
        cache[member] = member
    assert len(cache) == 100
    assert sorted(cache) == list(range(9_900, 10_000))


def test_entries_can_be_dropped_while_iterating() -> None:
    cache: LruCache[tuple[str, str], str] = LruCache(10)
    cache[("T1", "U1")], cache[("T2", "U2")] = "D1", "D2"
    for key in cache:
        if key[0] == "T1":
            del cache[key]
    assert list(cache) == [("T2", "U2")]


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LruCache(0)

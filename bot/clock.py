"""Time as an injected dependency, so tests control it and never sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


def iso(moment: datetime) -> str:
    if moment.tzinfo is UTC:
        # What every clock here gives: nothing to convert.
        return moment.isoformat(timespec="microseconds")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Cutoff:
    """`iso(moment - age)`, the stored text a timestamp is compared with to tell whether it
    is older than `age`; made again only once the moment has moved a second on (or back).

    For a threshold read on every turn where a second either way changes nothing, such as
    how often a member's last-seen time is refreshed.
    """

    __slots__ = ("_made", "age")

    def __init__(self, age: timedelta) -> None:
        self.age = age
        never = datetime.min.replace(tzinfo=UTC)
        # (since, until, text), replaced whole: a thread reading it never sees half of one.
        self._made = (never, never, "")

    def at(self, moment: datetime) -> str:
        since, until, text = self._made
        if not since <= moment < until:
            text = iso(moment - self.age)
            self._made = (moment, moment + _SECOND, text)
        return text


_SECOND = timedelta(seconds=1)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)

"""IANA time zones as members type them, and the date it is somewhere."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def canonical_zone(name: str | None) -> str | None:
    """The zone's canonical IANA spelling, or None if it is not a zone zoneinfo can load."""
    found = _zones().get(name.strip().casefold()) if name else None
    if found is None:
        return None
    try:
        ZoneInfo(found)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return found


def close_zones() -> list[str]:
    """Every zone's folded spelling, to suggest one for a typo."""
    return list(_zones())


def zone_named(folded: str) -> str:
    """The canonical spelling of a folded zone name from `close_zones`."""
    return _zones()[folded]


def today_in(now: datetime, zone: str | None) -> date:
    """The date it is now where the team (or member) is; UTC if the zone is unknown."""
    return now.astimezone(ZoneInfo(canonical_zone(zone) or "UTC")).date()

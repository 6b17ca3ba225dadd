"""The reader: what a member's free-text answers say about each ladder criterion.

For now the whole reader lives in `rules`; this package keeps `from bot.reader import X`
working while it is split into modules with one job each.
"""

from bot.reader.rules import (
    CRITERIA,
    Facts,
    Objective,
    Polarity,
    Quote,
    Reading,
    Signal,
    parse_objectives,
    read,
)

__all__ = [
    "CRITERIA",
    "Facts",
    "Objective",
    "Polarity",
    "Quote",
    "Reading",
    "Signal",
    "parse_objectives",
    "read",
]

"""The member's exact words a piece of evidence rests on, clipped to a readable length."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from bot.reader.clauses import _Clause
from bot.reader.records import Quote

MAX_QUOTE = 120


def _quote(cl: _Clause, anchor_start: int | None = None, anchor_end: int | None = None) -> Quote:
    """The clause the evidence sits in, clipped around the evidence to a readable length."""
    start, end = cl.span(cl.first, cl.last)
    if end - start > MAX_QUOTE:
        a_start = anchor_start if anchor_start is not None else start
        a_end = anchor_end if anchor_end is not None else a_start
        a_end = min(a_end, a_start + MAX_QUOTE)
        spare = MAX_QUOTE - (a_end - a_start)
        lo = max(start, a_start - spare // 2)
        hi = min(end, lo + MAX_QUOTE)
        lo = max(start, hi - MAX_QUOTE)
        # Snap to whole words inside the window.
        first = bisect_left(cl.starts, lo, cl.first, cl.last)
        last = bisect_right(cl.ends, hi, cl.first, cl.last) - 1
        if first <= last:
            start, end = cl.starts[first], cl.ends[last]
        else:
            start, end = lo, hi
    return Quote(cl.question, start, end, cl.text[start:end])


def _span_quote(cl: _Clause, first: int, last: int) -> Quote:
    start, end = cl.span(first, last)
    if end - start > MAX_QUOTE:
        return _quote(cl, start, end)
    return Quote(cl.question, start, end, cl.text[start:end])

"""Numbers, cadences, periods and the objectives they make: "40 MQLs a quarter"."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.reader.clauses import _Clause, _Match
from bot.reader.quotes import MAX_QUOTE, _quote, _span_quote
from bot.reader.records import Objective, Quote
from flows.signals import Vocabulary

_COMMA = re.compile(r",(?!\d)")  # a comma that is not a thousands separator
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEAR_BOUNDS = frozenset({"by", "before", "until", "till", "end", "of"})
_DEADLINE_FILLERS = frozenset({"the", "end", "of", "start", "beginning", "middle", "next", "this"})
_TIMES_OF_DAY = frozenset({"morning", "mornings", "afternoon", "afternoons", "evening",
                           "evenings", "night", "nights", "lunchtime"})  # fmt: skip
_CADENCE_LEADS = frozenset({"a", "an", "per", "each", "every", "/"})


# --- cadences and periods --------------------------------------------------------------


def _unit_at(cl: _Clause, index: int) -> _Match | None:
    for group in ("unit", "period_unit", "weekday"):
        found = cl.starts_group(index, group)
        if found:
            return found
    return None


def _cadences(cl: _Clause) -> list[tuple[int, int]]:
    """Spans of rhythms: "weekly", "every Monday", "3 posts a week", "20 minutes a day"."""
    if cl.cached_cadences is None:
        cl.cached_cadences = _find_cadences(cl)
    return cl.cached_cadences


def _find_cadences(cl: _Clause) -> list[tuple[int, int]]:
    spans = [(m.first, m.last) for m in cl.of("cadence_word", None)]
    for j in range(cl.first, cl.last):
        word = cl.words[j]
        if word in ("every", "each"):
            k = j + 1
            if cl.is_number(k) or cl.word(k) == "other":
                k += 1
            unit = _unit_at(cl, k)
            if unit:
                spans.append((j, unit.last))
            continue
        if word == "on" and cl.word(j + 1).endswith("s") and cl.starts_group(j + 1, "weekday"):
            spans.append((j, j + 2))
            continue
        # "Sunday evening I schedule the week": a weekday and a time of day is a habit.
        if cl.starts_group(j, "weekday") and cl.word(j + 1) in _TIMES_OF_DAY:
            spans.append((j, j + 2))
            continue
        money = word[:1] in "$€£"
        counted = (cl.is_number(j) and not money) or word in ("once", "twice")
        if money or (not counted and not (word in ("a", "an") and _unit_at(cl, j + 1))):
            continue
        # COUNT [thing] LEAD UNIT: "3 posts a week", "once a month", "an hour a day".
        k = j + 1
        if cl.word(k) in ("times", "x") or cl.starts_group(k, "count_noun") or _unit_at(cl, k):
            k += 1
        if k > j + 1 or counted:
            unit = _unit_at(cl, k + 1) if cl.word(k) in _CADENCE_LEADS else None
            if unit:
                spans.append((j, unit.last))
    return _outermost(spans)


def _outermost(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    ordered = sorted(set(spans), key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int]] = []
    for span in ordered:
        if out and span[0] < out[-1][1]:
            continue
        out.append(span)
    return out


def _periods(cl: _Clause) -> list[tuple[int, int]]:
    """Spans of periods and deadlines: "a quarter", "by June", "within 2 hours", "YoY"."""
    if cl.cached_periods is None:
        cl.cached_periods = _find_periods(cl)
    return cl.cached_periods


def _find_periods(cl: _Clause) -> list[tuple[int, int]]:
    spans = [(m.first, m.last) for m in cl.of("relative", None)]
    for j in range(cl.first, cl.last):
        word = cl.words[j]
        if word in ("a", "an", "per", "each", "every", "this", "next", "/"):
            unit = cl.starts_group(j + 1, "period_unit")
            if unit:
                spans.append((j, unit.last))
    for bound in cl.of("bound", None):
        k = bound.last
        skipped = 0
        while cl.word(k) in _DEADLINE_FILLERS and skipped < 4:
            k += 1
            skipped += 1
        # "by 14 May": a day of the month before the month's name.
        if cl.is_number(k) and (month := cl.starts_group(k + 1, "month")):
            spans.append((bound.first, month.last))
            continue
        target = (
            cl.starts_group(k, "month")
            or cl.starts_group(k, "deadline")
            or cl.starts_group(k, "period_unit")
        )
        if target:
            spans.append((bound.first, target.last))
            continue
        if _YEAR.fullmatch(cl.word(k)):
            if cl.words[bound.first] in _YEAR_BOUNDS or cl.word(k - 1) in _YEAR_BOUNDS:
                spans.append((bound.first, k + 1))
            continue
        if cl.is_number(k):
            unit = _unit_at(cl, k + 1)
            if unit:
                spans.append((bound.first, unit.last))
    # "3 months" alone is not a bound; "24h" style is covered by the bound rule above.
    return _outermost(spans)


# --- objectives ------------------------------------------------------------------------


def _objectives(cl: _Clause, vocab: Vocabulary) -> list[Objective]:
    # One reading per span: "sales" is both a count and money.
    by_span: dict[tuple[int, int], _Match] = {}
    kinds: dict[tuple[int, int], set[str]] = {}
    for m in cl.of("metric", None):
        by_span.setdefault((m.first, m.last), m)
        kinds.setdefault((m.first, m.last), set()).add(m.term.kind)
    # "revenue" inside "revenue from social" is the same metric, read once.
    metrics: list[_Match] = []
    for span in sorted(by_span, key=lambda k: (k[0], -k[1])):
        if metrics and span[1] <= metrics[-1].last:
            continue
        metrics.append(by_span[span])
    periods = _periods(cl)
    numbers: set[int] = set()
    # "no one", "one day": number words inside a negation or a wish are not numbers.
    inside = {
        k
        for g in ("negation", "wish", "hedge", "not_negation")
        for m in cl.of(g, None)
        for k in range(m.first, m.last)
    }
    for j in range(cl.first, cl.last):
        if not cl.is_number(j) or j in inside:
            continue
        word = cl.words[j]
        if _YEAR.fullmatch(word):
            continue
        if cl.word(j - 1) == "/" or (cl.word(j + 1) and cl.words[j + 1] == "7" and word == "24"):
            continue
        numbers.add(j)

    # Durations ("reply time under 2 hours"): the bound is the number and the period.
    found: list[Objective] = []
    used_numbers: set[int] = set()
    used_metrics: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int, _Match]] = []
    for m in metrics:
        if "durations" in kinds[(m.first, m.last)]:
            continue
        for j in (j for j in range(m.first - 5, m.last + 5) if j in numbers):
            distance = m.first - j - 1 if j < m.first else j - m.last
            if distance < 0 or distance > 4:
                continue
            word = cl.words[j]
            money = word[:1] in "$€£" or cl.word(j + 1) in ("dollars", "euros", "pounds", "k")
            if money and "money" not in kinds[(m.first, m.last)]:
                continue
            # "(target 25), follower growth": a bracket, or a comma before the metric, keeps
            # them apart; "Applications per vacancy, we want 20" still pairs.
            lo, hi = (cl.ends[j], m.start) if j < m.first else (m.end, cl.starts[j])
            between = cl.text[lo:hi]
            if "(" in between or ")" in between or (j < m.first and _COMMA.search(between)):
                continue
            counted = cl.starts_group(j + 1, "count_noun") and not word.endswith("%")
            # "1,000 newsletter sign-ups": a count noun can be the first half of the metric.
            if counted and m.first not in (j + 1, j + 2):
                continue  # "5 posts a week", "3 people": a cadence or a team, not a target
            pairs.append((distance, j, m))
    # "from 4,000 to 6,000 subscribers": the target is the number after "to".
    pairs = [
        p
        for p in pairs
        if not (
            cl.word(p[1] - 1) == "from" and any(cl.word(k) == "to" for k in (p[1] + 1, p[1] + 2))
        )
    ]
    # Nearest first; on a tie the metric after the number ("Reach 10,000 followers").
    pairs.sort(key=lambda p: (p[0], p[2].first < p[1], p[1]))
    chosen: list[tuple[int, _Match]] = []
    for _, j, m in pairs:
        if j in used_numbers or (m.first, m.last) in used_metrics:
            continue
        used_numbers.add(j)
        used_metrics.add((m.first, m.last))
        chosen.append((j, m))
    for m in metrics:
        if "durations" not in kinds[(m.first, m.last)]:
            continue
        for p in periods:
            numbered = [k for k in range(p[0], p[1]) if cl.is_number(k)]
            after = m.last <= p[0] <= m.last + 4
            before = m.first - 4 <= p[1] <= m.first
            near = after or before
            if numbered and near:
                used_metrics.add((m.first, m.last))
                found.append(_make(cl, vocab, numbered[0], m, p, periods))
                break

    for j, m in chosen:
        found.append(_make(cl, vocab, j, m, None, periods))
    goal_context = cl.question == "success" or cl.has("goal_marker", None)
    for m in metrics:
        if (m.first, m.last) in used_metrics or (cl.mode(m) == "wish" and not goal_context):
            continue
        if goal_context:
            found.append(_make(cl, vocab, None, m, None, periods))
    if goal_context:
        # "We'd like 15 a month by Q2": a number and a period whose metric may be in the
        # clause before ("Leads from LinkedIn."); `_merge` joins them.
        in_periods = {k for p in periods for k in range(p[0], p[1])}
        for j in sorted(numbers - used_numbers - in_periods):
            word = cl.words[j]
            if word[:1] in "$€£" or cl.starts_group(j + 1, "count_noun") or _unit_at(cl, j + 1):
                continue
            if any(m.first - 5 <= j <= m.last + 4 for m in metrics):
                continue  # "from 4,000 to 6,000 subscribers": it belongs to that metric
            beside = [p for p in periods if max(p[0] - j - 1, j - p[1], 0) <= 3]
            if beside:
                found.append(_bare(cl, j, beside[0]))
    found.sort(key=lambda o: o.quote.start)
    return found


def _bare(cl: _Clause, number: int, period: tuple[int, int]) -> Objective:
    first, last = min(number, period[0]), max(number + 1, period[1])
    negated = any(cl.modes[k - cl.first] == "negation" for k in range(first, last))
    return Objective(
        _span_quote(cl, first, last),
        cl.text[cl.starts[number] : cl.ends[number]].lstrip("+"),
        None,
        cl.text[cl.starts[period[0]] : cl.ends[period[1] - 1]],
        negated,
    )


def _merge(text: str, per_clause: list[list[Objective]]) -> list[list[Objective]]:
    """Join a metric with no number to a number with no metric in the next clause."""
    for i in range(1, len(per_clause)):
        before, after = per_clause[i - 1], per_clause[i]
        metric = next((o for o in before if o.metric and not o.number), None)
        bare = next((o for o in after if o.number and not o.metric), None)
        if not metric or not bare:
            continue
        start, end = metric.quote.start, bare.quote.end
        quote = Quote(bare.quote.question, start, end, text[start:end])
        if end - start > MAX_QUOTE:
            quote = bare.quote
        joined = Objective(quote, bare.number, metric.metric, bare.period,
                           metric.negated or bare.negated)  # fmt: skip
        before.remove(metric)
        after[after.index(bare)] = joined
    return per_clause


def _make(
    cl: _Clause,
    vocab: Vocabulary,
    number: int | None,
    metric: _Match,
    period: tuple[int, int] | None,
    periods: list[tuple[int, int]],
) -> Objective:
    metric_last = metric.last
    # "leads from LinkedIn", "revenue from social": the source belongs to the metric.
    if cl.word(metric_last) in ("from", "via", "through", "on") and (
        cl.starts_group(metric_last + 1, "network") or cl.word(metric_last + 1) == "social"
    ):
        source = cl.starts_group(metric_last + 1, "network")
        metric_last = source.last if source else metric_last + 2
    anchor = [metric.first, metric_last]
    if number is not None:
        anchor += [number, number + 1]
    first, last = min(anchor), max(anchor)
    # "Our weekly newsletter": a rhythm word before the target describes, it doesn't bound.
    usable = [p for p in periods if p[0] >= first or not cl.starts_group(p[0], "relative")]
    if period is None and usable:
        period = min(usable, key=lambda p: max(p[0] - last, first - p[1], 0))
    # The period joins the quote when it sits right beside the number and metric.
    if period is not None and (period[0] == last or period[1] == first):
        lo, hi = (last, period[0]) if period[0] == last else (period[1], first)
        if "," not in cl.text[cl.ends[lo - 1] : cl.starts[hi]]:
            first, last = min(first, period[0]), max(last, period[1])
    # A target someone only wished for ("we should aim for 5,000") is not an objective.
    negated = any(cl.modes[k - cl.first] != "plain" for k in range(first, last))
    number_text = None
    if number is not None:
        number_text = cl.text[cl.starts[number] : cl.ends[number]].lstrip("+")
    metric_text = cl.text[cl.starts[metric.first] : cl.ends[metric_last - 1]]
    period_text = cl.text[cl.starts[period[0]] : cl.ends[period[1] - 1]] if period else None
    quote = _span_quote(cl, first, last) if number is not None else _quote(cl, metric.start)
    return Objective(quote, number_text, metric_text, period_text, negated)

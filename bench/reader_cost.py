"""The reader's cost per answer: typical answers of each length, and pathological ones.

    python bench/reader_cost.py [--repeat 2000]

Each row reads one answer `repeat` times (long inputs fewer times) and prints the median
of five runs, per answer, in microseconds. The vocabulary is loaded once beforehand, as
the coach does at start-up; its load time is printed on its own line. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.reader import read  # noqa: E402
from flows.signals import load_vocabulary  # noqa: E402

TYPICAL = {
    "terse (3 words)": ("owners", "Priya, weekly"),
    "short (12 words)": (
        "sustain",
        "We monitor mentions and competitors every week with Brandwatch.",
    ),
    "medium (35 words)": (
        "owners",
        "Our full-time community manager runs it, and each site manager spends 20 minutes "
        "a day on reviews. Legal signs off anything about prices, but nobody else approves "
        "posts and we reply to every DM within 2 hours.",
    ),
    "long (90 words)": (
        "success",
        "Honestly we haven't agreed on much. Sales would say 40 MQLs a quarter with a cost "
        "per MQL under $150; the founder wants +15% revenue from social by June. We don't "
        "really measure engagement and the reels are popular, ppl love them, but nobody "
        "tracks where the leads come from. If we had a listening tool we'd probably see "
        "what competitors do on LinkedIn and in the trade forums. For now it's ad hoc: "
        "whoever has time posts, usually 3 posts a week, mostly offers and news.",
    ),
    "typos and shorthand": ("sustain", "we montior insta + fb wkly, ppl reply in the dms asap"),
    "another language": (
        "sustain",
        "Nous surveillons les mentions chaque semaine et répondons aux commentaires.",
    ),
    "emoji only": ("success", "🚀🔥👍☕️" * 5),
}


def _long(size: int) -> dict[str, tuple[str, str]]:
    chunk = TYPICAL["long (90 words)"][1] + " "
    prose = (chunk * (size // len(chunk) + 1))[:size]
    return {
        f"{size:,} chars of prose": ("success", prose),
        f"{size:,} chars, one clause": ("success", prose.replace(".", ",").replace(";", ",")),
        f"{size:,} chars of 'a'": ("success", "a" * size),
        f"{size:,} chars of numbers": ("success", "12 " * (size // 3)),
        f"{size:,} chars of negations": ("success", "not " * (size // 4)),
    }


def _time(answer: tuple[str, str], repeat: int, vocab: object) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            read([answer], vocab)  # type: ignore[arg-type]
        runs.append((time.perf_counter() - started) / repeat)
    return statistics.median(runs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    started = time.perf_counter()
    vocab = load_vocabulary()
    print(f"vocabulary load: {(time.perf_counter() - started) * 1e3:.0f} ms, "
          f"{len(vocab.terms):,} indexed phrases\n")  # fmt: skip

    rows = [(name, answer, args.repeat) for name, answer in TYPICAL.items()]
    rows += [(name, answer, max(1, args.repeat // 500)) for name, answer in _long(20_000).items()]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'answer':<{width}}  {'chars':>7}  {'µs per answer':>14}  {'µs per 100 chars':>17}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 14}  {'-' * 17}")
    for name, answer, repeat in rows:
        cost = _time(answer, repeat, vocab)
        chars = len(answer[1])
        per = cost / max(chars, 1) * 100
        print(f"{name:<{width}}  {chars:>7,}  {cost:>14,.0f}  {per:>17,.1f}")


if __name__ == "__main__":
    main()

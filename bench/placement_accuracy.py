"""How well the coach places teams, and how much of its advice is built from their words.

    python -m bench.placement_accuracy

Every profile in tests/profiles/ is interviewed through the engine on a fresh in-memory
store, twice: with the members' own stage-check picks ("honest"), and with a lazy member
who picks the middle option of every stage-check question (clarifying questions answered
honestly, from the profile's `truth`). Prints tables; asserts nothing.

- accuracy: teams (and members) placed on the rung the profile gives;
- own words: the share of next-action lines naming something the member typed;
- reader cost: microseconds to read one typed answer, over all the profiles' answers.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.advice import slots
from bot.engine import Coach
from bot.ladder import read_answers, vocabulary
from bot.messages import MemberKey
from bot.reader import Facts, read
from bot.store import SQLiteStore
from tests.profiles import Interviewed, Profile, interview_team, load_profiles


def _facts_of(coach: Coach, profile: Profile, user: str) -> Facts:
    member = coach.store.member(MemberKey("console", "local", user, profile.team))
    assert member is not None
    conv = coach.store.conversation(member.id, flow="coffee")
    assert conv is not None
    return read_answers(coach.store.answers(conv.id), coach.interview).facts


def _own_words(profile: Profile, results: list[Interviewed], coach: Coach) -> tuple[int, int]:
    """Action lines holding a fact the member typed (a network, customer, person, number)."""
    hits = total = 0
    for member, result in zip(profile.members, results, strict=True):
        typed = " ".join(" ".join(a) for a in member.answers.values()).casefold()
        facts = _facts_of(coach, profile, member.user)
        values = [v for v in slots(facts).values() if v.casefold() in typed]
        for action in result.actions:
            total += 1
            hits += any(v in action for v in values)
    return hits, total


@dataclass
class Accuracy:
    teams: float
    members: float
    own_words: float
    asked: float
    misses: list[str]
    # Members one of whose actions asks for what the profile says the team already does.
    already_done: int


def run(profiles: list[Profile], *, lazy: bool) -> Accuracy:
    right_teams = right_members = members = hits = lines = asked = done = 0
    misses = []
    with tempfile.TemporaryDirectory() as tmp:
        for profile in profiles:
            store = SQLiteStore(Path(tmp) / f"{profile.team}-{lazy}.db")
            coach = Coach(store)
            rung, results = interview_team(coach, profile, lazy=lazy)
            right_teams += rung == profile.expected_rung
            if rung != profile.expected_rung:
                misses.append(f"{profile.team} ({rung} for {profile.expected_rung})")
            for member, result in zip(profile.members, results, strict=True):
                members += 1
                right_members += result.rung == member.expected_rung
                asked += len(result.clarified)
                done += any(member.truth.get(k.split(".")[1], False) for k in result.keys)
            h, t = _own_words(profile, results, coach)
            hits, lines = hits + h, lines + t
            store.close()
    return Accuracy(
        teams=right_teams / len(profiles),
        members=right_members / members,
        own_words=hits / lines if lines else 0.0,
        asked=asked / members,
        misses=misses,
        already_done=done,
    )


def reader_cost(profiles: list[Profile]) -> tuple[float, float]:
    """Median and worst microseconds per answer; then one 20,000-character answer."""
    vocab = vocabulary()
    texts = [
        (question, text)
        for p in profiles
        for m in p.members
        for question, given in m.answers.items()
        for text in given
    ]
    per = []
    for _ in range(5):
        start = time.perf_counter()
        for pair in texts:
            read([pair], vocab)
        per.append((time.perf_counter() - start) / len(texts) * 1e6)
    long_text = " ".join(t for _, t in texts)[:20_000]
    start = time.perf_counter()
    read([("sustain", long_text)], vocab)
    return statistics.median(per), (time.perf_counter() - start) * 1e6


def main() -> None:
    profiles = load_profiles()
    print(f"{len(profiles)} team profiles, {sum(len(p.members) for p in profiles)} members\n")
    print(
        "| picks | teams placed right | members placed right | action lines in own words |"
        " clarifying questions per member | action sets asking for what is done | misses |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, lazy in (("honest", False), ("lazy (middle option)", True)):
        r = run(profiles, lazy=lazy)
        print(
            f"| {label} | {r.teams:.0%} | {r.members:.0%} | {r.own_words:.0%} |"
            f" {r.asked:.1f} | {r.already_done} | {', '.join(r.misses) or '-'} |"
        )
    typical, long_one = reader_cost(profiles)
    print(
        f"\nReader: {typical:.0f} µs per typed answer (median of 5 passes);"
        f" one 20,000-character answer: {long_one / 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()

"""Shared pieces for the check-in tests: a recording Sender and a team that did the interview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from adapters.console import incoming as terminal
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.service import CheckIns
from bot.engine import Coach
from bot.messages import MemberKey, Outgoing, Undeliverable
from tests.interview import run_interview

TEAM = "bakers"


def key(user: str, team: str = TEAM) -> MemberKey:
    return MemberKey("console", "local", user, team)


class FakeSender:
    """Records what it is asked to send; can fail the next sends on request."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(outgoing)

    def fail(self, times: int, error: Exception | None = None) -> None:
        self.failures.extend([error or ConnectionError("connection refused")] * times)

    def refuse(self) -> None:
        self.failures.append(Undeliverable("the member left the workspace"))

    def to(self, user: str) -> list[Outgoing]:
        return [o for o in self.sent if o.key is not None and o.key.user == user]

    def texts(self, user: str) -> list[str]:
        return ["\n".join(r.text for r in o.replies) for o in self.to(user)]


def join(coach: Coach, user: str, *, zone: str | None = "Europe/Berlin", team: str = TEAM) -> None:
    """The member's first message, carrying the zone their platform reports."""
    coach.handle(replace(terminal(key(user, team), "help"), timezone=zone))


def interviewed_team(
    coach: Coach,
    users: Sequence[str] = ("ann", "bob"),
    *,
    zone: str = "Europe/Berlin",
    rung: int = 2,
    commit: str = "1",
) -> None:
    """A team whose members all finished the interview (ann, the first, is the lead)."""
    for user in users:
        join(coach, user, zone=zone)
        run_interview(coach, key(user), rung=rung, commit=commit)


async def run_pass(checkins: CheckIns, sender: FakeSender) -> PassReport:
    return await Scheduler(checkins, {sender.platform: sender}).run_pass()


class VirtualTime:
    """Pacing time that moves only when a send waits for its slot: no test ever sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep_until(self, moment: float) -> None:
        self.t = max(self.t, moment)

    async def sleep(self, seconds: float) -> None:
        self.t += seconds

"""What a door (Slack, Teams, the terminal) may ask of the coach, and nothing more.

Adapters hold a `Port`, never the store: handling a message, the App Home's picture, a
member's known address, the once-per-install welcome, noting a member, registering a
team. `CoachPort` answers from one `Coach` and its store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.engine import INTERVIEW, Coach
from bot.messages import Incoming, MemberKey, Noted, TeamKey, TeamReportCard, Turn
from bot.report import team_report
from bot.store import GROUP, TEAM


@dataclass(frozen=True, slots=True)
class Progress:
    """One member's way through the interview; `answered` is None before they start."""

    label: str
    answered: int | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Home:
    """The member's team at a glance; `report` is None for someone the coach never met."""

    ladder: tuple[str, ...]
    questions: int
    report: TeamReportCard | None = None
    team_address: str | None = None
    progress: tuple[Progress, ...] = ()
    interview: str | None = None


class Port(Protocol):
    def handle(self, msg: Incoming) -> Turn: ...

    def home(self, key: MemberKey) -> Home: ...

    def known_address(self, key: MemberKey) -> str | None: ...

    def note_member(self, incoming: Incoming) -> Noted | None: ...

    def welcome_once(
        self, key: TeamKey, *, event_id: str | None, welcome: str, within: timedelta
    ) -> bool: ...

    def team_name(self, key: TeamKey) -> str | None: ...

    def register_team(
        self, key: TeamKey, *, name: str | None, lead: str | None, address: str, group: bool = False
    ) -> str | None: ...


class CoachPort:
    """The `Port` of one coach."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self.store = coach.store

    def handle(self, msg: Incoming) -> Turn:
        return self.coach.handle(msg)

    def home(self, key: MemberKey) -> Home:
        coach, store = self.coach, self.store
        ladder = tuple(stage.name for stage in coach.ladder.stages)
        questions = coach.interview.questions
        member = store.member(key)
        if member is None:
            return Home(ladder=ladder, questions=len(questions))
        team = member.team
        started = {m.id: conv for m, conv in store.conversations_in(team.id, flow=INTERVIEW)}
        progress = []
        for other in store.members(team.id):
            conv = started.get(other.id)
            if conv is None:
                progress.append(Progress(other.label, None, None))
                continue
            answers = store.answers(conv.id)
            done = sum(1 for q in questions if q.id in answers and not answers[q.id].skipped)
            progress.append(Progress(other.label, done, conv.status))
        own = store.conversation(member.id, flow=INTERVIEW)
        return Home(
            ladder=ladder,
            questions=len(questions),
            report=team_report(coach, team),
            team_address=team.address,
            progress=tuple(progress),
            interview=own.status if own is not None else None,
        )

    def known_address(self, key: MemberKey) -> str | None:
        member = self.store.member(key)
        return member.address if member is not None else None

    def note_member(self, incoming: Incoming) -> Noted | None:
        """Note the member where they wrote (seen now, under this name), once per event.

        None for a repeated event. A member whose team was not known yet joins the team of
        the place, with what they answered, and `line` says so.
        """
        return self.coach.note(incoming)

    def welcome_once(
        self, key: TeamKey, *, event_id: str | None, welcome: str, within: timedelta
    ) -> bool:
        """True for the first welcome of an install (claimed in the store, for every process)."""
        store = self.store
        with store.transaction():
            if event_id and not store.claim_event(key.platform, key.workspace, event_id):
                return False
            return store.claim_event(
                key.platform, key.workspace, welcome, unless_seen_within=within
            )

    def team_name(self, key: TeamKey) -> str | None:
        team = self.store.team(key)
        return team.name if team is not None else None

    def register_team(
        self, key: TeamKey, *, name: str | None, lead: str | None, address: str, group: bool = False
    ) -> str | None:
        """Record the team (a group chat is not a team until someone makes it one), its
        name and where to post to it; return its name."""
        store = self.store
        with store.transaction():
            team = store.ensure_team(key, name=name, lead=lead, kind=GROUP if group else TEAM)
            fields = {"address": address} | ({"name": name} if name else {})
            store.update_team(team.id, **fields)
        return name or team.name

"""What a door (Slack, Teams, the terminal) may ask of the coach, and nothing more.

Adapters hold a port, never the store: handling a message, the App Home's picture, a
member's known address, the once-per-install welcome, noting a member, registering a
team. `CoachPort` answers from one `Coach` and its store, in the caller's thread (the
terminal's `SyncPort`). The platform doors hold a `Port`, whose calls are awaited:
`WorkerPort` runs each of `CoachPort`'s answers on the store's worker, off the event loop,
and raises `StoreBusy` when the store cannot be had in time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple, Protocol

from bot.clock import Clock
from bot.engine import INTERVIEW, Coach
from bot.messages import (
    Incoming,
    MemberKey,
    Noted,
    Parcel,
    Post,
    TeamKey,
    TeamReportCard,
    Turn,
)
from bot.outbox import ChannelQueue, Deliver, Relay
from bot.report import team_report
from bot.store import GROUP, TEAM, Store
from bot.store import StoreBusy as StoreBusy  # what a door may meet from any call
from bot.worker import Worker


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


# How a door turns a turn into what it will send (pure; run inside the turn's transaction).
Render = Callable[[Turn], Sequence[Post]]


class Posted(NamedTuple):
    """What a turn left to send, claimed for delivery; `duplicate` for a repeated event.

    Not the turn itself: the posts are what a door needs of it, and the turn may have run
    in another process (`bot.store_process`), so less crosses back.
    """

    duplicate: bool
    parcels: list[Parcel]


class SyncPort(Protocol):
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


class Port(Protocol):
    """`SyncPort`, awaited: what the platform doors hold."""

    async def handle(self, msg: Incoming) -> Turn: ...

    async def handle_and_post(self, msg: Incoming, render: Render, *, relay: Relay) -> Posted:
        """The turn's posts (what `render` makes of it), kept in the outbox in the same
        commit and claimed by `relay`; if the turn outlasts the wait (`StoreBusy`) and
        commits all the same, `relay` is handed its posts when it does."""
        ...

    def relay(self, platform: str, deliver: Deliver, *, queue: ChannelQueue | None) -> Relay:
        """The outbox's deliveries for one platform's door (`deliver` sends one post)."""
        ...

    async def home(self, key: MemberKey) -> Home: ...

    async def known_address(self, key: MemberKey) -> str | None: ...

    async def note_member(self, incoming: Incoming) -> Noted | None: ...

    async def welcome_once(
        self, key: TeamKey, *, event_id: str | None, welcome: str, within: timedelta
    ) -> bool: ...

    async def team_name(self, key: TeamKey) -> str | None: ...

    async def register_team(
        self, key: TeamKey, *, name: str | None, lead: str | None, address: str, group: bool = False
    ) -> str | None: ...


class CoachPort:
    """The `SyncPort` of one coach."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self.store = coach.store

    def handle(self, msg: Incoming) -> Turn:
        return self.coach.handle(msg)

    def handle_and_post(self, msg: Incoming, render: Render, *, claim: str) -> Posted:
        """The turn and its posts in one commit: a reply is never lost to a crash after it.

        A retried delivery (a duplicate turn) posts nothing: the first one's posts are
        kept until they are delivered. `claim` is the process that delivers them now.
        """
        store, key = self.store, msg.key
        parcels: list[Parcel] = []
        posted = False

        def post(turn: Turn) -> None:
            nonlocal posted
            posted = True
            if posts := render(turn):
                parcels.extend(
                    store.add_posts(key.platform, key.workspace, key.user, posts, worker=claim)
                )

        turn = self.coach.handle(msg, then=post)
        if not posted and not turn.duplicate and turn.replies:
            # A refusal or a conflict changed nothing; its reply is kept all the same.
            with store.transaction():
                post(turn)
        return Posted(turn.duplicate, parcels)

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


class WorkerPort:
    """The `Port` of one coach: each call made on the store's worker, off the event loop."""

    def __init__(
        self,
        port: CoachPort,
        worker: Worker,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
    ) -> None:
        """`store` is the port's own unless given (in another process, `bot.store_process`)."""
        self.port = port
        self.worker = worker
        self.store = store or port.store
        self.clock = clock or self.store.clock

    async def handle(self, msg: Incoming) -> Turn:
        return await self.worker.run(self.port.handle, msg)

    async def handle_and_post(self, msg: Incoming, render: Render, *, relay: Relay) -> Posted:
        def late(result: Posted) -> None:
            relay.dispatch(result.parcels)

        return await self.worker.run_then(
            late, self.port.handle_and_post, msg, render, claim=relay.name
        )

    def relay(self, platform: str, deliver: Deliver, *, queue: ChannelQueue | None) -> Relay:
        return Relay(platform, self.store, self.worker, deliver, queue=queue, clock=self.clock)

    async def home(self, key: MemberKey) -> Home:
        return await self.worker.run(self.port.home, key)

    async def known_address(self, key: MemberKey) -> str | None:
        return await self.worker.run(self.port.known_address, key)

    async def note_member(self, incoming: Incoming) -> Noted | None:
        return await self.worker.run(self.port.note_member, incoming)

    async def welcome_once(
        self, key: TeamKey, *, event_id: str | None, welcome: str, within: timedelta
    ) -> bool:
        return await self.worker.run(
            self.port.welcome_once, key, event_id=event_id, welcome=welcome, within=within
        )

    async def team_name(self, key: TeamKey) -> str | None:
        return await self.worker.run(self.port.team_name, key)

    async def register_team(
        self, key: TeamKey, *, name: str | None, lead: str | None, address: str, group: bool = False
    ) -> str | None:
        return await self.worker.run(
            self.port.register_team, key, name=name, lead=lead, address=address, group=group
        )

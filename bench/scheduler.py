"""The check-in scheduler at scale: finding what is due, a pass's throughput within the
platforms' rate limits, and its memory.

    python -m bench.scheduler [--teams 100000] [--members 10] [--checkins 10000]

1. Finding what is due: the two index reads a pass starts with (due schedules, due
   deliveries) and the task's next-wake lookup, with 100 teams due, as the store grows from
   1,000 to 100,000 teams of 10 members (plus 100,000 pending deliveries not yet due).
2. Memory: tracemalloc's peak during passes of 1,000 and 10,000 check-ins with senders that
   only count (pacing on a virtual clock), and the same 10,000 with a batch ten times larger.
3. Through the fake APIs, in real time: one pass of 10,000 check-ins, half Slack in 10
   workspaces and half Teams in 10 tenants, through the real adapters' Senders to the fake
   Slack Web API and the fake Bot Connector over HTTP on 127.0.0.1, paced by the real
   clock. The fakes answer from a process of their own (`bench/fakes_apart.py`), as the
   platforms answer from their own servers, not on the loop that sends. Rates are
   measured from the fakes' own arrival times. The floor is the pacing limit: the
   busiest workspace's API calls at its platform's rate (50 s for this mix: 500 Slack
   posts in each workspace at 10 a second), and the pass is given against it.
   `--runs` repeats the pass on fresh deliveries (the median ratio is the figure).

The harness stays out of the figures: start-up objects (the store, the flows, the doors)
are frozen with `gc.freeze()` before each pass, so full collections during it walk only
what the pass makes; the fakes record each call (the arrival table needs them) in their
own process, new for each pass, so no run carries the last one's records.

    python -m bench.scheduler --pass-only --teams 4000 --runs 3   (section 3 alone)

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bench.fakes_apart import FakeApart
from bench.procfs import process_cpu, store_process_pid
from bot.checkins import agenda
from bot.checkins.extension import install
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.service import CheckIns
from bot.clock import ManualClock, iso
from bot.config import Config
from bot.engine import Coach
from bot.messages import Outgoing, Sender
from bot.pacing import LIMITS, Pacer
from bot.server import SENDERS, WORKER, build_app, store_process_for
from bot.store import SQLiteStore, Store
from bot.store_process import PASSES, remote
from tests.checkin_support import VirtualTime
from tests.fakes.bot_connector import BOT
from tests.fakes.slack_api import BOT_TOKEN
from tests.sqlite_support import connection

ROOT = Path(__file__).resolve().parents[1]

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # when the teams not due are due
PLACEHOLDER = "http://connector.invalid/"
RUNG_2 = {
    "business_model": ("B2B", "b2b"),
    "sc_posts": ("Tailored to what we hear", "tailored"),
    "sc_listen": ("Regularly, with a tool or routine", "regularly"),
    "sc_reply": ("We answer direct questions", "questions"),
    "sc_hub": ("In our social posts", "social"),
    "sc_objectives": ("Loose goals", "loose"),
    "sc_owner": ("Several people, ad hoc", "adhoc"),
}
STEP = "Set up a weekly 30-minute listening routine."


@dataclass(frozen=True, slots=True)
class DueSet:
    """Teams `first`..`first + count - 1`, due together at `due`."""

    name: str
    first: int
    count: int
    due: datetime
    workspaces: int = 5

    def __contains__(self, team: int) -> bool:
        return self.first <= team < self.first + self.count


def due_sets(checkins: int, members: int, runs: int = 1) -> list[DueSet]:
    """A and B for the scaling and memory sections; C, C2... one per pass over HTTP."""
    big = max(1, checkins // members)
    return [
        DueSet("A", 1, 100, MONDAY),
        DueSet("B", 101, big, MONDAY + timedelta(minutes=5)),
        DueSet("B2", 101 + big, big, MONDAY + timedelta(minutes=6)),
        *(
            DueSet(
                f"C{n + 1}" if n else "C",
                101 + (2 + n) * big,
                big,
                MONDAY + timedelta(minutes=10 + 5 * n),
                workspaces=10,
            )
            for n in range(runs)
        ),
    ]


def platform_of(team: int, sets: list[DueSet]) -> tuple[str, str]:
    """Due teams alternate between Slack and Teams, each in one of a few workspaces."""
    found = next((s for s in sets if team in s), None)
    if found is None:
        return "slack", "W0"
    number = team // 2 % found.workspaces
    return ("slack", f"W{number}") if team % 2 else ("msteams", f"tenant-{number}")


def address(platform: str, user: str, tenant: str) -> str:
    if platform == "slack":
        return "D" + user
    return json.dumps(
        {
            "bot": {"id": BOT.id},
            "channelId": "msteams",
            "conversation": {
                "conversationType": "personal",
                "id": f"a:1{user}",
                "tenantId": tenant,
            },
            "serviceUrl": PLACEHOLDER,
            "user": {"id": f"29:{user}"},
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def populate(path: Path, first: int, last: int, members: int, sets: list[DueSet]) -> None:
    """Teams first..last, each with `members` members who finished the interview."""
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    week_ago = iso(MONDAY - timedelta(days=10))
    teams = range(first, last + 1)
    conn.executemany(
        "INSERT INTO teams (id, platform, workspace, team, name, timezone, lead, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'UTC', ?, ?)",
        ((t, *platform_of(t, sets), f"team{t}", f"Team {t}", f"u{t}_0", week_ago) for t in teams),
    )

    def member_rows() -> Iterator[tuple[object, ...]]:
        for t in teams:
            platform, workspace = platform_of(t, sets)
            for m in range(members):
                user = f"u{t}_{m}"
                yield ((t - 1) * members + m + 1, t, user, address(platform, user, workspace))

    conn.executemany(
        "INSERT INTO members (id, team_id, user, address, last_seen) VALUES (?, ?, ?, ?, ?)",
        ((*row, week_ago) for row in member_rows()),
    )
    ids = range((first - 1) * members + 1, last * members + 1)
    conn.executemany(
        "INSERT INTO conversations (id, member_id, flow, state, status, version, context,"
        " started_at, updated_at) VALUES (?, ?, 'coffee', 'end', 'done', 20,"
        " '{\"finished\": true}', ?, ?)",
        ((i, i, week_ago, week_ago) for i in ids),
    )
    due = [i for i in ids if any((i - 1) // members + 1 in s for s in sets)]
    conn.executemany(
        "INSERT INTO answers (conversation_id, question, version, text, value, created_at)"
        " VALUES (?, ?, 1, ?, ?, ?)",
        ((i, q, text, value, week_ago) for i in due for q, (text, value) in RUNG_2.items()),
    )
    conn.executemany(
        "INSERT INTO commitments (team_id, member_id, conversation_id, stage, action, status,"
        " created_at, updated_at) VALUES (?, ?, ?, 'Engage', ?, 'open', ?, ?)",
        (((i - 1) // members + 1, i, i, STEP, week_ago, week_ago) for i in due),
    )

    def schedule(team: int) -> tuple[object, ...]:
        found = next((s for s in sets if team in s), None)
        due = found.due if found else LATER
        return (team, due.weekday(), f"{due:%H:%M}", iso(due), week_ago)

    conn.executemany(
        "INSERT INTO schedules (team_id, cadence, weekday, local_time, day, anchor, timezone,"
        " working_days, quiet_start, quiet_end, stage_check_every, next_due, updated_at)"
        " VALUES (?, 'weekly', ?, ?, 1, '2026-11-02', 'UTC', '0,1,2,3,4', '20:00', '08:00', 4,"
        " ?, ?)",
        (schedule(t) for t in teams),
    )
    conn.execute("COMMIT")
    conn.close()


def add_future_deliveries(path: Path, count: int, members: int, teams: int) -> None:
    """Pending deliveries not due for weeks (reminders, deferred check-ins)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO deliveries (key, kind, team_id, member_id, due_at, created_at)"
            " VALUES (?, 'reminder', ?, ?, ?, ?)",
            (
                (
                    f"bench:{n}",
                    n % teams + 1,
                    (n % teams) * members + 1,
                    iso(LATER + timedelta(days=30, seconds=n)),
                    iso(MONDAY),
                )
                for n in range(count)
            ),
        )
    conn.close()


def median_ms(call: Callable[[], object], *, runs: int = 50) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def table(title: str, head: list[str], rows: list[list[object]]) -> None:
    print(f"\n{title}\n")
    widths = [max(len(str(c)) for c in column) for column in zip(head, *rows, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


# --- senders ---------------------------------------------------------------------------------


class Counting:
    """A Sender that only counts: the pass's own memory, without a fake's records."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.count = 0

    def messages(self, outgoing: Outgoing) -> int:
        return len(outgoing.replies)

    async def send(self, outgoing: Outgoing) -> None:
        self.count += 1


def peak_per_second(times: list[float]) -> int:
    """The most events in any one-second window."""
    ordered = sorted(times)
    return max((bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0)


# --- the sections ----------------------------------------------------------------------------


def find_due(store: Store, at: datetime) -> tuple[float, float, int]:
    found = len(agenda.due_schedules(store, at, 100))

    def due() -> None:
        agenda.due_schedules(store, at, 100)
        store.due_deliveries(at, 100)

    return median_ms(due), median_ms(lambda: store.next_wake()), found


async def counted_pass(
    checkins: CheckIns, clock: ManualClock, at: datetime, batch: int
) -> tuple[PassReport, float, float]:
    clock.set(at)
    virtual = VirtualTime()
    senders: dict[str, Sender] = {p: Counting(p) for p in ("slack", "msteams")}
    pacer = Pacer(monotonic=virtual.now, sleep_until=virtual.sleep_until)
    tracemalloc.start()
    start = time.perf_counter()
    report = await Scheduler(checkins, senders, pacer=pacer, batch=batch).run_pass()
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return report, wall, peak


async def with_doors(coach: Coach, api: FakeApart, at: datetime) -> web.AppRunner:
    """`serve`'s app with both doors and its store process, whose clock stands at `at`."""
    config = Config(
        slack_signing_secret="bench",
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api.url,
        teams_dev=True,
        scheduler=False,
    )
    spec = store_process_for(coach)
    assert spec is not None
    spec = replace(spec, clock=ManualClock(at))
    runner = web.AppRunner(build_app(coach, config, store_process=spec))
    await runner.setup()
    return runner


@dataclass(frozen=True, slots=True)
class Observed:
    """One pass as measured: each call the fakes received (its conversation and arrival
    time), and the CPU seconds the pass took in serve's own process (the loop that paces
    and sends) and in its store process."""

    slack: list[tuple[str, float]]
    teams: list[tuple[str, float]]
    serve_cpu: float
    store_cpu: float


async def through_fakes(
    coach: Coach, checkins: CheckIns, clock: ManualClock, due: DueSet
) -> tuple[PassReport, float, Observed]:
    """One pass at the real pace, through the adapters' Senders, to the fakes over HTTP."""
    async with FakeApart() as api:
        with coach.store.transaction():
            connection(coach.store).execute(
                "UPDATE members SET address = replace(address, ?, ?) WHERE team_id BETWEEN ? AND ?",
                (PLACEHOLDER, api.service_url, due.first, due.first + due.count - 1),
            )
        clock.set(due.due)
        runner = await with_doors(coach, api, due.due)
        try:
            senders: dict[str, Sender] = runner.app[SENDERS]
            gc.collect()
            gc.freeze()
            store_pid = store_process_pid(runner.app[WORKER])
            assert store_pid is not None
            cpu = process_cpu(), process_cpu(store_pid)
            start = time.perf_counter()
            # As `serve` runs it: its store work in the store process, off the loop.
            scheduler = Scheduler(
                checkins,
                senders,
                pacer=Pacer(),
                store_worker=runner.app[WORKER],
                work=remote(PASSES),
            )
            report = await scheduler.run_pass()
            wall = time.perf_counter() - start
            serve_cpu, store_cpu = process_cpu() - cpu[0], process_cpu(store_pid) - cpu[1]
        finally:
            gc.unfreeze()
            await runner.cleanup()
        # What was sent arrived before its answer came back: all of it is recorded now.
        teams = await api.connector_posts()
        slack = await api.arrivals("chat.postMessage", report.sent - len(teams))
        return report, wall, Observed(slack, teams, serve_cpu, store_cpu)


def workspace_of(store: Store, due: DueSet) -> dict[str, str]:
    """Each Slack DM channel and Teams conversation of a due set, with its workspace."""
    found: dict[str, str] = {}
    for platform, workspace, address in connection(store).execute(
        "SELECT t.platform, t.workspace, m.address FROM members m JOIN teams t ON t.id = m.team_id"
        " WHERE t.id BETWEEN ? AND ?",
        (due.first, due.first + due.count - 1),
    ):
        key = address if platform == "slack" else json.loads(address)["conversation"]["id"]
        found[key] = workspace
    return found


def arrival_rows(
    seen: Observed, workspaces: dict[str, str], wall: float
) -> tuple[list[list[object]], float]:
    """Per platform, from the fakes' arrival times: API calls, their peak rate per
    workspace and per conversation in any one second, against the limits; and the pacing
    limit, the seconds the busiest workspace's calls need at its platform's rate."""
    arrivals: dict[str, list[tuple[str, str, float]]] = {
        "slack": [(workspaces[channel], channel, at) for channel, at in seen.slack],
        "msteams": [
            (workspaces[conversation], conversation, at) for conversation, at in seen.teams
        ],
    }
    rows: list[list[object]] = []
    floor = 0.0
    for platform, calls in arrivals.items():
        by_workspace: dict[str, list[float]] = defaultdict(list)
        by_conversation: dict[str, list[float]] = defaultdict(list)
        for workspace, conversation, at in calls:
            by_workspace[workspace].append(at)
            by_conversation[conversation].append(at)
        times = [at for _, _, at in calls]
        limit = LIMITS[platform]
        floor = max(floor, max(map(len, by_workspace.values())) / limit.per_second)
        rows.append(
            [
                platform,
                f"{len(by_conversation):,}",
                f"{len(calls):,}",
                len(by_workspace),
                f"{max(map(peak_per_second, by_workspace.values()))} / {limit.per_second:g}",
                f"{max(map(peak_per_second, by_conversation.values()))}",
                f"{max(times) - min(times):.0f} s",
                f"{len(by_conversation) / wall:,.0f}",
            ]
        )
    return rows, floor


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--checkins", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="passes over HTTP (section 3)")
    parser.add_argument("--pass-only", action="store_true", help="section 3 alone")
    args = parser.parse_args()
    sets = due_sets(args.checkins, args.members, args.runs)
    needed = sets[-1].first + sets[-1].count - 1
    if args.teams < needed:
        parser.error(f"--teams must be at least {needed:,} for these check-in counts")
    sizes = [s for s in (1_000, 10_000) if s < args.teams and not args.pass_only]
    sizes.append(args.teams)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        clock = ManualClock(MONDAY - timedelta(days=10))
        SQLiteStore(path, clock=clock).close()

        rows: list[list[object]] = []
        done = 0
        for size in sizes:
            start = time.perf_counter()
            # With section 3 alone, the teams of sections 1 and 2 are not due at all.
            populate(path, done + 1, size, args.members, sets[3:] if args.pass_only else sets)
            pending = 0
            if size == sizes[-1]:
                pending = 100_000
                add_future_deliveries(path, pending, args.members, size)
            built = time.perf_counter() - start
            done = size
            if args.pass_only:
                continue
            store = SQLiteStore(path, clock=clock)
            find, wake, found = find_due(store, MONDAY)
            store.close()
            rows.append(
                [
                    f"{size:,}",
                    f"{size * args.members:,}",
                    f"{pending:,}",
                    found,
                    f"{find:.3f}",
                    f"{wake:.3f}",
                    f"{built:.1f}",
                ]
            )
        if not args.pass_only:
            await scaling_and_memory(rows, path, clock, sets, args.teams)
        coach = Coach(SQLiteStore(path, clock=clock))
        checkins = install(coach)
        ratios = []
        for due in sets[3:]:
            ratios.append(await paced_pass(coach, checkins, clock, due))
        if len(ratios) > 1:
            print(
                f"\nPass against the pacing limit, {len(ratios)} runs:"
                f" {' / '.join(f'{r:.2f}x' for r in ratios)};"
                f" median {statistics.median(ratios):.2f}x"
            )
        coach.store.close()


async def scaling_and_memory(
    rows: list[list[object]], path: Path, clock: ManualClock, sets: list[DueSet], teams: int
) -> None:
    """Sections 1 and 2: the due reads as the store grows, and a pass's memory."""
    table(
        "1. Finding what is due (median of 50; 100 teams due)",
        [
            "teams",
            "members",
            "pending, not due",
            "teams due",
            "due schedules + deliveries ms",
            "next wake ms",
            "built in s",
        ],
        rows,
    )
    coach = Coach(SQLiteStore(path, clock=clock))
    checkins = install(coach)
    memory_rows: list[list[object]] = []
    for due, batch in ((sets[0], 100), (sets[1], 100), (sets[2], 1_000)):
        report, wall, peak = await counted_pass(checkins, clock, due.due, batch)
        memory_rows.append([f"{report.sent:,}", batch, f"{peak:.1f}", f"{wall:.1f}", f"{teams:,}"])
    table(
        "2. Memory during a pass (tracemalloc peak; senders that only count)",
        ["check-ins sent", "batch", "peak MiB", "wall s (traced)", "teams in store"],
        memory_rows,
    )
    coach.store.close()


async def paced_pass(coach: Coach, checkins: CheckIns, clock: ManualClock, due: DueSet) -> float:
    """Section 3 for one due set; returns the pass's time against its pacing limit."""
    report, wall, seen = await through_fakes(coach, checkins, clock, due)
    rows, floor = arrival_rows(seen, workspace_of(coach.store, due), wall)
    table(
        f"3. One pass through the fake APIs over HTTP at the real pace: {report.sent:,}"
        f" check-ins in {wall:.1f} s ({report.sent / wall:,.0f} check-ins/s), against a"
        f" pacing limit of {floor:.1f} s: {wall / floor:.2f}x;"
        f" failed {report.failed}, retrying {report.retrying}; CPU per check-in"
        f" {seen.serve_cpu / report.sent * 1000:.2f} ms in serve's process,"
        f" {seen.store_cpu / report.sent * 1000:.2f} ms in its store process",
        [
            "platform",
            "check-ins",
            "API calls",
            "workspaces",
            "peak calls/s per workspace / limit",
            "peak calls/s per conversation",
            "span",
            "check-ins/s",
        ],
        rows,
    )
    return wall / floor


if __name__ == "__main__":
    asyncio.run(main())

"""`coffee-coach serve`: one aiohttp application with a door per configured platform.

This module is part of the composition root: it may import adapters. A platform with no
credentials is not mounted, and the start-up log says which doors are open.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

from aiohttp import web

from bot.checkins import cli as checkin_cli
from bot.checkins import scheduler
from bot.checkins.cli import TerminalSender
from bot.checkins.extension import install as install_checkins
from bot.checkins.scheduler import PassReport, Scheduler
from bot.checkins.service import CheckIns
from bot.config import Config, config_problems
from bot.edge import EDGE, Edge, run
from bot.engine import Coach
from bot.errors import CliError
from bot.floods import configure_logging
from bot.messages import Sender
from bot.port import CoachPort, WorkerPort
from bot.store import SQLiteStore, database_url, open_store
from bot.store_process import PASSES, PORT, STORE, StoreProcess, StoreSpec, remote
from bot.worker import WAIT_S, InlineWorker, StoreWorker, Worker

log = logging.getLogger("coffee_coach.server")

COACH: web.AppKey[Coach] = web.AppKey("coach", Coach)
CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
SENDERS: web.AppKey[dict[str, Sender]] = web.AppKey("senders", dict)
DOORS: web.AppKey[list[str]] = web.AppKey("doors", list)
WORKER: web.AppKey[Worker] = web.AppKey("worker", Worker)

# How long the health check waits for a read of the store.
HEALTH_WAIT_S = 1.0


async def healthz(request: web.Request) -> web.Response:
    """200 while the store can serve a turn; 503 with the reason when it cannot.

    The check runs in a thread of its own, beside the store's worker, so a turn waiting for
    a lock never holds up the health check.
    """
    store = request.app[COACH].store
    doors = request.app[DOORS]
    try:
        problem = await asyncio.wait_for(asyncio.to_thread(store.health), HEALTH_WAIT_S)
    except TimeoutError:
        problem = f"the store did not answer a read within {HEALTH_WAIT_S:g} s"
    if problem is None:
        return web.json_response({"ok": True, "doors": doors})
    return web.json_response({"ok": False, "doors": doors, "reason": problem}, status=503)


async def _checkpoints(app: web.Application) -> AsyncIterator[None]:
    """WAL checkpoints in a background thread while serving, not inside a member's turn."""
    halt = app[COACH].store.checkpoint_in_background()
    yield
    halt()


def register(senders: dict[str, Sender], sender: Sender) -> None:
    """Offer a door's Sender to the scheduler, under its platform's name."""
    senders[sender.platform] = sender


async def _close_worker(app: web.Application) -> AsyncIterator[None]:
    worker = app[WORKER]
    if isinstance(worker, StoreProcess):
        await worker.start()
    yield
    await asyncio.to_thread(worker.close)


def build_app(
    coach: Coach,
    config: Config,
    *,
    worker: Worker | None = None,
    store_process: StoreSpec | None = None,
) -> web.Application:
    """The whole server: health check, the platform doors that are configured, the scheduler.

    Every store call of the doors and the scheduler runs on `worker` (by default a thread
    of the store's own, or as many as the store allows at once), off the event loop. With
    `store_process`, the doors' calls and the scheduler's run instead in a process of the
    store's own, which opens the store as `store_process` says (`bot.store_process`).
    """
    edge = Edge(config.limits)
    app = web.Application(client_max_size=1024 * 1024, middlewares=[edge.middleware])
    app[EDGE] = edge
    if worker is None:
        worker = StoreWorker(threads=getattr(coach.store, "concurrency", 1))
    # Check-in commands and hooks in every door, whether or not this process schedules.
    checkins = install_checkins(coach)
    port = WorkerPort(CoachPort(coach), worker)
    passes = None
    if store_process is not None:
        worker = StoreProcess(store_process, local=worker)
        port = WorkerPort(remote(PORT), worker, store=remote(STORE), clock=coach.store.clock)
        passes = remote(PASSES)
        # The turns' changes happen in the store process: the scheduler here wakes for them.
        worker.subscribe(checkins.changed)
    app[COACH] = coach
    app[CONFIG] = config
    app[SENDERS] = {}
    app[DOORS] = []
    app[WORKER] = worker
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(_checkpoints)
    app.cleanup_ctx.append(_close_worker)
    senders: dict[str, Sender] = app[SENDERS]
    if config.slack_enabled:
        from adapters.slack import door as slack

        # Installs live beside the coach's data: its SQLite file, or its PostgreSQL
        # database (whose URL, password and all, only the configuration holds).
        url = database_url(config.db)
        oauth_db = config.db if url.backend == "postgresql" else coach.store.path
        register(senders, slack.mount(app, port, config, oauth_db=oauth_db).sender)
        app[DOORS].append("slack")
    if config.teams_enabled:
        from adapters.teams import door as teams

        register(senders, teams.mount(app, port, config).sender)
        app[DOORS].append("teams")
    if config.scheduler:
        scheduler.mount(app, coach, senders, store_worker=worker, work=passes)
    return app


async def tick(coach: Coach, checkins: CheckIns, config: Config) -> PassReport:
    """One pass through the platforms' own Senders, set up as `serve` sets them up."""
    # One pass in a process of its own: nothing else waits on its loop.
    app = build_app(coach, replace(config, scheduler=False), worker=InlineWorker())
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        doors: dict[str, Sender] = app[SENDERS]
        senders: dict[str, Sender] = {"console": TerminalSender(sys.stdout), **doors}
        return await Scheduler(checkins, senders).run_pass()
    finally:
        await runner.cleanup()


def cmd_tick(args: argparse.Namespace) -> int:
    """`coffee-coach tick`: its parser is declared in bot/subcommands.py."""
    return checkin_cli.cmd_tick(args, through_doors=tick)


def store_process_for(coach: Coach) -> StoreSpec | None:
    """How `serve` runs a SQLite file's turns: in a process of their own, on another core.

    PostgreSQL's turns stay on the pool's threads (the database is a process of its own
    already, and the pool runs several turns at once); so does a store in memory.
    """
    store = coach.store
    if not isinstance(store, SQLiteStore) or store.path == ":memory:":
        return None
    return StoreSpec(store.path, busy_timeout_ms=int(WAIT_S * 1000), wait_s=WAIT_S)


def cmd_serve(args: argparse.Namespace) -> int:
    configure_logging()
    if problems := config_problems():
        raise CliError("the configuration needs fixing:\n  " + "\n  ".join(problems))
    config = Config.from_env(
        port=args.port,
        db=args.db,
        host=args.host,
        scheduler=False if args.no_scheduler else None,
    )
    url = database_url(config.db)
    # A turn waits for another process's lock at most as long as a door waits for the turn.
    coach = Coach(open_store(config.db, busy_timeout_ms=int(WAIT_S * 1000), timeout_s=WAIT_S))
    app = build_app(coach, config, store_process=store_process_for(coach))
    doors = app[DOORS]
    log.info(
        "Coffee Coach on %s:%d, store %s, scheduler %s, doors open: %s",
        config.host,
        config.port,
        url.redacted(),
        "on" if config.scheduler else "off (--no-scheduler)",
        ", ".join(doors) if doors else "none (set Slack or Teams credentials; see README)",
    )
    # What start-up allocated (the SDKs, the flows) lives as long as the process: keep it
    # out of the collector's full passes, which otherwise stall a turn for tens of ms.
    gc.collect()
    gc.freeze()
    run(app, host=config.host, port=config.port)
    return 0

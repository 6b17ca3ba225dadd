"""Commands beyond the core chat: serving, scheduling, packaging.

Their parsers are declared here and their code is imported only when the command runs,
so `coffee-coach chat` starts without loading aiohttp, slack-bolt or botbuilder.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Runner = Callable[[argparse.Namespace], int]


def lazy(target: str) -> Runner:
    """A runner that imports `module:function` on first use."""
    module_name, _, function_name = target.partition(":")

    def run(args: argparse.Namespace) -> int:
        function: Runner = getattr(importlib.import_module(module_name), function_name)
        return function(args)

    return run


def _serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="serve Slack and Teams over HTTP, with the scheduler")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--host", default=None, help="default: $HOST or 0.0.0.0")
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="send no check-ins from this process (a cron `tick`, or another serve, does)",
    )
    serve.set_defaults(run=lazy("bot.server:cmd_serve"))


def _teams_package(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    package = sub.add_parser("teams-package", help="write the Teams app package (a zip) to upload")
    package.add_argument("--app-id", required=True, help="the bot's Microsoft app id (a GUID)")
    package.add_argument("--output", "-o", default="coffee-coach-teams.zip")
    package.add_argument("--version", help="x.y.z (default: the installed version)")
    package.add_argument("--developer", help="the publisher's name shown in Teams")
    package.add_argument("--website-url", help="https URL of the publisher's site")
    package.add_argument("--privacy-url", help="https URL of the privacy statement")
    package.add_argument("--terms-url", help="https URL of the terms of use")
    package.set_defaults(run=lazy("adapters.teams.app_package:cmd_teams_package"))


def _checkins(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tick = sub.add_parser("tick", help="run one check-in scheduler pass and exit (for cron)")
    tick.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send and record nothing"
    )
    tick.add_argument("--at", help="with --dry-run: pretend it is this moment (ISO, with offset)")
    tick.set_defaults(run=lazy("bot.server:cmd_tick"))

    schedule = sub.add_parser("schedule", help="show or change a team's check-in schedule")
    schedule.add_argument("--team", required=True, help="the team's name or id")
    schedule.add_argument("--platform", default="console", help="console, slack or msteams")
    schedule.add_argument("--workspace", default="local", help="Slack workspace or Teams tenant")
    schedule.add_argument("--cadence", help="weekly, fortnightly (every two weeks), monthly, off")
    schedule.add_argument("--weekday", help="the check-in day, such as monday")
    schedule.add_argument("--time", help="local time, such as 09:30")
    schedule.add_argument("--zone", help="IANA time zone, such as Europe/Paris")
    schedule.add_argument("--days", help="working days, such as mon-fri or sun-thu")
    schedule.add_argument("--quiet", help="quiet hours, such as 20:00-08:00")
    schedule.add_argument("--day", help="monthly: day of the month, 1 to 31 or last")
    schedule.add_argument("--stage-check-every", help="stage check every N check-ins, or never")
    schedule.set_defaults(run=lazy("bot.checkins.cli:cmd_schedule"))

    status = sub.add_parser("status", help="check-in schedules, deliveries and failed sends")
    status.set_defaults(run=lazy("bot.checkins.cli:cmd_status"))


def _migrate(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    migrate = sub.add_parser(
        "migrate", help="copy this SQLite store into an empty PostgreSQL database"
    )
    migrate.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user:password@host:port/dbname"
    )
    migrate.set_defaults(run=lazy("bot.cli:cmd_migrate"))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add every command beyond the core chat to the CLI's subparsers."""
    for add in (_serve, _teams_package, _checkins, _migrate):
        add(sub)

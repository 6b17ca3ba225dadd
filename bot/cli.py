"""`coffee-coach`: the command line, and the composition root that wires adapters to the coach.

Adapters are imported inside the commands that need them, so `coffee-coach chat` starts
without loading slack-bolt or botbuilder.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import subcommands
from bot.engine import Coach
from bot.errors import CliError
from bot.export import FORMATS, export_team
from bot.messages import TeamKey
from bot.port import CoachPort
from bot.render import report_lines
from bot.report import team_report
from bot.store import Store, StoreError, Team, database_url, open_store
from flows import FlowError

Command = Callable[[argparse.Namespace], int]


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.db)


def _coach(args: argparse.Namespace) -> Coach:
    from bot.checkins.extension import install

    coach = Coach(_store(args))
    install(coach)
    return coach


def _team(store: Store, args: argparse.Namespace) -> Team:
    key = TeamKey(args.platform, args.workspace, args.team)
    team = store.team(key)
    if team is None:
        known = ", ".join(t.team for t in store.teams() if t.platform == args.platform) or "none"
        raise CliError(
            f"No team {args.team!r} on {args.platform} (workspace {args.workspace})."
            f" Teams I know there: {known}."
        )
    return team


def cmd_chat(args: argparse.Namespace) -> int:
    from adapters.console import ConsoleChat

    return ConsoleChat(CoachPort(_coach(args)), team=args.team, user=args.user).run()


def cmd_report(args: argparse.Namespace) -> int:
    coach = _coach(args)
    card = team_report(coach, _team(coach.store, args))
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(card), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report_lines(card)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    coach = _coach(args)
    content, _ = export_team(coach, _team(coach.store, args), args.format)
    if args.output:
        Path(args.output).write_text(content, encoding="utf-8")
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(content if content.endswith("\n") else content + "\n")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    store = _store(args)
    team = _team(store, args)
    whom = f"member {args.user!r} of team {team.label!r}" if args.user else f"team {team.label!r}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError(f"Refusing to delete {whom} without confirmation: add --yes.")
        answer = input(f"Delete everything stored for {whom}? This cannot be undone. [y/N] ")
        if answer.strip().casefold() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    forgotten = store.forget(team.id, user=args.user)
    removed = forgotten.members
    if args.user and not removed:
        raise CliError(f"Team {team.label!r} has no member {args.user!r}; nothing deleted.")
    print(f"Deleted {whom} ({removed} member record(s)).")
    if forgotten.new_lead is not None:
        print(f"{forgotten.new_lead.label} now leads the team, and is told so.")
    return 0


def _team_args(parser: argparse.ArgumentParser, *, team_required: bool = True) -> None:
    parser.add_argument("--team", required=team_required, help="the team's name or id")
    parser.add_argument("--platform", default="console", help="console (default), slack or msteams")
    parser.add_argument(
        "--workspace", default="local", help="Slack workspace or Teams tenant id (default: local)"
    )


def build_parser() -> argparse.ArgumentParser:
    from adapters.console import default_user

    parser = argparse.ArgumentParser(
        prog="coffee-coach",
        description="Coffee Coach: a social media strategy coach for marketing teams.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("COFFEE_COACH_DB") or None,
        help="a SQLite file or a postgresql:// URL (default: $COFFEE_COACH_DB, ./coffee-coach.db)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = sub.add_parser("chat", help="the coffee interview in this terminal")
    chat.add_argument("--team", default="my-team", help="your team (default: my-team)")
    chat.add_argument("--user", default=default_user(), help="who you are (default: $USER)")
    chat.set_defaults(run=cmd_chat)

    report = sub.add_parser("report", help="the team picture")
    _team_args(report)
    report.add_argument("--json", action="store_true", help="as JSON")
    report.set_defaults(run=cmd_report)

    export = sub.add_parser("export", help="everything stored for a team")
    _team_args(export)
    export.add_argument("--format", choices=sorted(FORMATS), default="md")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(run=cmd_export)

    forget = sub.add_parser("forget", help="delete a team's data, or one member's")
    _team_args(forget)
    forget.add_argument("--user", help="only this member")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.set_defaults(run=cmd_forget)

    subcommands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except (StoreError, FlowError, CliError) as exc:
        print(f"coffee-coach: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(
            f"coffee-coach: the database could not be read or written ({exc});"
            " it was left as it is.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())


def cmd_migrate(args: argparse.Namespace) -> int:
    """`coffee-coach migrate`: copy the store that --db (or COFFEE_COACH_DB) names, with
    its Slack installs, into the empty PostgreSQL database --to."""
    source = database_url(args.db)
    target = database_url(args.to)
    if source.backend != "sqlite":
        raise CliError(f"--db must name the SQLite store to copy, not {source.redacted()}")
    if target.backend != "postgresql":
        raise CliError(f"--to must be a postgresql:// URL, not {target.redacted()}")
    from adapters.slack import installations
    from bot.store.copying import OtherTable, copy_to_postgres

    def progress(step: str) -> None:
        print(step, flush=True)

    slack = [OtherTable(name, installations.copied_row) for name in installations.COPIED_TABLES]
    try:
        copied = copy_to_postgres(
            source.sqlite_path,
            target.postgres_conninfo,
            others=slack,
            prepare=lambda: installations.create_postgres_tables(target.postgres_conninfo),
            progress=progress,
        )
    except StoreError as exc:
        raise CliError(f"{target.redacted()}: {exc}") from exc
    width = max(len(table) for table in copied)
    for table, rows in copied.items():
        print(f"{table:<{width}}  {rows:>9,}")
    print(f"copied {sum(copied.values()):,} rows into {target.redacted()}; the counts match")
    return 0

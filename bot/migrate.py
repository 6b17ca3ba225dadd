"""`coffee-coach migrate --to postgresql://...`: move a SQLite deployment onto PostgreSQL."""

from __future__ import annotations

import argparse
import sys

from bot.errors import CliError
from bot.store import StoreError, database_url


def cmd_migrate(args: argparse.Namespace) -> int:
    """Copy the store that --db (or COFFEE_COACH_DB) names into the empty database --to."""
    source = database_url(args.db)
    target = database_url(args.to)
    if source.backend != "sqlite":
        raise CliError(f"--db must name the SQLite store to copy, not {source.redacted()}")
    if target.backend != "postgresql":
        raise CliError(f"--to must be a postgresql:// URL, not {target.redacted()}")
    from bot.store.copying import copy_to_postgres, slack_rows

    def progress(step: str) -> None:
        print(step, flush=True)

    try:
        copied = copy_to_postgres(source.sqlite_path, target.postgres_conninfo, progress=progress)
    except StoreError as exc:
        raise CliError(f"{target.redacted()}: {exc}") from exc
    width = max(len(table) for table in copied)
    for table, rows in copied.items():
        print(f"{table:<{width}}  {rows:>9,}")
    print(f"copied {sum(copied.values()):,} rows into {target.redacted()}; the counts match")
    if left := slack_rows(source.sqlite_path):
        print(
            f"{left} rows of Slack OAuth installs stay in {source.redacted()}: serve on"
            " PostgreSQL takes SLACK_BOT_TOKEN, not OAuth installs",
            file=sys.stderr,
        )
    return 0

"""Moving a SQLite deployment onto PostgreSQL: every table copied in one transaction.

The target must be empty (a fresh database; the schema is created if missing). The copy
commits once, at the end, after the row counts of every table matched: a run that is
killed or fails leaves the target as empty as it found it, so running it again is safe
and never duplicates a row. Ids are copied as they are, so every reference stays true,
and each id sequence is moved past the largest copied id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from bot.store.postgres import MIGRATION_LOCK, PostgresStore
from bot.store.records import StoreError
from bot.store.sqlite import SQLiteStore

# Parents before children, so that every foreign key finds its row.
TABLES = (
    "meta",
    "teams",
    "members",
    "conversations",
    "answers",
    "placements",
    "commitments",
    "events",
    "schedules",
    "member_prefs",
    "deliveries",
)
# Tables that slack_sdk's SQLite stores keep in the same file, for OAuth installs.
SLACK_TABLES = ("slack_installations", "slack_bots", "oauth_states")


def copy_to_postgres(
    source: Path, conninfo: str, *, progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Copy the SQLite store at `source` into the empty PostgreSQL database `conninfo`.

    Returns the rows copied per table. Raises StoreError, having written nothing, if the
    target holds any Coffee Coach data or the counts do not match.
    """
    if not source.is_file():
        raise StoreError(f"{source} is not a file: give the SQLite database to copy")
    SQLiteStore(source).close()  # brings its schema to this version, as any start would
    PostgresStore(conninfo).close()  # creates the target's schema if it has none
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        with psycopg.connect(conninfo) as dst:
            dst.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            _refuse_non_empty(dst)
            copied = {}
            for table in TABLES:
                progress(f"copying {table}")
                copied[table] = _copy_table(src, dst, table)
            _verify(src, dst)
            progress("committing")
        return copied
    finally:
        src.close()


def slack_rows(source: Path) -> int:
    """Rows of Slack OAuth installs in the SQLite file: they are not copied."""
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return sum(
            int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            for name in SLACK_TABLES
            if name in present
        )
    finally:
        conn.close()


def _refuse_non_empty(dst: psycopg.Connection[tuple[object, ...]]) -> None:
    filled = []
    for table in TABLES:
        where = sql.SQL(" WHERE key <> 'schema_version'" if table == "meta" else "")
        row = dst.execute(
            sql.SQL("SELECT count(*) FROM {}{}").format(sql.Identifier(table), where)
        ).fetchone()
        if row and row[0]:
            filled.append(f"{table} ({row[0]} rows)")
    if filled:
        raise StoreError(
            "the target database already holds Coffee Coach data: "
            + ", ".join(filled)
            + ". Nothing was copied; give an empty database."
        )


def _columns(src: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in src.execute(f"PRAGMA table_info({table})")]


def _copy_table(
    src: sqlite3.Connection, dst: psycopg.Connection[tuple[object, ...]], table: str
) -> int:
    columns = _columns(src, table)
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    where = " WHERE key <> 'schema_version'" if table == "meta" else ""
    rows = src.execute(
        f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {table}{where}"
    )
    count = 0
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
    with dst.cursor() as cursor, cursor.copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
            count += 1
    if "id" in columns:
        dst.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'id'), coalesce(max(id), 1),"
                " max(id) IS NOT NULL) FROM {}"
            ).format(sql.Literal(table), sql.Identifier(table))
        )
    return count


def _verify(src: sqlite3.Connection, dst: psycopg.Connection[tuple[object, ...]]) -> None:
    for table in TABLES:
        theirs = dst.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        ours = src.execute(f"SELECT count(*) FROM {table}").fetchone()
        if theirs is None or ours is None or theirs[0] != ours[0]:
            raise StoreError(
                f"{table}: {ours and ours[0]} rows in SQLite but {theirs and theirs[0]} copied;"
                " nothing was committed"
            )

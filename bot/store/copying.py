"""Moving a SQLite deployment onto PostgreSQL: every table copied in one transaction.

The target must be empty (a fresh database; the schema is created if missing). The copy
commits once, at the end, after the row counts of every table matched: a run that is
killed or fails leaves the target as empty as it found it, so running it again is safe
and never duplicates a row. Ids are copied as they are, so every reference stays true,
and each id sequence is moved past the largest copied id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    "outbox",
)
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OtherTable:
    """A table another part of Coffee Coach keeps in the same file (Slack's installs, say),
    copied in the same transaction into a table of the same name the target already has:
    the columns both have, each row through `convert`."""

    name: str
    convert: Callable[[Row], Row] = lambda row: row


def copy_to_postgres(
    source: Path,
    conninfo: str,
    *,
    others: Sequence[OtherTable] = (),
    prepare: Callable[[], None] = lambda: None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Copy the SQLite store at `source` into the empty PostgreSQL database `conninfo`.

    Returns the rows copied per table. Raises StoreError, having written nothing, if the
    target holds any Coffee Coach data or the counts do not match. `others` that the
    source does not have are left out; `prepare` makes their tables in the target once it
    has the store's schema.
    """
    if not source.is_file():
        raise StoreError(f"{source} is not a file: give the SQLite database to copy")
    SQLiteStore(source).close()  # brings its schema to this version, as any start would
    PostgresStore(conninfo).close()  # creates the target's schema if it has none
    prepare()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        extra = [other for other in others if other.name in present]
        tables = [OtherTable(name) for name in TABLES] + extra
        with psycopg.connect(conninfo) as dst:
            dst.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            _refuse_non_empty(dst, [t.name for t in tables])
            copied = {}
            for table in tables:
                progress(f"copying {table.name}")
                copied[table.name] = _copy_table(src, dst, table)
            _verify(src, dst, [t.name for t in tables])
            progress("committing")
        # The planner's statistics of the copied tables, now rather than whenever
        # autovacuum comes by: without them it takes a workspace's teams for one row and
        # reads every team's members to find one member (a millisecond a turn at 1,000).
        progress("analyzing")
        with psycopg.connect(conninfo, autocommit=True) as dst:
            for table in tables:
                dst.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table.name)))
        return copied
    finally:
        src.close()


def _refuse_non_empty(dst: psycopg.Connection[tuple[object, ...]], tables: list[str]) -> None:
    filled = []
    for table in tables:
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


def _target_columns(dst: psycopg.Connection[tuple[object, ...]], table: str) -> set[str]:
    rows = dst.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s",
        (table,),
    ).fetchall()
    return {str(row[0]) for row in rows}


def _copy_table(
    src: sqlite3.Connection, dst: psycopg.Connection[tuple[object, ...]], table: OtherTable
) -> int:
    name = table.name
    wanted = _target_columns(dst, name)
    columns = [c for c in _columns(src, name) if c in wanted]
    where = " WHERE key <> 'schema_version'" if name == "meta" else ""
    rows = src.execute(
        f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {name}{where}"
    )
    count = 0
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(name), names)
    with dst.cursor() as cursor, cursor.copy(copy) as writer:
        for row in rows:
            converted = table.convert(dict(zip(columns, row, strict=True)))
            writer.write_row([converted[c] for c in columns])
            count += 1
    if "id" in columns:
        dst.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'id'), coalesce(max(id), 1),"
                " max(id) IS NOT NULL) FROM {}"
            ).format(sql.Literal(name), sql.Identifier(name))
        )
    return count


def _verify(
    src: sqlite3.Connection, dst: psycopg.Connection[tuple[object, ...]], tables: list[str]
) -> None:
    for table in tables:
        theirs = dst.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        ours = src.execute(f"SELECT count(*) FROM {table}").fetchone()
        if theirs is None or ours is None or theirs[0] != ours[0]:
            raise StoreError(
                f"{table}: {ours and ours[0]} rows in SQLite but {theirs and theirs[0]} copied;"
                " nothing was committed"
            )

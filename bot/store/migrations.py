"""The schema, as numbered migrations applied forward on start."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager

from bot.store.records import StoreError
from bot.store.tables import Connection

SCHEMA_VERSION = 8

# --- schema ----------------------------------------------------------------------------

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE teams (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        team TEXT NOT NULL,
        name TEXT,
        address TEXT,
        timezone TEXT,
        lead TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (platform, workspace, team)
    );
    CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        "user" TEXT NOT NULL,
        name TEXT,
        address TEXT,
        timezone TEXT,
        last_seen TEXT NOT NULL,
        UNIQUE (team_id, "user")
    );
    CREATE INDEX members_by_user ON members("user", last_seen);
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        flow TEXT NOT NULL,
        state TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        trail TEXT NOT NULL DEFAULT '[]',
        return_to TEXT,
        followed_up INTEGER NOT NULL DEFAULT 0,
        context TEXT NOT NULL DEFAULT '{}',
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX conversations_by_member ON conversations(member_id, id);
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        question TEXT NOT NULL,
        version INTEGER NOT NULL,
        text TEXT NOT NULL,
        value TEXT,
        skipped INTEGER NOT NULL DEFAULT 0,
        message_id TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (conversation_id, question, version)
    );
    CREATE INDEX answers_by_message ON answers(message_id) WHERE message_id IS NOT NULL;
    CREATE TABLE placements (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,
        conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
        rung INTEGER NOT NULL,
        stage TEXT NOT NULL,
        evidence TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX placements_by_team ON placements(team_id, id);
    CREATE TABLE commitments (
        id INTEGER PRIMARY KEY,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
        conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
        stage TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX commitments_by_member ON commitments(member_id, id);
    CREATE TABLE events (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        event_id TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_age ON events(seen_at);
    """,
    # Check-ins (bot/checkins/agenda.py): each team's schedule with its next due time, each member's
    # snooze and opt-out, and the outbox of deliveries, claimed before sending.
    2: """
    CREATE TABLE schedules (
        team_id INTEGER PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
        cadence TEXT NOT NULL,
        weekday INTEGER NOT NULL,
        local_time TEXT NOT NULL,
        day INTEGER NOT NULL,
        anchor TEXT NOT NULL,
        timezone TEXT NOT NULL,
        working_days TEXT NOT NULL,
        quiet_start TEXT NOT NULL,
        quiet_end TEXT NOT NULL,
        stage_check_every INTEGER NOT NULL,
        next_due TEXT,
        updated_at TEXT NOT NULL,
        updated_by TEXT
    );
    CREATE INDEX schedules_by_due ON schedules(next_due) WHERE next_due IS NOT NULL;
    CREATE TABLE member_prefs (
        member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
        opted_out INTEGER NOT NULL DEFAULT 0,
        snoozed_until TEXT
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,
        detail TEXT NOT NULL DEFAULT '{}',
        due_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_at TEXT,
        payload TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX deliveries_due ON deliveries(due_at) WHERE status = 'pending';
    CREATE INDEX deliveries_in_flight ON deliveries(claimed_at) WHERE status = 'sending';
    CREATE INDEX deliveries_by_member ON deliveries(member_id, kind, status);
    CREATE INDEX deliveries_by_status ON deliveries(status, finished_at);
    """,
    # The terminal door now sends a member's address (their user name) like every door;
    # terminal members stored before it did get it here, so their check-ins still go out.
    3: """
    UPDATE members SET address = "user"
    WHERE address IS NULL AND team_id IN (SELECT id FROM teams WHERE platform = 'console');
    """,
    # The team report and the export list a team's commitments: an index, not a full scan.
    4: """
    CREATE INDEX IF NOT EXISTS commitments_by_team ON commitments(team_id, id);
    """,
    # The outbox: what a turn sends is written in the turn's own transaction, and kept
    # until it is delivered, so a crash or restart never loses a reply. `user` is the
    # member whose turn it was (forget deletes their posts); a claim older than a lease
    # belongs to a process that stopped, and another takes the post over.
    5: """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        "user" TEXT NOT NULL,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        claimed_by TEXT,
        claimed_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 1,
        error TEXT,
        finished_at TEXT
    );
    CREATE INDEX outbox_unfinished ON outbox(platform, claimed_at) WHERE finished_at IS NULL;
    CREATE INDEX outbox_finished ON outbox(finished_at) WHERE finished_at IS NOT NULL;
    CREATE INDEX outbox_by_user ON outbox(platform, workspace, "user");
    """,
    # A platform event id names whose message it was, so that `forget` deletes a member's
    # event ids with the rest of their data (older ids name nobody, and age out in two days).
    # A lead who forgot themselves before leads were replaced: the longest-standing member.
    6: """
    ALTER TABLE events ADD COLUMN "user" TEXT;
    CREATE INDEX events_by_user ON events(platform, workspace, "user") WHERE "user" IS NOT NULL;
    UPDATE teams SET lead = (
        SELECT "user" FROM members WHERE team_id = teams.id ORDER BY id LIMIT 1
    ) WHERE lead IS NOT NULL
        AND lead NOT IN (SELECT "user" FROM members WHERE team_id = teams.id);
    """,
    # Every turn reads the member's current conversation: the one in progress, else the
    # latest (member_tables._CURRENT). An index in exactly that order lets SQLite read
    # the first entry instead of sorting the member's conversations in a temporary B-tree.
    7: """
    CREATE INDEX IF NOT EXISTS conversations_current
    ON conversations(member_id, (status IN ('active', 'paused')), id);
    """,
    # The team model (bot/engine/membership.py): what a team row stands for. `team` is a
    # channel, a Teams team, a terminal team, or a group chat its members chose to make a
    # team; `personal` holds what a member answered before their team was known; `group`
    # is a group DM or group chat nobody has made a team yet.
    8: """
    ALTER TABLE teams ADD COLUMN kind TEXT NOT NULL DEFAULT 'team';
    UPDATE teams SET kind = 'personal' WHERE team LIKE 'personal:%';
    """,
}


# --- PostgreSQL ------------------------------------------------------------------------

# The schema above is written in the SQL both databases speak, but for four things:
# SQLite's `INTEGER PRIMARY KEY` is its row id (PostgreSQL wants a serial column, which
# also takes given ids, so that `coffee-coach migrate` copies them as they are), `WITHOUT ROWID`
# is SQLite's alone, PostgreSQL's integers are 32-bit unless asked for 64, and its text
# compares by the server's locale unless told to compare bytes as SQLite does (the stored
# times compare as text).
_ROW_ID = re.compile(r"\bid INTEGER PRIMARY KEY\b")
_INTEGER = re.compile(r"\bINTEGER\b")
_TEXT = re.compile(r"\bTEXT\b")


def postgres_migration(version: int) -> str:
    """The statements of one migration, as PostgreSQL spells them."""
    statements = MIGRATIONS[version].replace(") WITHOUT ROWID", ")")
    statements = _ROW_ID.sub("id BIGSERIAL PRIMARY KEY", statements)
    statements = _INTEGER.sub("BIGINT", statements)
    return _TEXT.sub('TEXT COLLATE "C"', statements)


# --- applying them ----------------------------------------------------------------------


def migrate(
    conn: Connection,
    tables: set[str],
    *,
    where: str,
    statements: Callable[[int], str],
    step: Callable[[], AbstractContextManager[None]],
) -> None:
    """Bring the database holding `tables` up to SCHEMA_VERSION, each version in a `step`.

    A database of another program, or of a newer Coffee Coach, is refused untouched.
    """
    current = 0
    if "meta" in tables:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        current = int(row[0]) if row else 0
    elif tables:
        raise StoreError(
            f"{where} is a database of something else (tables: "
            f"{', '.join(sorted(tables)[:5])}); Coffee Coach will not write to it."
        )
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"{where} has schema version {current}, newer than this Coffee Coach knows"
            f" ({SCHEMA_VERSION}). Upgrade Coffee Coach; the database was not changed."
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with step():
            for statement in statements(version).split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )

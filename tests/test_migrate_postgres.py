"""`coffee-coach migrate --to postgresql://...`: a SQLite deployment moved onto PostgreSQL.

Run as the command itself (a subprocess), from a populated SQLite file to a fresh
database on the session's real PostgreSQL server.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from sqlalchemy import create_engine

from bot.clock import ManualClock
from bot.messages import MemberKey
from bot.store import CHECKIN, ScheduleColumns, SQLiteStore, Store
from bot.store.copying import TABLES
from bot.store.postgres import PostgresStore

ROOT = Path(__file__).resolve().parent.parent


def coffee_coach(*args: str, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "COFFEE_COACH_DB": str(db)}
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def migrate(db: Path, url: str) -> tuple[int, str, str]:
    proc = coffee_coach("migrate", "--to", url, db=db)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def populate(store: Store, clock: ManualClock) -> None:
    """Two teams with history: answer versions, placements, commitments, a schedule,
    preferences, deliveries in several states, event ids and the interview watermark."""
    for team in ("C_MKT", "C_OPS"):
        for user in ("U_ANN", "U_BOB"):
            member = store.ensure_member(MemberKey("slack", "T1", user, team), name=user)
            with store.transaction():
                conv = store.start_conversation(member.id, flow="coffee", state="value")
                store.add_answer(conv.id, "customers", text="bakeries", message_id="m1")
                store.add_answer(conv.id, "customers", text="bakeries and cafes")
                store.add_placement(
                    team_id=member.team.id,
                    member_id=member.id,
                    conversation_id=conv.id,
                    rung=2,
                    stage="listening",
                    evidence=[{"quote": "we ask", "question": "customers"}],
                )
                store.add_commitments(
                    team_id=member.team.id,
                    member_id=member.id,
                    conversation_id=conv.id,
                    stage="listening",
                    actions=["call three customers", "write it down"],
                )
                store.set_prefs(member.id, opted_out=False, snoozed_until=clock.now())
                store.enqueue(
                    key=f"checkin:{member.id}",
                    kind=CHECKIN,
                    team_id=member.team.id,
                    member_id=member.id,
                    due=clock.now(),
                )
                store.claim_event("slack", "T1", f"Ev-{member.id}")
            clock.advance(minutes=1)
        columns = ScheduleColumns(
            "weekly", 0, "09:30", 1, "2026-01-05", "UTC", "0,1,2,3,4", "20:00", "08:00", 4
        )
        with store.transaction():
            store.save_schedule_columns(
                member.team.id, columns, clock.now() + timedelta(days=1), by="U_ANN"
            )
    with store.transaction():
        [first, *_] = store.due_deliveries(clock.now(), 10)
        store.claim_delivery(first.id, worker="w1", payload="{}")
        store.record_sent(first.id, worker="w1")
        store.new_interviews(100)


CLIENT_ID = "111.222"


def install_slack(db: Path, workspace: str) -> None:
    """An OAuth install, kept by slack_sdk's SQLite store in the coach's file (as serve does)."""
    SQLite3InstallationStore(database=str(db), client_id=CLIENT_ID).save(
        Installation(
            app_id="A1",
            team_id=workspace,
            team_name=f"Workspace {workspace}",
            bot_token=f"xoxb-{workspace}",
            bot_id=f"B{workspace}",
            bot_user_id=f"U{workspace}",
            bot_scopes=["chat:write", "im:history"],
            user_id="U_INSTALLER",
            installed_at=1_700_000_000.0,
        )
    )


@pytest.fixture
def populated(tmp_path: Path, clock: ManualClock) -> Path:
    """A SQLite store file holding `populate`'s teams and two Slack installs."""
    db = tmp_path / "coach.db"
    source = SQLiteStore(db, clock=clock)
    populate(source, clock)
    source.close()
    install_slack(db, "T1")
    install_slack(db, "T2")
    return db


def everything(store: Store) -> list[object]:
    """What the coach can read back from a store, team by team."""
    return [
        (
            store.export_team(team.id),
            store.schedule_columns(team.id),
            [store.prefs_of(m.id) for m in store.members(team.id)],
            store.checkin_rounds(team.id),
        )
        for team in store.teams()
    ] + [store.delivery_counts(), store.stats(), store.next_wake()]


def test_migrate_to_postgres_copies_every_table_and_the_coach_reads_the_same(
    populated: Path, postgres_db_url: str, clock: ManualClock
) -> None:
    db = populated
    source = SQLiteStore(db, clock=clock)
    before = everything(source)
    source.close()

    code, out, err = migrate(db, postgres_db_url)
    assert code == 0, err
    assert "the counts match" in out
    password = psycopg.conninfo.conninfo_to_dict(postgres_db_url)["password"]
    assert isinstance(password, str) and password not in out + err

    target = PostgresStore(postgres_db_url, clock=clock)
    try:
        assert everything(target) == before
        # New rows get ids past the copied ones.
        member = target.ensure_member(MemberKey("slack", "T1", "U_CY", "C_MKT"))
        assert member.id == 5
        assert target.new_interviews(100) == []  # the watermark came along
    finally:
        target.close()
    engine = create_engine(postgres_db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        slack = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
        for workspace in ("T1", "T2"):
            bot = slack.find_bot(enterprise_id=None, team_id=workspace)
            assert bot is not None and bot.bot_token == f"xoxb-{workspace}"
            installed = slack.find_installation(enterprise_id=None, team_id=workspace)
            assert installed is not None and installed.user_id == "U_INSTALLER"
    finally:
        engine.dispose()


def test_migrate_to_postgres_leaves_the_planner_statistics_of_every_copied_table(
    populated: Path, postgres_db_url: str
) -> None:
    """Without them, until autovacuum comes by, PostgreSQL takes a workspace's teams for
    one row and reads every team's members to find the member of a turn."""
    code, _, err = migrate(populated, postgres_db_url)
    assert code == 0, err
    with psycopg.connect(postgres_db_url) as conn:
        analyzed = {
            row[0]
            for row in conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            )
        }
    assert set(TABLES) <= analyzed


def test_migrate_to_postgres_refuses_a_target_that_holds_data(
    populated: Path, postgres_db_url: str
) -> None:
    db = populated
    assert migrate(db, postgres_db_url)[0] == 0
    code, _, err = migrate(db, postgres_db_url)
    assert code == 2
    assert "already holds Coffee Coach data" in err and "teams (2 rows)" in err
    assert "slack_installations (2 rows)" in err
    with psycopg.connect(postgres_db_url) as conn:
        row = conn.execute("SELECT count(*) FROM answers").fetchone()
    assert row == (8,)


def test_migrate_to_postgres_killed_mid_copy_leaves_nothing_and_a_rerun_copies_once(
    populated: Path, postgres_db_url: str
) -> None:
    db = populated
    # Enough answer history that the copy is still running when it is killed.
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO answers (conversation_id, question, version, text, created_at)"
        " VALUES (1, 'value', ?, 'a long answer about what the customers value most', '')",
        [(v,) for v in range(1, 300_001)],
    )
    conn.commit()
    expected = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    conn.close()

    proc = coffee_coach("migrate", "--to", postgres_db_url, db=db)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "copying answers":
            break
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    code, _, err = migrate(db, postgres_db_url)
    assert code == 0, err
    with psycopg.connect(postgres_db_url) as pg:
        copied = {
            t: pg.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in TABLES
        }
    assert copied == expected

"""`coffee-coach serve` on PostgreSQL: it starts, names its store and never its password."""

from __future__ import annotations

import psycopg

from tests.serve_cluster import coffee_coach, until_serving
from tests.serve_process import free_port


def test_serve_on_postgres_logs_the_backend_without_the_password_and_its_scheduler_off(
    postgres_db_url: str,
) -> None:
    password = psycopg.conninfo.conninfo_to_dict(postgres_db_url)["password"]
    assert isinstance(password, str) and password
    env = {
        "COFFEE_COACH_DB": postgres_db_url,
        "COFFEE_COACH_TEAMS_DEV": "1",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    proc = coffee_coach("serve", "--no-scheduler", env=env)
    try:
        started = until_serving(proc)
    finally:
        proc.kill()
        proc.communicate()
    assert "store postgresql://coach:***@127.0.0.1:" in started, started
    assert "scheduler off" in started
    assert password not in started

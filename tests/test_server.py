"""`coffee-coach serve`'s application: health, doors, and how it uses the store."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.config import Config
from bot.engine import Coach
from bot.server import build_app
from tests.sqlite_support import connection


async def test_health_says_which_doors_are_open_and_checkpoints_run_off_the_turn_path(
    aiohttp_client: object, coach: Coach
) -> None:
    app = build_app(coach, Config(teams_dev=True, scheduler=False))
    client: TestClient[Any, Any] = await aiohttp_client(app)  # type: ignore[operator]
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"ok": True, "doors": ["teams"]}
    assert connection(coach.store).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    await client.close()
    assert connection(coach.store).execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000

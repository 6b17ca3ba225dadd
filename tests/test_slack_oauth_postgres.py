"""Slack installs over OAuth on PostgreSQL: what one server installs, every server uses.

Two servers (each its own app, store and door) on one real PostgreSQL database, with the
fake Slack Web API: the install starts on one, Slack's redirect lands on the other, and
a workspace installed that way is served by both with its own bot token.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.slack.door import SLACK_DOOR
from bot.config import Config
from bot.engine import Coach
from bot.server import build_app
from bot.store.postgres import PostgresStore
from tests.fakes.slack_api import FakeSlackAPI, SlackDriver, dm_channel, manifest_scopes

SECRET = "oauth-signing-secret"
WORKSPACE = "T0002"
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI(scopes=manifest_scopes()) as fake:
        yield fake
        assert fake.errors() == []


@pytest.fixture
async def servers(
    postgres_db_url: str, api: FakeSlackAPI, aiohttp_client: MakeClient
) -> AsyncIterator[list[Client]]:
    config = Config(
        db=postgres_db_url,
        slack_signing_secret=SECRET,
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_api_url=api.url,
        scheduler=False,
    )
    stores = [PostgresStore(postgres_db_url) for _ in range(2)]
    apps = [build_app(Coach(store), config) for store in stores]
    clients = [await aiohttp_client(app) for app in apps]
    yield clients
    for app in apps:
        await app[SLACK_DOOR].queue.drain()
    for client in clients:
        await client.close()
    for store in stores:
        store.close()


async def test_postgres_an_install_begun_on_one_server_and_finished_on_another_serves_both(
    servers: list[Client], api: FakeSlackAPI, postgres_db_url: str
) -> None:
    first, second = servers
    page = await first.get("/slack/install")
    assert page.status == 200
    [link] = re.findall(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', await page.text())
    [state] = parse_qs(urlsplit(html.unescape(link)).query)["state"]
    cookie = page.cookies["slack-app-oauth-state"]
    back = await second.get(
        "/slack/oauth_redirect",
        params={"code": f"code-{WORKSPACE}", "state": state},
        headers={"Cookie": f"{cookie.key}={cookie.value}"},
    )
    assert back.status == 200, await back.text()
    with psycopg.connect(postgres_db_url) as conn:
        rows = conn.execute("SELECT team_id FROM slack_installations").fetchall()
    assert rows == [(WORKSPACE,)]

    slack: SlackDriver | None = None
    for n, server in enumerate(servers):
        slack = SlackDriver(
            server, signing_secret=SECRET, team=WORKSPACE, api=api, same_slack_as=slack
        )
        response = await slack.command(f"U{n}")
        assert response.status == 200
        posted = await api.wait_for("chat.postMessage", count=n + 1)
        assert posted[-1].token == f"xoxb-{WORKSPACE}-installed"
        assert api.message(posted[-1]).channel == dm_channel(f"U{n}")


async def test_postgres_a_state_from_one_server_is_spent_once_across_servers(
    servers: list[Client], api: FakeSlackAPI
) -> None:
    first, second = servers
    page = await first.get("/slack/install")
    [link] = re.findall(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', await page.text())
    [state] = parse_qs(urlsplit(html.unescape(link)).query)["state"]
    cookie = page.cookies["slack-app-oauth-state"]
    headers = {"Cookie": f"{cookie.key}={cookie.value}"}
    params = {"code": f"code-{WORKSPACE}", "state": state}
    assert (await second.get("/slack/oauth_redirect", params=params, headers=headers)).status == 200
    replay = await first.get("/slack/oauth_redirect", params=params, headers=headers)
    assert replay.status in (400, 401)  # refused, whichever server it reaches
    assert len(api.sent("oauth.v2.access")) == 1

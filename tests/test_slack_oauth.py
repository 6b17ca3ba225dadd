"""Multi-workspace installs over OAuth: /slack/install, /slack/oauth_redirect, installations
kept in the coach's own SQLite file, and each workspace served with its own bot token."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from adapters.slack.door import SLACK_DOOR, SlackDoor
from adapters.slack.names import NOT_INSTALLED
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey, Outgoing, Reply, Undeliverable
from bot.server import build_app
from tests.fakes.slack_api import FakeSlackAPI, SlackDriver, dm_channel, manifest_scopes

SECRET = "oauth-signing-secret"
WORKSPACE = "T0002"


@dataclass
class Installed:
    client: TestClient  # type: ignore[type-arg]
    api: FakeSlackAPI
    door: SlackDoor
    db: Path


@pytest.fixture
async def served(coach: Coach, db_path: Path, aiohttp_client: object) -> AsyncIterator[Installed]:
    async with FakeSlackAPI(scopes=manifest_scopes()) as api:
        config = Config(
            slack_signing_secret=SECRET,
            slack_client_id="111.222",
            slack_client_secret="client-secret",
            slack_api_url=api.url,
            scheduler=False,
        )
        app = build_app(coach, config)
        client = await aiohttp_client(app)  # type: ignore[operator]
        yield Installed(client, api, app[SLACK_DOOR], db_path)
        await app[SLACK_DOOR].queue.drain()
        assert api.errors() == []


async def install(served: Installed, workspace: str = WORKSPACE) -> None:
    """A person installs the app: the install page, Slack's consent, the redirect back."""
    page = await served.client.get("/slack/install")
    assert page.status == 200
    [link] = re.findall(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', await page.text())
    query = parse_qs(urlsplit(html.unescape(link)).query)
    assert set(query["scope"][0].split(",")) == set(manifest_scopes())
    [state] = query["state"]

    # The state cookie is Secure: a browser sends it back over https; the test does it by hand.
    cookie = page.cookies["slack-app-oauth-state"]
    back = await served.client.get(
        "/slack/oauth_redirect",
        params={"code": f"code-{workspace}", "state": state},
        headers={"Cookie": f"{cookie.key}={cookie.value}"},
    )

    assert back.status == 200, await back.text()


def installed_teams(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "slack_installations" not in tables:
            return []
        return [row[0] for row in conn.execute("SELECT team_id FROM slack_installations")]


async def test_an_install_round_trip_keeps_the_installation_in_the_coach_database(
    served: Installed,
) -> None:
    await install(served)

    [access] = served.api.sent("oauth.v2.access")
    assert access.args["code"] == f"code-{WORKSPACE}"
    assert installed_teams(served.db) == [WORKSPACE]


async def test_an_installed_workspace_is_served_with_its_own_bot_token(
    served: Installed,
) -> None:
    await install(served)
    slack = SlackDriver(served.client, signing_secret=SECRET, team=WORKSPACE, api=served.api)

    response = await slack.command("U7")
    await served.door.queue.drain()

    assert response.status == 200
    [prompt] = served.api.sent("chat.postMessage")
    assert prompt.token == f"xoxb-{WORKSPACE}-installed"
    assert served.api.message(prompt).channel == dm_channel("U7")


async def test_a_second_event_from_a_workspace_needs_no_second_auth_test(
    served: Installed,
) -> None:
    await install(served)
    slack = SlackDriver(served.client, signing_secret=SECRET, team=WORKSPACE, api=served.api)
    installing = len(served.api.sent("auth.test"))

    await slack.command("U7")
    await slack.message("U7", "b2b")
    await served.door.queue.drain()

    assert len(served.api.sent("auth.test")) == installing + 1


async def test_a_callback_with_a_forged_state_installs_nothing(served: Installed) -> None:
    await served.client.get("/slack/install")

    back = await served.client.get(
        "/slack/oauth_redirect", params={"code": "code-T0666", "state": "forged"}
    )

    assert back.status == 400
    assert served.api.sent("oauth.v2.access") == []
    assert installed_teams(served.db) == []


async def test_uninstalling_removes_the_installation_and_keeps_the_coaching_data(
    served: Installed, coach: Coach
) -> None:
    await install(served)
    slack = SlackDriver(served.client, signing_secret=SECRET, team=WORKSPACE, api=served.api)
    await slack.command("U7")
    await served.door.queue.drain()

    response = await slack.event({"type": "app_uninstalled"})

    assert response.status == 200
    assert installed_teams(served.db) == []
    assert coach.store.member(MemberKey("slack", WORKSPACE, "U7")) is not None


async def test_a_revoked_bot_token_removes_the_installation(served: Installed) -> None:
    await install(served)
    slack = SlackDriver(served.client, signing_secret=SECRET, team=WORKSPACE, api=served.api)

    response = await slack.event(
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [f"UBOT{WORKSPACE}"]}}
    )

    assert response.status == 200
    with sqlite3.connect(served.db) as conn:
        assert conn.execute("SELECT count(*) FROM slack_bots").fetchone() == (0,)


async def test_the_sender_posts_with_the_workspaces_token(served: Installed) -> None:
    await install(served)

    await served.door.send(
        Outgoing("C0009", (Reply("Check-in time"),), MemberKey("slack", WORKSPACE, "U7"))
    )

    [post] = served.api.sent("chat.postMessage")
    assert post.token == f"xoxb-{WORKSPACE}-installed"


async def test_a_send_to_a_workspace_without_an_installation_is_undeliverable(
    served: Installed,
) -> None:
    with pytest.raises(Undeliverable, match="T0404"):
        await served.door.send(
            Outgoing("C0009", (Reply("hello"),), MemberKey("slack", "T0404", "U7"))
        )


async def test_a_command_from_an_uninstalled_workspace_is_answered_in_our_own_words(
    served: Installed,
) -> None:
    await install(served)
    slack = SlackDriver(served.client, signing_secret=SECRET, team=WORKSPACE, api=served.api)
    assert (await slack.event({"type": "app_uninstalled"})).status == 200

    response = await slack.command("U7", "status")

    assert response.status == 200
    [answer] = served.api.sent("respond")
    assert answer.args["text"] == NOT_INSTALLED
    assert "unknown reason" not in json.dumps(answer.args)

"""Socket Mode (SLACK_APP_TOKEN): the same listeners, reached over a WebSocket instead of
HTTP. The fake Slack opens the socket and pushes envelopes; the app acks each one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient

from adapters.slack.door import SLACK_DOOR, SlackDoor
from adapters.slack.names import SENT_TO_DM
from bot.config import Config
from bot.engine import Coach
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    FakeSlackAPI,
    SlackDriver,
    dm_channel,
    manifest_scopes,
)


@dataclass
class Socket:
    client: TestClient  # type: ignore[type-arg]
    api: FakeSlackAPI
    door: SlackDoor
    driver: SlackDriver


@pytest.fixture
async def socket(coach: Coach, aiohttp_client: object) -> AsyncIterator[Socket]:
    from bot.server import build_app

    async with FakeSlackAPI(scopes=manifest_scopes()) as api:
        config = Config(
            slack_app_token=APP_TOKEN,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=api.url,
            scheduler=False,
        )
        app = build_app(coach, config)
        client = await aiohttp_client(app)  # type: ignore[operator]
        await api.socket_connected()
        # The driver only builds payloads here; nothing is posted over HTTP.
        yield Socket(client, api, app[SLACK_DOOR], SlackDriver(client, signing_secret="", api=api))
        await app[SLACK_DOOR].queue.drain()
        assert api.errors() == []


async def test_socket_mode_opens_its_connection_with_the_app_token(socket: Socket) -> None:
    [opened] = socket.api.sent("apps.connections.open")

    assert opened.token == APP_TOKEN


async def test_a_slash_command_over_the_socket_is_acked_and_carries_on_in_the_dm(
    socket: Socket,
) -> None:
    form = dict(parse_qsl(socket.driver.command_body("U1", "")))

    ack = await socket.api.socket_send("slash_commands", form)

    assert ack["payload"] == {"text": SENT_TO_DM, "response_type": "ephemeral"}
    [prompt] = await socket.api.wait_for("chat.postMessage")
    assert socket.api.message(prompt).labels()[:3] == ["B2B", "B2C", "Both"]


async def test_events_and_button_presses_over_the_socket_move_the_interview_on(
    socket: Socket,
) -> None:
    form = dict(parse_qsl(socket.driver.command_body("U1", "")))
    await socket.api.socket_send("slash_commands", form)
    [prompt] = await socket.api.wait_for("chat.postMessage")

    press = socket.driver.press_payload("U1", socket.api.message(prompt), "B2B")
    await socket.api.socket_send("interactive", press)
    await socket.api.wait_for("chat.postMessage", count=2)
    event = json.loads(
        socket.driver.event_body(socket.driver.dm_event("U1", "Facilities managers at hospitals"))
    )
    await socket.api.socket_send("events_api", event)

    posts = await socket.api.wait_for("chat.postMessage", count=3)
    assert "Question 2 of 9" in posts[-1].args["text"]
    assert socket.api.message(posts[-1]).channel == dm_channel("U1")


async def test_without_a_signing_secret_there_is_no_http_endpoint(socket: Socket) -> None:
    response = await socket.client.post("/slack/events", data=b"{}")

    assert response.status in (404, 405)

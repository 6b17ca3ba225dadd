"""`web_call`, the door's own Web API call, against a server answering as Slack answers.

Slack's answers are compact JSON (`{"ok":true,...}`), where the fake Web API of the other
tests answers with spaces: both must be read the same way, an ok one without decoding
the message it echoes, any other one decoded and raised as the SDK raises it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.posts import Encoded
from adapters.slack.webapi import web_call, web_post

TOKEN = "xoxb-test"


class SlackLike:
    """Answers each method with the body set for it, and keeps what it was sent."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str]] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.content_types: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.content_types.append(request.content_type)
        self.received.append((method, await request.json()))
        status, body = self.answers[method]
        return web.Response(status=status, text=body, content_type="application/json")


@pytest.fixture
async def slack_like() -> AsyncIterator[tuple[SlackLike, AsyncWebClient]]:
    server = SlackLike()
    app = web.Application()
    app.router.add_post("/api/{method}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
        client.session = session
        yield server, client
    await runner.cleanup()


def compact(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


@pytest.mark.parametrize("encode", [compact, json.dumps], ids=["compact", "spaced"])
async def test_an_ok_answer_is_taken_once_however_it_is_spaced(
    slack_like: tuple[SlackLike, AsyncWebClient], encode: Any
) -> None:
    server, client = slack_like
    echoed = {"type": "message", "text": "Hi", "blocks": [{"type": "section"}], "ts": "1.2"}
    server.answers["chat.postMessage"] = (
        200,
        encode({"ok": True, "channel": "D1", "ts": "1.2", "message": echoed}),
    )
    await web_call(client, "chat.postMessage", channel="D1", text="Hi", blocks=[])
    assert server.received == [("chat.postMessage", {"channel": "D1", "text": "Hi", "blocks": []})]


@pytest.mark.parametrize("encode", [compact, json.dumps], ids=["compact", "spaced"])
async def test_an_answer_that_is_not_ok_raises_slack_s_error_and_is_not_sent_again(
    slack_like: tuple[SlackLike, AsyncWebClient], encode: Any
) -> None:
    server, client = slack_like
    server.answers["chat.update"] = (200, encode({"ok": False, "error": "message_not_found"}))
    with pytest.raises(SlackApiError) as raised:
        await web_call(client, "chat.update", channel="D1", ts="1.2", text="Hi")
    assert raised.value.response["error"] == "message_not_found"
    assert [method for method, _ in server.received] == ["chat.update"]


async def test_a_body_encoded_as_the_turn_was_rendered_is_sent_as_it_is(
    slack_like: tuple[SlackLike, AsyncWebClient],
) -> None:
    server, client = slack_like
    server.answers["chat.update"] = (200, compact({"ok": True, "channel": "D1", "ts": "1.2"}))
    body = {"channel": "D1", "ts": "1.2", "text": "Caf\u00e9 \u2615", "blocks": []}
    await web_post(client, "chat.update", Encoded(compact(body)))
    assert server.received == [("chat.update", body)]
    assert server.content_types == ["application/json"]

"""The fake Bot Connector itself, as other tests rely on it: members, conversations, failures."""

from __future__ import annotations

import aiohttp

from tests.fakes.bot_connector import FakeBotConnector


async def test_it_lists_the_members_it_was_given(connector: FakeBotConnector) -> None:
    connector.members["19:team@thread.tacv2"] = [{"id": "29:ann", "name": "Ann Baker"}]
    url = connector.service_url + "v3/conversations/19%3Ateam%40thread.tacv2/members"

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert await response.json() == [{"id": "29:ann", "name": "Ann Baker"}]
    [call] = connector.calls
    assert call.conversation_id == "19:team@thread.tacv2"


async def test_it_creates_conversations_and_records_what_is_posted_to_them(
    connector: FakeBotConnector,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            connector.service_url + "v3/conversations", json={"members": [{"id": "29:ann"}]}
        ) as response:
            created = await response.json()
        url = f"{connector.service_url}v3/conversations/{created['id']}/activities"
        async with session.post(url, json={"type": "message", "text": "hello"}) as response:
            posted = await response.json()

    [sent] = await connector.wait_for(count=1)
    assert sent.conversation_id == created["id"]
    assert sent.text == "hello"
    assert sent.id == posted["id"]


async def test_a_failure_is_answered_once_to_the_method_it_was_set_for(
    connector: FakeBotConnector,
) -> None:
    connector.fail_next(429, retry_after="2", method="POST")
    url = connector.service_url + "v3/conversations/a%3A1ann/activities"

    async with aiohttp.ClientSession() as session:
        async with session.get(url.replace("activities", "members")) as response:
            assert response.status == 200
        async with session.post(url, json={"type": "message"}) as response:
            assert (response.status, response.headers["Retry-After"]) == (429, "2")
        async with session.post(url, json={"type": "message"}) as response:
            assert response.status == 200

    assert [c.status for c in connector.calls] == [200, 429, 200]
    assert len(connector.posts()) == 1

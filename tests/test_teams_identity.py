"""The Teams door's authentication over real HTTP: tokens signed like the Bot Framework's,
checked against signing keys served by a fake issuer on 127.0.0.1 that can be slow or
down, and bodies no parser should see before the token is checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.teams.door import TEAMS
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey
from bot.server import build_app
from tests.fakes.bot_connector import TENANT, FakeBotConnector, Person, TeamsService
from tests.fakes.identity import FakeIdentity

APP_ID = "6b1f2a57-3c44-4a0e-9a3e-7d2c1b0f9e11"
ANN = Person("29:ann", "Ann Baker", "aad-ann")
DEEP = b"[" * 100_000 + b"]" * 100_000

ServerFactory = Callable[[web.Application], Any]


@pytest.fixture
async def identity() -> AsyncIterator[FakeIdentity]:
    async with FakeIdentity() as fake:
        yield fake


@pytest.fixture
async def server(
    aiohttp_server: ServerFactory,
    coach: Coach,
    connector: FakeBotConnector,
    identity: FakeIdentity,
) -> Any:
    config = Config(microsoft_app_id=APP_ID, microsoft_app_password="secret", scheduler=False)
    app = build_app(coach, config)
    app[TEAMS].connectors.login_url = connector.login_url
    app[TEAMS].keys.url = identity.metadata_url
    return await aiohttp_server(app)


@pytest.fixture
def teams(session: aiohttp.ClientSession, server: Any, connector: FakeBotConnector) -> TeamsService:
    return TeamsService(session, str(server.make_url("/api/messages")), connector)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_signed_by_the_bot_framework_lets_the_turn_run(
    teams: TeamsService, connector: FakeBotConnector, identity: FakeIdentity, coach: Coach
) -> None:
    token = FakeIdentity.token(APP_ID, connector.service_url)
    for text in ("start", "B2B"):
        message = teams.message(ANN, teams.personal_chat(ANN), text)
        assert await teams.post(message, headers=bearer(token)) == 200
    assert coach.store.member(MemberKey("msteams", TENANT, ANN.id, None)) is not None
    # The keys were fetched once, and kept.
    assert (identity.metadata_requests, identity.key_requests) == (1, 1)


@pytest.mark.parametrize(
    "token",
    [
        lambda url: FakeIdentity.token("another-app", url),
        lambda url: FakeIdentity.token(APP_ID, url, expires_in=-3600),
        lambda url: FakeIdentity.token(APP_ID, url, issuer="https://evil.example.com"),
        lambda url: FakeIdentity.token(APP_ID, "https://evil.example.com/"),
        lambda url: FakeIdentity.token(APP_ID, url, foreign_key=True),
        lambda url: FakeIdentity.token(APP_ID, url, key_id="unknown-key"),
    ],
    ids=["other-audience", "expired", "other-issuer", "other-service-url", "forged", "no-such-key"],
)
async def test_a_token_that_does_not_verify_gets_a_401_and_no_turn(
    token: Callable[[str], str], teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    message = teams.message(ANN, teams.personal_chat(ANN), "start")
    assert await teams.post(message, headers=bearer(token(connector.service_url))) == 401
    assert coach.store.member(MemberKey("msteams", TENANT, ANN.id, None)) is None
    assert connector.calls == []


async def test_a_key_not_endorsed_for_teams_is_refused(
    aiohttp_server: ServerFactory, coach: Coach, connector: FakeBotConnector
) -> None:
    async with (
        FakeIdentity(endorsements=("webchat",)) as webchat_only,
        aiohttp.ClientSession() as s,
    ):
        config = Config(microsoft_app_id=APP_ID, microsoft_app_password="x", scheduler=False)
        app = build_app(coach, config)
        app[TEAMS].keys.url = webchat_only.metadata_url
        server = await aiohttp_server(app)
        teams = TeamsService(s, str(server.make_url("/api/messages")), connector)
        message = teams.message(ANN, teams.personal_chat(ANN), "start")
        token = FakeIdentity.token(APP_ID, connector.service_url)
        assert await teams.post(message, headers=bearer(token)) == 401


async def test_a_slow_identity_endpoint_gives_a_503_and_never_freezes_the_server(
    teams: TeamsService,
    connector: FakeBotConnector,
    identity: FakeIdentity,
    server: Any,
    session: aiohttp.ClientSession,
) -> None:
    identity.stalled = True
    token = FakeIdentity.token(APP_ID, connector.service_url)
    message = teams.message(ANN, teams.personal_chat(ANN), "start")
    waiting = asyncio.create_task(teams.post(message, headers=bearer(token)))
    while identity.metadata_requests == 0:
        await asyncio.sleep(0.01)

    async with session.get(server.make_url("/healthz")) as health:
        assert health.status == 200
    assert not waiting.done()  # the health check was answered while the keys were awaited

    assert await waiting == 503
    # The next request is refused at once, without asking the endpoint again.
    assert await teams.post(message, headers=bearer(token)) == 503
    assert identity.metadata_requests == 1
    assert connector.calls == []


async def test_an_identity_endpoint_that_fails_gives_a_503(
    teams: TeamsService, connector: FakeBotConnector, identity: FakeIdentity
) -> None:
    identity.status = 500
    token = FakeIdentity.token(APP_ID, connector.service_url)
    message = teams.message(ANN, teams.personal_chat(ANN), "start")
    async with teams.session.post(teams.bot_url, json=message, headers=bearer(token)) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "30"


async def test_a_deeply_nested_body_is_refused_before_parsing_without_a_token_and_400_with_one(
    teams: TeamsService, connector: FakeBotConnector, session: aiohttp.ClientSession
) -> None:
    headers = {"Content-Type": "application/json"}
    async with session.post(teams.bot_url, data=DEEP, headers=headers) as response:
        assert response.status == 401
    token = FakeIdentity.token(APP_ID, connector.service_url)
    async with session.post(teams.bot_url, data=DEEP, headers=headers | bearer(token)) as response:
        assert response.status == 400
        assert "nests too deeply" in (await response.json())["error"]

"""No 5xx from bad input, at either door: every malformed request gets a 4xx with a short
reason, lone surrogates are replaced, and generated bodies and headers thrown at the real
server (hypothesis) never get a 5xx nor leave a traceback in the log."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.teams.door import TEAMS
from bot.config import Config
from bot.engine import Coach
from bot.messages import MemberKey
from bot.server import build_app
from tests.fakes.bot_connector import TENANT, FakeBotConnector, Person, TeamsService
from tests.fakes.identity import FakeIdentity
from tests.fakes.slack_api import BOT_TOKEN, TEAM, FakeSlackAPI, dm_channel, sign
from tests.loop_thread import LoopThread

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_ID = "6b1f2a57-3c44-4a0e-9a3e-7d2c1b0f9e11"
ANN = Person("29:ann", "Ann Baker", "aad-ann")
DEV = Config(teams_dev=True, scheduler=False)


class Tracebacks(logging.Handler):
    """Every record logged with a traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback" in record.getMessage():
            self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield handler
    root.setLevel(previous)
    root.removeHandler(handler)


# --- the Teams door: cases from the issue ------------------------------------------------------


@pytest.fixture
async def teams(
    aiohttp_server: Any, coach: Coach, connector: FakeBotConnector
) -> AsyncIterator[TeamsService]:
    app = build_app(coach, DEV)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        yield TeamsService(session, str(server.make_url("/api/messages")), connector)


async def post_raw(teams: TeamsService, body: bytes) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with teams.session.post(teams.bot_url, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: a["conversation"].pop("id"), "a conversation with an id"),
        (lambda a: a.pop("recipient"), "a recipient"),
        (lambda a: a.update(conversation="a string"), ""),
        (lambda a: a.update(recipient=["not", "an", "account"]), ""),
        (lambda a: a.update(serviceUrl=7), ""),
        (lambda a: a["from"].update(id=42), ""),
    ],
    ids=["no-conversation-id", "no-recipient", "conversation-a-string", "recipient-a-list",
         "service-url-a-number", "from-id-a-number"],
)  # fmt: skip
async def test_a_teams_activity_missing_what_a_reply_needs_gets_a_400_with_the_reason(
    change: Any, reason: str, teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    activity = teams.message(ANN, teams.personal_chat(ANN), "start")
    change(activity)
    status, body = await post_raw(teams, json.dumps(activity).encode())
    assert status == 400
    assert reason in body["error"]
    assert connector.calls == []


async def test_a_tenant_sent_as_a_list_is_taken_as_no_tenant_and_the_turn_runs(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    activity = teams.message(ANN, teams.personal_chat(ANN), "start")
    activity["channelData"]["tenant"] = ["not", "an", "object"]
    activity["channelData"]["team"] = "nor this"
    status, _ = await post_raw(teams, json.dumps(activity).encode())
    assert status == 200
    [team] = coach.store.teams()
    assert [m.user for m in coach.store.members(team.id)] == [ANN.id]
    await connector.wait_for(count=1)


async def test_a_lone_surrogate_in_a_teams_message_is_replaced_and_answered(
    teams: TeamsService, connector: FakeBotConnector, coach: Coach
) -> None:
    chat = teams.personal_chat(ANN)
    await teams.exchange(teams.message(ANN, chat, "start"))
    await teams.exchange(teams.message(ANN, chat, "B2B"))
    activity = teams.message(ANN, chat, "PLACEHOLDER hospitals")
    activity["from"]["name"] = "Ann PLACEHOLDER"
    body = json.dumps(activity).replace("PLACEHOLDER", "\\ud800").encode()
    mark = len(connector.calls)

    status, _ = await post_raw(teams, body)

    assert status == 200
    await connector.wait_for(count=1, after=mark)
    member = coach.store.member(MemberKey("msteams", TENANT, ANN.id, None))
    assert member is not None and member.name == "Ann \ufffd"
    interview = coach.store.interview(member)
    assert interview is not None
    assert [a.text for a in interview.answers.values()][-1] == "\ufffd hospitals"


# --- the Slack door: cases from the issue ------------------------------------------------------


@pytest.fixture
async def slack_url(aiohttp_server: Any, coach: Coach) -> AsyncIterator[tuple[str, FakeSlackAPI]]:
    async with FakeSlackAPI(public_channels=["C0001"]) as api:
        api.add_user("U1", "Ann")
        config = Config(
            slack_signing_secret=SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=api.url,
            scheduler=False,
        )
        server = await aiohttp_server(build_app(coach, config))
        yield str(server.make_url("/slack/events")), api


async def post_signed(url: str, body: bytes, content_type: str) -> tuple[int, str]:
    headers = {"Content-Type": content_type, **sign(SECRET, body)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


def press(container: Any) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": "U1", "team_id": TEAM},
        "container": container,
        "actions": [{"action_id": "coffee.answer.0", "block_id": "b", "value": "1"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def test_a_signed_press_whose_container_is_a_string_gets_a_400(
    slack_url: tuple[str, FakeSlackAPI], tracebacks: Tracebacks
) -> None:
    url, _ = slack_url
    status, text = await post_signed(url, press("D0001"), "application/x-www-form-urlencoded")
    assert status == 400
    assert "container" in text
    assert tracebacks.lines() == []


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
async def test_a_signed_body_nested_too_deep_to_parse_gets_a_400(
    content_type: str, slack_url: tuple[str, FakeSlackAPI], tracebacks: Tracebacks
) -> None:
    url, _ = slack_url
    deep = b"[" * 100_000 + b"]" * 100_000
    body = deep if content_type == "application/json" else b"payload=" + deep
    status, _ = await post_signed(url, body, content_type)
    assert status == 400
    assert tracebacks.lines() == []


async def test_a_lone_surrogate_in_a_slack_message_is_replaced_and_answered(
    slack_url: tuple[str, FakeSlackAPI], coach: Coach, tracebacks: Tracebacks
) -> None:
    url, _ = slack_url
    event = {
        "type": "message",
        "channel": dm_channel("U1"),
        "channel_type": "im",
        "user": "U1",
        "text": "PLACEHOLDER start",
        "ts": "1800000000.000001",
        "team": TEAM,
    }
    envelope = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": event}
    body = json.dumps(envelope).replace("PLACEHOLDER", "\\udfff").encode()

    status, _ = await post_signed(url, body, "application/json")

    assert status == 200
    assert coach.store.member(MemberKey("slack", TEAM, "U1", None)) is not None
    assert tracebacks.lines() == []


# --- the terminal ------------------------------------------------------------------------------


def test_the_terminal_chat_survives_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--db", str(tmp_path / "c.db"), "chat"],
        input=b"b2b\n\xff\xfe facilities managers \xc3\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    assert "Question 2 of 9" in done.stdout.decode()


# --- generated bodies and headers, at the real server ------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """`base` with a few of its fields replaced by any JSON, or deleted."""
    body = copy.deepcopy(base)
    places = paths(body)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(places))
        holder = body
        try:
            for step in path[:-1]:
                holder = holder[step]
            if draw(st.booleans()) and isinstance(holder, dict):
                holder.pop(path[-1], None)
            else:
                holder[path[-1]] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced this path
    return body


def request(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def jwt_shaped(header: Any, claims: Any) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"Bearer {part(header)}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def teams_doors(coach: Coach) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Two Teams doors on one store: unauthenticated (development) and with an app id."""
    with LoopThread() as loop:
        connector = loop.run(FakeBotConnector().__aenter__())
        identity = loop.run(FakeIdentity().__aenter__())
        dev = build_app(coach, DEV)

        async def no_sleep(seconds: float) -> None:
            return None

        dev[TEAMS].outbox.sleep = no_sleep
        config = Config(microsoft_app_id=APP_ID, microsoft_app_password="x", scheduler=False)
        guarded = build_app(coach, config)
        guarded[TEAMS].keys.url = identity.metadata_url
        service = TeamsService(None, "", connector)  # type: ignore[arg-type]
        base = service.message(ANN, service.personal_chat(ANN), "start")
        yield loop.serve(dev), loop.serve(guarded), base
        loop.run(identity.__aexit__(None, None, None))
        loop.run(connector.__aexit__(None, None, None))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_requests_at_the_teams_door_never_get_a_5xx_nor_a_traceback(
    data: st.DataObject,
    teams_doors: tuple[int, int, dict[str, Any]],
    tracebacks: Tracebacks,
) -> None:
    dev, guarded, base = teams_doors
    tracebacks.records.clear()  # only this example's
    body = data.draw(
        st.one_of(
            mutated(base).map(lambda b: json.dumps(b).encode()),
            JSON.map(lambda b: json.dumps(b).encode()),
            st.binary(max_size=200),
        )
    )
    headers = {"Content-Type": data.draw(st.sampled_from(["application/json", "text/plain"]))}
    status = request(dev, "/api/messages", body, headers)
    assert status < 500, (status, body)
    signed_header = st.fixed_dictionaries({"alg": st.just("RS256"), "kid": JSON})
    authorization = data.draw(
        st.one_of(
            HEADER_TEXT,
            st.builds(jwt_shaped, JSON, JSON),
            st.builds(jwt_shaped, signed_header, JSON),
        )
    )
    status = request(guarded, "/api/messages", body, headers | {"Authorization": authorization})
    assert status in (400, 401, 413), (status, authorization)
    assert tracebacks.lines() == []


@pytest.fixture
def slack_door(coach: Coach) -> Iterator[tuple[int, list[tuple[bytes, str]]]]:
    with LoopThread() as loop:
        api = loop.run(FakeSlackAPI(public_channels=["C0001"]).__aenter__())
        api.add_user("U1", "Ann")
        config = Config(
            slack_signing_secret=SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=api.url,
            scheduler=False,
        )
        port = loop.serve(build_app(coach, config))
        event = {
            "type": "event_callback",
            "team_id": TEAM,
            "event_id": "Ev1",
            "event": {
                "type": "message",
                "channel": dm_channel("U1"),
                "channel_type": "im",
                "user": "U1",
                "text": "start",
                "ts": "1800000000.000001",
                "team": TEAM,
            },
        }
        yield port, [(json.dumps(event).encode(), "application/json")]
        loop.run(api.__aexit__(None, None, None))


COMMAND = {
    "team_id": TEAM,
    "channel_id": "C0001",
    "channel_name": "marketing",
    "user_id": "U1",
    "command": "/coffee",
    "text": "help",
    "trigger_id": "1.trigger",
}
PRESS = {
    "type": "block_actions",
    "team": {"id": TEAM},
    "user": {"id": "U1", "team_id": TEAM},
    "container": {"type": "message", "channel_id": dm_channel("U1"), "message_ts": "1.2"},
    "message": {"ts": "1.2", "text": "x", "blocks": []},
    "actions": [{"action_id": "coffee.answer.0", "block_id": "b", "value": "1"}],
}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_requests_at_the_slack_door_never_get_a_5xx_nor_a_traceback(
    data: st.DataObject,
    slack_door: tuple[int, list[tuple[bytes, str]]],
    tracebacks: Tracebacks,
) -> None:
    port, [(event, _)] = slack_door
    tracebacks.records.clear()  # only this example's
    form, as_json = "application/x-www-form-urlencoded", "application/json"
    body, content_type = data.draw(
        st.one_of(
            mutated(json.loads(event)).map(lambda b: (json.dumps(b).encode(), as_json)),
            mutated(PRESS).map(lambda p: (urlencode({"payload": json.dumps(p)}).encode(), form)),
            st.dictionaries(st.sampled_from(sorted(COMMAND)), st.text(max_size=20)).map(
                lambda c: (urlencode(COMMAND | c).encode(), form)
            ),
            st.tuples(st.binary(max_size=200), st.sampled_from([form, as_json])),
        )
    )
    headers = {"Content-Type": content_type, **sign(SECRET, body)}
    signed = request(port, "/slack/events", body, headers)
    assert signed < 500, (signed, body)
    forged = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": data.draw(HEADER_TEXT),
        "X-Slack-Signature": data.draw(HEADER_TEXT),
    }
    assert request(port, "/slack/events", body, forged) == 401
    assert tracebacks.lines() == []

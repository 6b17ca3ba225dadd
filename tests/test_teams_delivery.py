"""What the Teams door adds to botbuilder's delivery: a pace per conversation and retries.

The clients kept across turns are tested over HTTP, in test_teams_door.py and below."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.teams.delivery import RetryPolicy, retry_after
from adapters.teams.door import TEAMS
from bot.config import Config
from bot.engine import Coach
from bot.pacing import ConversationPacer
from bot.server import build_app


def test_seven_messages_a_second_go_at_once_and_the_eighth_waits() -> None:
    pacer = ConversationPacer(rate=7, per_s=1.0, clock=lambda: 100.0)

    waits = [pacer.reserve("a:1ann") for _ in range(15)]

    assert waits == [0.0] * 7 + [1.0] * 7 + [2.0]


def test_conversations_are_paced_separately() -> None:
    pacer = ConversationPacer(rate=1, per_s=1.0, clock=lambda: 0.0)

    assert [pacer.reserve("a:1ann"), pacer.reserve("a:1bob"), pacer.reserve("a:1ann")] == [
        0.0,
        0.0,
        1.0,
    ]


def test_the_pace_frees_up_as_time_passes() -> None:
    now = [0.0]
    pacer = ConversationPacer(rate=2, per_s=1.0, clock=lambda: now[0])
    pacer.reserve("c")
    pacer.reserve("c")

    now[0] = 0.4
    assert pacer.reserve("c") == pytest.approx(0.6)
    now[0] = 5.0
    assert pacer.reserve("c") == 0.0


@pytest.mark.parametrize("attempt", range(6))
def test_backoff_doubles_with_jitter_up_to_a_cap(attempt: int) -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=8.0)
    ceiling = min(8.0, 0.5 * 2**attempt)

    delays = [policy.delay(attempt, None) for _ in range(200)]

    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jittered, so that throttled senders do not retry in step


def test_retry_after_takes_precedence_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=60.0)

    assert 5.0 <= policy.delay(0, 5.0) <= 5.5
    assert 60.0 <= policy.delay(3, 3600.0) <= 66.0


def test_retry_after_is_read_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)

    assert retry_after("2") == 2.0
    assert retry_after("0.5") == 0.5
    assert retry_after("Mon, 23 Nov 2026 09:00:07 GMT", now=now) == 7.0
    assert retry_after("Mon, 23 Nov 2026 08:00:00 GMT", now=now) == 0.0
    assert retry_after(None) is None
    assert retry_after("soon") is None


def test_one_connector_client_per_service_url_and_one_token_client_per_app_id(
    coach: Coach,
) -> None:
    config = Config(microsoft_app_id="app", microsoft_app_password="secret", scheduler=False)
    connectors = build_app(coach, config)[TEAMS].connectors
    emea, amer = "https://smba.trafficmanager.net/emea/", "https://smba.trafficmanager.net/amer/"

    first, again, other = (connectors.client(url) for url in (emea, emea, amer))

    assert first is again
    assert other is not first
    assert first.tokens is other.tokens is connectors.tokens("app")


def test_the_connector_clients_forget_the_least_recently_used_when_full(coach: Coach) -> None:
    connectors = build_app(coach, Config(teams_dev=True, scheduler=False))[TEAMS].connectors
    connectors.limit = 2
    a = connectors.client("https://a/")
    b = connectors.client("https://b/")
    assert connectors.client("https://a/") is a  # a is now the most recently used
    connectors.client("https://c/")

    assert connectors.client("https://a/") is a
    assert connectors.client("https://b/") is not b

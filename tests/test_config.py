"""Configuration mistakes are told in our words, naming the variable to set, before serving."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, config_problems

TEAMS = {"MicrosoftAppId": "app", "MicrosoftAppPassword": "secret"}


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({**TEAMS, "MicrosoftAppType": "SingleTenant"}, "MicrosoftAppTenantId"),
        ({"MicrosoftAppPassword": "secret"}, "set MicrosoftAppId"),
        (
            {"MicrosoftAppID": "app", "MicrosoftAppPassword": "secret"},
            "the variable is MicrosoftAppId",
        ),
        ({**TEAMS, "MicrosoftAppType": "Multi"}, "MicrosoftAppType must be one of"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_CLIENT_ID": "c", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
        (
            {"SLACK_APP_TOKEN": "xapp"},
            "SLACK_APP_TOKEN (Socket Mode) is set without SLACK_BOT_TOKEN",
        ),
        ({"PORT": "http"}, "PORT must be a port number"),
    ],
)
def test_each_mistake_names_the_variable_to_set(env: dict[str, str], names: str) -> None:
    problems = config_problems(env)
    assert any(names in problem for problem in problems), problems


@pytest.mark.parametrize(
    "env",
    [
        {},
        TEAMS,
        {**TEAMS, "MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": "t"},
        {"MicrosoftAppId": "app", "MicrosoftAppType": "UserAssignedMSI"},
        {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb"},
        {"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "c", "SLACK_CLIENT_SECRET": "x"},
        {"COFFEE_COACH_TEAMS_DEV": "1", "PORT": "8080"},
    ],
)
def test_a_working_configuration_has_no_problems(env: dict[str, str]) -> None:
    assert config_problems(env) == []


def test_a_port_that_is_not_a_number_does_not_crash_reading_the_config() -> None:
    assert Config.from_env({"PORT": "²"}).port == 3000


def test_serve_refuses_a_broken_configuration_with_one_clear_line_and_exit_2(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft", "PORT"))}
    env.update(MicrosoftAppId="app", MicrosoftAppPassword="pw", MicrosoftAppType="SingleTenant")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--db", str(tmp_path / "c.db"), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "MicrosoftAppTenantId" in result.stderr
    assert "APP_TENANTID" not in result.stderr and "Traceback" not in result.stderr

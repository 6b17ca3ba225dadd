"""Configuration from the environment, with botbuilder's and Slack's own variable names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.store import DEFAULT_DB


@dataclass(frozen=True, slots=True)
class Limits:
    """What a client of `serve` may take: seconds to send its headers and its body, seconds
    idle between requests, and how many connections it may hold (0: from the descriptor
    limit, see bot/edge.py)."""

    header_timeout_s: float = 5.0
    body_timeout_s: float = 5.0
    idle_timeout_s: float = 15.0
    max_connections: int = 0


@dataclass(frozen=True, slots=True)
class Config:
    port: int = 3000
    host: str = "0.0.0.0"
    db: str = DEFAULT_DB
    # Slack
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str | None = None
    # Microsoft Teams (botbuilder's names)
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_type: str = "MultiTenant"
    microsoft_app_tenant_id: str | None = None
    # Serve Teams with no app id: unauthenticated, for local development only.
    teams_dev: bool = False
    # Run the check-in scheduler inside `serve`.
    scheduler: bool = True
    limits: Limits = Limits()

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret or self.slack_app_token)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_dev

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value else None

        port = env.get("PORT") or "3000"
        values: dict[str, object] = {
            "port": int(port) if port.isascii() and port.isdigit() else 3000,
            "host": env.get("HOST") or "0.0.0.0",
            "db": env.get("COFFEE_COACH_DB") or DEFAULT_DB,
            "slack_signing_secret": get("SLACK_SIGNING_SECRET"),
            "slack_bot_token": get("SLACK_BOT_TOKEN"),
            "slack_app_token": get("SLACK_APP_TOKEN"),
            "slack_client_id": get("SLACK_CLIENT_ID"),
            "slack_client_secret": get("SLACK_CLIENT_SECRET"),
            "slack_api_url": get("SLACK_API_URL"),
            "microsoft_app_id": get("MicrosoftAppId"),
            "microsoft_app_password": get("MicrosoftAppPassword"),
            "microsoft_app_type": env.get("MicrosoftAppType") or "MultiTenant",
            "microsoft_app_tenant_id": get("MicrosoftAppTenantId"),
            "teams_dev": (env.get("COFFEE_COACH_TEAMS_DEV") or "").lower() in ("1", "true", "yes"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
# Variables whose names people often mistype, and what the coach reads instead.
_MEANT = {
    "microsoftappid": "MicrosoftAppId",
    "microsoftapppassword": "MicrosoftAppPassword",
    "microsoftapptype": "MicrosoftAppType",
    "microsoftapptenantid": "MicrosoftAppTenantId",
}


def config_problems(env: Mapping[str, str] | None = None) -> list[str]:
    """What in the environment would make `serve` fail or run half-configured, in our words.

    Each line names the variable to set or fix; an empty list means nothing is wrong.
    """
    env = os.environ if env is None else env

    def has(name: str) -> bool:
        return bool(env.get(name))

    problems = []
    for name in env:
        meant = _MEANT.get(name.casefold())
        if meant is not None and name != meant and not has(meant):
            problems.append(
                f"{name} is set, but the variable is {meant} (names are case-sensitive)."
            )
    port = env.get("PORT")
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        problems.append(f"PORT must be a port number between 1 and 65535, not {port!r}.")
    app_type = env.get("MicrosoftAppType") or "MultiTenant"
    if app_type.casefold() not in (t.casefold() for t in APP_TYPES):
        problems.append(
            f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}, not {app_type!r}."
        )
    elif app_type.casefold() == "singletenant" and not has("MicrosoftAppTenantId"):
        problems.append(
            "MicrosoftAppType is SingleTenant: set MicrosoftAppTenantId to your Entra tenant's id."
        )
    if has("MicrosoftAppPassword") and not has("MicrosoftAppId"):
        problems.append("MicrosoftAppPassword is set without MicrosoftAppId: set MicrosoftAppId.")
    if (
        has("MicrosoftAppId")
        and not has("MicrosoftAppPassword")
        and app_type.casefold() != "userassignedmsi"
    ):
        problems.append(
            "MicrosoftAppId is set without MicrosoftAppPassword: set MicrosoftAppPassword."
        )
    oauth = has("SLACK_CLIENT_ID") and has("SLACK_CLIENT_SECRET")
    if has("SLACK_CLIENT_ID") != has("SLACK_CLIENT_SECRET"):
        problems.append("Slack OAuth needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.")
    if has("SLACK_SIGNING_SECRET") and not (has("SLACK_BOT_TOKEN") or oauth):
        problems.append(
            "SLACK_SIGNING_SECRET is set without a way to post: set SLACK_BOT_TOKEN (one"
            " workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install)."
        )
    if has("SLACK_APP_TOKEN") and not has("SLACK_BOT_TOKEN"):
        problems.append("SLACK_APP_TOKEN (Socket Mode) is set without SLACK_BOT_TOKEN: set it too.")
    return problems

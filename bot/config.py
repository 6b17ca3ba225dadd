"""Configuration from the environment, with botbuilder's and Slack's own variable names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.store import DEFAULT_DB


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

        values: dict[str, object] = {
            "port": int(env.get("PORT") or 3000),
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

"""Installing over OAuth: Slack's installation and state stores, on SQLite."""

from __future__ import annotations

import logging

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from adapters.slack.names import BOT_SCOPES
from bot.config import Config

log = logging.getLogger("coffee_coach.slack")


class SQLiteInstallations(SQLite3InstallationStore):
    """slack_sdk's SQLite installation store with the async deletes it lacks (3.47): without
    them app_uninstalled and tokens_revoked raise NotImplementedError."""

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)


def oauth_settings(
    config: Config, path: str
) -> tuple[AsyncCacheableInstallationStore, AsyncOAuthSettings]:
    """Bolt's OAuth settings, keeping installations and states in the database at `path`."""
    assert config.slack_client_id and config.slack_client_secret
    installations = AsyncCacheableInstallationStore(
        SQLiteInstallations(database=path, client_id=config.slack_client_id)
    )
    settings = AsyncOAuthSettings(
        client_id=config.slack_client_id,
        client_secret=config.slack_client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=installations,
        state_store=SQLite3OAuthStateStore(database=path, expiration_seconds=600),
    )
    # Cached, so an event costs no auth.test round trip once the workspace was seen.
    settings.authorize = AsyncInstallationStoreAuthorize(
        client_id=config.slack_client_id,
        client_secret=config.slack_client_secret,
        installation_store=installations,
        cache_enabled=True,
        logger=log,
    )
    return installations, settings

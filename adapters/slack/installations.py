"""Slack's OAuth installation store, on SQLite."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore


class SQLiteInstallations(SQLite3InstallationStore):
    """slack_sdk's SQLite installation store with the async deletes it lacks (3.47): without
    them app_uninstalled and tokens_revoked raise NotImplementedError."""

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

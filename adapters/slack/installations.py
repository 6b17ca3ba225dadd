"""Installing over OAuth: Slack's installation and state stores, in the coach's database.

On SQLite, slack_sdk's SQLite stores in the coach's own file. On PostgreSQL, slack_sdk's
SQLAlchemy stores in the same database (through psycopg), so an install done through one
`serve` is used by every other, and the state a browser carries from one server's install
page is accepted by whichever server Slack redirects it to.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import (
    AsyncSQLAlchemyOAuthStateStore,
    SQLAlchemyOAuthStateStore,
)
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from sqlalchemy import Connection, MetaData, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.slack.names import BOT_SCOPES
from bot.config import Config
from bot.dburl import DatabaseUrl

# Held while the servers create slack_sdk's tables, so two starting at once do not race.
_TABLES_LOCK = 0x736C61636B  # "slack"
STATE_EXPIRY_S = 600
Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What to await before the first request, and after the last."""

    start: Hook
    stop: Hook


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


async def _nothing() -> None:
    pass


def _sqlite_stores(
    config: Config, path: str
) -> tuple[AsyncInstallationStore, AsyncOAuthStateStore, Lifecycle]:
    assert config.slack_client_id
    installations = SQLiteInstallations(database=path, client_id=config.slack_client_id)
    states = SQLite3OAuthStateStore(database=path, expiration_seconds=STATE_EXPIRY_S)
    return installations, states, Lifecycle(_nothing, _nothing)


# What slack_sdk's SQLite stores keep that outlives an install: `coffee-coach migrate`
# copies these into the SQLAlchemy stores' tables of the same names. OAuth states last
# ten minutes and are not copied.
COPIED_TABLES = ("slack_installations", "slack_bots")


def _engine_url(conninfo: str) -> URL:
    return make_url(conninfo).set(drivername="postgresql+psycopg")


def _create_tables(conn: Connection) -> None:
    """slack_sdk's SQLAlchemy tables, once, whichever server or command gets here first."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TABLES_LOCK})
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(
        metadata, SQLAlchemyInstallationStore.default_installations_table_name
    )
    SQLAlchemyInstallationStore.build_bots_table(
        metadata, SQLAlchemyInstallationStore.default_bots_table_name
    )
    SQLAlchemyOAuthStateStore.build_oauth_states_table(
        metadata, SQLAlchemyOAuthStateStore.default_table_name
    )
    metadata.create_all(conn)


def create_postgres_tables(conninfo: str) -> None:
    """Make the installation tables in the PostgreSQL database `conninfo`, if missing."""
    engine = create_engine(_engine_url(conninfo))
    try:
        with engine.begin() as conn:
            _create_tables(conn)
    finally:
        engine.dispose()


def copied_row(row: dict[str, object]) -> dict[str, object]:
    """A row of slack_sdk's SQLite tables as its SQLAlchemy tables keep it: the SQLite
    store writes a missing enterprise or team as '', the SQLAlchemy one as NULL."""
    return {
        name: None if name in ("enterprise_id", "team_id") and value == "" else value
        for name, value in row.items()
    }


def _postgres_stores(
    config: Config, conninfo: str
) -> tuple[AsyncInstallationStore, AsyncOAuthStateStore, Lifecycle]:
    assert config.slack_client_id
    url = _engine_url(conninfo)
    # A few connections: installs are rare, and the cache below answers most lookups.
    engine = create_async_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True)
    installations = AsyncSQLAlchemyInstallationStore(
        client_id=config.slack_client_id, engine=engine, logger=log
    )
    states = AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_EXPIRY_S, engine=engine, logger=log
    )

    async def create_tables() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(_create_tables)

    return installations, states, Lifecycle(create_tables, engine.dispose)


def oauth_settings(
    config: Config, db: str
) -> tuple[AsyncCacheableInstallationStore, AsyncOAuthSettings, Lifecycle]:
    """Bolt's OAuth settings, keeping installations and states in the database `db` (a
    SQLite path or a PostgreSQL URL), and what to await once before the first request."""
    assert config.slack_client_id and config.slack_client_secret
    url = DatabaseUrl.parse(db)
    if url.backend == "postgresql":
        stores = _postgres_stores(config, url.postgres_conninfo)
    else:
        stores = _sqlite_stores(config, str(url.sqlite_path))
    backing, states, lifecycle = stores
    installations = AsyncCacheableInstallationStore(backing)
    settings = AsyncOAuthSettings(
        client_id=config.slack_client_id,
        client_secret=config.slack_client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=installations,
        state_store=states,
    )
    # Cached, so an event costs no auth.test round trip once the workspace was seen.
    settings.authorize = AsyncInstallationStoreAuthorize(
        client_id=config.slack_client_id,
        client_secret=config.slack_client_secret,
        installation_store=installations,
        cache_enabled=True,
        logger=log,
    )
    return installations, settings, lifecycle

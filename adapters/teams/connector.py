"""Connector and token clients kept across turns: CloudAdapter builds new ones each time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- the door ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdkSettings:
    """Our configuration under the attribute names botbuilder's readers look up."""

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TYPE: str
    APP_TENANTID: str | None


class ConnectorCache:
    """One ConnectorClient per service URL and audience, kept across turns.

    CloudAdapter asks for a new client on every activity: building one costs milliseconds of
    CPU (msrest's retry policy), and each new client opens a new connection to the Bot
    Connector. A client is safe to share: its HTTP sessions are per thread.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._clients: dict[tuple[str, str | None], Any] = {}

    def around(self, factory: Any) -> _CachedFactory:
        """A connector factory for CloudAdapter that answers from this cache."""
        return _CachedFactory(self, factory)

    async def client(self, factory: Any, service_url: str, audience: str | None) -> Any:
        key = (service_url, audience)
        found = self._clients.get(key)
        if found is None:
            if len(self._clients) >= self.limit:
                self._clients.pop(next(iter(self._clients)))
            found = self._clients[key] = await factory.create(service_url, audience)
        return found


@dataclass(frozen=True, slots=True)
class _CachedFactory:
    cache: ConnectorCache
    inner: Any

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        return await self.cache.client(self.inner, service_url, audience)


def chat_link(bot_id: str) -> str:
    """A Teams deep link that opens the member's personal chat with the bot."""
    return f"https://teams.microsoft.com/l/chat/0/0?users={bot_id}"

"""The Bot Connector's REST API, spoken over one shared aiohttp session.

botbuilder builds a new `ConnectorClient` (msrest, requests in executor threads) and a new
`UserTokenClient` for every activity, and `continue_conversation` builds both again for every
proactive message: milliseconds of CPU each (msrest's retry policy), reference cycles that only
a full collection frees, and a new connection to the connector each time. Here there is one
token client per app id and one connector client per service URL, kept for the life of the
process, and every call goes through one aiohttp session (pooled keep-alive connections).
What botbuilder still does is what it must: authenticate the inbound request (in the door),
parse the activity, and build the app's credentials (its token cache, msal underneath).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote

import aiohttp
from botframework.connector.auth import AuthenticationConstants, ServiceClientCredentialsFactory

JsonObject = dict[str, Any]

# A token is renewed this long before it expires (msal's own margin).
TOKEN_MARGIN_S: Final = 300.0
# botbuilder's credentials renew their token themselves; asking them costs a thread hop and a
# cache lookup, so their answer is kept here for a few minutes.
TOKEN_REUSE_S: Final = 300.0
LOGIN_URL: Final = "https://login.microsoftonline.com"
DEFAULT_TENANT: Final = AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT
REQUEST_TIMEOUT_S: Final = 30.0
USER_AGENT: Final = "CoffeeCoach (BotFramework/3.1)"


@dataclass(frozen=True, slots=True)
class SdkSettings:
    """Our configuration under the attribute names botbuilder's readers look up."""

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TYPE: str
    APP_TENANTID: str | None


class ConnectorError(RuntimeError):
    """The connector answered with an error status."""

    def __init__(
        self, status: int, code: str | None, retry_after: str | None, *, who: str = "the connector"
    ) -> None:
        super().__init__(f"{who} answered {status}" + (f" ({code})" if code else ""))
        self.status = status
        self.code = code
        self.retry_after = retry_after


class Unreachable(RuntimeError):
    """The connector could not be reached (refused, reset, timed out)."""


class TokenClient(Protocol):
    """The bot's access tokens for calling the connector: one per app id, kept across turns."""

    async def authorization(self) -> str:
        """The Authorization header's value."""
        ...


class SecretTokenClient:
    """Tokens for an app id and its password: the OAuth client-credentials grant, posted to
    Microsoft Entra through the shared session, each token kept until shortly before it
    expires (what msal does under botbuilder, synchronously, on the event loop)."""

    def __init__(
        self,
        http: Http,
        app_id: str,
        password: str,
        *,
        tenant: str,
        scope: str,
        login_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.app_id = app_id
        self.password = password
        self.tenant = tenant
        self.scope = scope if scope.endswith("/.default") else scope + "/.default"
        self.login_url = login_url.rstrip("/")
        self.clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def authorization(self) -> str:
        if self._token is None or self.clock() >= self._renew_at:
            async with self._lock:  # one request for a new token, however many wait for it
                if self._token is None or self.clock() >= self._renew_at:
                    await self._fetch()
        return f"Bearer {self._token}"

    async def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.password,
            "scope": self.scope,
        }
        url = f"{self.login_url}/{quote(self.tenant, safe='')}/oauth2/v2.0/token"
        try:
            async with self.http.session().post(url, data=form) as response:
                payload = await _json(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(f"no token from {self.login_url}: {exc}") from exc
        if response.status >= 400 or not isinstance(payload, dict):
            code = payload.get("error") if isinstance(payload, dict) else None
            if response.status >= 500:
                raise Unreachable(f"no token from {self.login_url}: {response.status}")
            raise ConnectorError(response.status, code, None, who="Microsoft Entra (for a token)")
        self._token = str(payload["access_token"])
        lifetime = float(payload.get("expires_in") or 3600)
        self._renew_at = self.clock() + max(60.0, lifetime - TOKEN_MARGIN_S)


class SdkTokenClient:
    """Tokens from botbuilder's credentials (a managed identity): built once per app id, and
    asked in a thread, since their call is synchronous; kept for a few minutes."""

    def __init__(
        self,
        factory: ServiceClientCredentialsFactory,
        app_id: str,
        audience: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.factory = factory
        self.app_id = app_id
        self.audience = audience
        self.clock = clock
        self._credentials: Any = None
        self._token: str | None = None
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def authorization(self) -> str:
        if self._token is None or self.clock() - self._fetched > TOKEN_REUSE_S:
            async with self._lock:
                if self._token is None or self.clock() - self._fetched > TOKEN_REUSE_S:
                    if self._credentials is None:
                        self._credentials = await self.factory.create_credentials(
                            self.app_id,
                            self.audience,
                            AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL,
                            True,
                        )
                    self._token = await asyncio.to_thread(self._credentials.get_access_token)
                    self._fetched = self.clock()
        return f"Bearer {self._token}"


class BotConnector:
    """The connector at one service URL: posts and updates activities."""

    def __init__(self, http: Http, service_url: str, tokens: TokenClient | None) -> None:
        self.http = http
        self.base = service_url.rstrip("/")
        self.tokens = tokens

    async def send(
        self, conversation_id: str, activity: JsonObject, *, reply_to_id: str | None = None
    ) -> JsonObject:
        path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities"
        if reply_to_id:
            path += f"/{quote(reply_to_id, safe='')}"
        return await self._call("POST", path, activity)

    async def update(self, conversation_id: str, activity_id: str, activity: JsonObject) -> None:
        conversation, activity_id = quote(conversation_id, safe=""), quote(activity_id, safe="")
        path = f"/v3/conversations/{conversation}/activities/{activity_id}"
        await self._call("PUT", path, activity)

    async def members(self, conversation_id: str) -> list[JsonObject]:
        """The first page of a conversation's members (a group chat's, to name it)."""
        path = f"/v3/conversations/{quote(conversation_id, safe='')}/pagedmembers"
        found = (await self._call("GET", path, None)).get("members")
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    async def _call(self, method: str, path: str, body: JsonObject | None) -> JsonObject:
        headers = {"User-Agent": USER_AGENT}
        if self.tokens is not None:
            headers["Authorization"] = await self.tokens.authorization()
        session = self.http.session()
        try:
            async with session.request(
                method, self.base + path, json=body, headers=headers
            ) as response:
                payload = await _json(response)
                if response.status >= 400:
                    raise ConnectorError(
                        response.status, _error_code(payload), response.headers.get("Retry-After")
                    )
                return payload if isinstance(payload, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _error_code(payload: Any) -> str | None:
    """The connector's own name for the error (ConversationNotFound, BotDisabledByAdmin)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else None


class Http:
    """One aiohttp session for every call to every connector; opened on first use."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                json_serialize=_dumps,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Connectors:
    """One token client per app id and one connector client per service URL, kept across
    turns and shared by replies and proactive sends. At most `limit` service URLs are kept
    (the least recently used goes first); Teams uses a handful, one per region."""

    def __init__(
        self,
        credentials: ServiceClientCredentialsFactory,
        *,
        app_id: str | None,
        app_password: str | None = None,
        app_type: str = "MultiTenant",
        tenant_id: str | None = None,
        audience: str = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        limit: int = 64,
    ) -> None:
        self.credentials = credentials
        self.app_id = app_id
        self.app_password = app_password
        self.app_type = app_type.casefold()
        self.tenant_id = tenant_id
        self.audience = audience
        self.limit = limit
        # Where tokens come from; tests point it at their fake.
        self.login_url = LOGIN_URL
        self.http = Http()
        self._tokens: dict[str, TokenClient] = {}
        self._clients: OrderedDict[str, BotConnector] = OrderedDict()

    def tokens(self, app_id: str | None) -> TokenClient | None:
        """The token client for an app id; None without one (local development)."""
        if not app_id:
            return None
        found = self._tokens.get(app_id)
        if found is None:
            found = self._tokens[app_id] = self._token_client(app_id)
        return found

    def _token_client(self, app_id: str) -> TokenClient:
        if self.app_type == "userassignedmsi" or not self.app_password:
            return SdkTokenClient(self.credentials, app_id, self.audience)
        single = self.app_type == "singletenant" and self.tenant_id
        return SecretTokenClient(
            self.http,
            app_id,
            self.app_password,
            tenant=self.tenant_id if single and self.tenant_id else DEFAULT_TENANT,
            scope=self.audience,
            login_url=self.login_url,
        )

    def client(self, service_url: str) -> BotConnector:
        found = self._clients.get(service_url)
        if found is None:
            if len(self._clients) >= self.limit:
                self._clients.popitem(last=False)
            tokens = self.tokens(self.app_id)
            found = self._clients[service_url] = BotConnector(self.http, service_url, tokens)
        else:
            self._clients.move_to_end(service_url)
        return found

    async def close(self) -> None:
        await self.http.close()


def chat_link(bot_id: str) -> str:
    """A Teams deep link that opens the member's personal chat with the bot."""
    return f"https://teams.microsoft.com/l/chat/0/0?users={bot_id}"

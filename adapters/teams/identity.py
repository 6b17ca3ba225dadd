"""Who may speak at `/api/messages`: the Bot Framework's JWT, checked with its signing keys.

botbuilder fetches the OpenID metadata and the keys with `requests`, synchronously, with no
timeout, on the request path: one request with a JWT-shaped token froze the whole server
while Microsoft's endpoint was slow. Here the keys come over the shared aiohttp session,
within a time limit, one fetch however many requests wait for it; they are kept, refreshed
in the background, and a failed fetch is not retried for every request. A request whose
key cannot be had gets a 503 at once (the Bot Framework retries), a bad token a 401.

The token is checked from the Authorization header alone, before the body is read: its
signature, issuer, audience (the app id) and expiry. What needs the activity (the key's
endorsement of its channel, the token's service URL) is checked once it is parsed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import jwt
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.auth import AuthenticationConstants

from adapters.teams.connector import Http

log = logging.getLogger("coffee_coach.teams")

OPENID_URL: Final = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
ISSUER: Final = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
CALLER_ID: Final = CallerIdConstants.public_azure_channel.value
ALGORITHMS: Final = ("RS256", "RS384", "RS512")
# The Bot Framework's own tolerance for clocks that disagree.
LEEWAY_S: Final = 300
FETCH_TIMEOUT_S: Final = 3.0
REFRESH_S: Final = 24 * 3600.0
# After a failed fetch: how long requests are refused at once before another try.
RETRY_S: Final = 30.0
# A key id nobody knows triggers a refetch at most this often (keys roll over rarely).
UNKNOWN_KEY_REFETCH_S: Final = 300.0


class Refused(Exception):
    """The request is not from the Bot Framework (401)."""


class KeysUnavailable(Exception):
    """The signing keys could not be fetched, so nothing can be checked now (503)."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: Any
    endorsements: frozenset[str]


@dataclass(frozen=True, slots=True)
class Verified:
    """A token that passed the checks that need no body."""

    claims: Mapping[str, Any]
    endorsements: frozenset[str]


class SigningKeys:
    """The Bot Framework's signing keys by key id, fetched and kept fresh asynchronously."""

    def __init__(
        self,
        http: Http,
        url: str = OPENID_URL,
        *,
        timeout_s: float = FETCH_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.url = url  # tests point it at their fake
        self.timeout_s = timeout_s
        self.clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._fetch: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None

    async def get(self, key_id: str) -> SigningKey:
        self._keep_fresh()
        found = self._keys.get(key_id)
        if found is not None:
            return found
        now = self.clock()
        if self._failed_at is not None and now - self._failed_at < RETRY_S:
            raise KeysUnavailable("the last fetch of the signing keys failed")
        if self._fetched_at is None or now - self._fetched_at >= UNKNOWN_KEY_REFETCH_S:
            await self.refresh()
        found = self._keys.get(key_id)
        if found is None:
            raise Refused(f"no Bot Framework signing key has the id {key_id!r}")
        return found

    async def refresh(self) -> None:
        """Fetch the keys once, however many callers wait; KeysUnavailable if it fails."""
        if self._fetch is None or self._fetch.done():
            self._fetch = asyncio.create_task(self._fetch_keys())
        try:
            await asyncio.shield(self._fetch)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            raise KeysUnavailable(f"the signing keys could not be fetched: {exc!r}") from exc

    async def _fetch_keys(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                metadata = await self._get_json(self.url)
                jwks = await self._get_json(str(metadata["jwks_uri"]))
            keys: dict[str, SigningKey] = {}
            for entry in jwks["keys"]:
                if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                    continue
                try:
                    key = jwt.PyJWK(entry, algorithm="RS256").key
                except jwt.PyJWTError:
                    continue  # a key of a kind the Bot Framework does not sign with
                endorsements = frozenset(str(e) for e in entry.get("endorsements") or ())
                keys[entry["kid"]] = SigningKey(key, endorsements)
        except BaseException as exc:
            self._failed_at = self.clock()
            log.warning("Could not fetch the Bot Framework's signing keys: %r", exc)
            raise
        self._keys = keys
        self._fetched_at = self.clock()
        self._failed_at = None

    async def _get_json(self, url: str) -> Any:
        async with self.http.session().get(url) as response:
            response.raise_for_status()
            return await response.json(content_type=None)

    def _keep_fresh(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refreshing(), name="coffee-coach keys")

    async def _refreshing(self) -> None:
        while True:
            with suppress(KeysUnavailable):
                await self.refresh()
            await asyncio.sleep(RETRY_S if self._failed_at is not None else REFRESH_S)

    async def close(self) -> None:
        for task in (self._refresher, self._fetch):
            if task is not None and not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await task


class ChannelIdentity:
    """Checks that a request comes from the Bot Framework, for the bot's app id."""

    def __init__(self, keys: SigningKeys, app_id: str) -> None:
        self.keys = keys
        self.app_id = app_id

    async def verify(self, authorization: str) -> Verified:
        """The token's checks that need no body: Refused, or KeysUnavailable."""
        scheme, _, token = authorization.partition(" ")
        if scheme.casefold() != "bearer" or not token.strip():
            raise Refused("no bearer token")
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.PyJWTError as exc:
            raise Refused(f"not a JWT: {exc}") from exc
        algorithm, key_id = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS or not isinstance(key_id, str):
            raise Refused(f"a token signed with {algorithm!r} and key id {key_id!r}")
        signing = await self.keys.get(key_id)
        try:
            claims = jwt.decode(
                token.strip(),
                signing.key,
                algorithms=[algorithm],
                audience=self.app_id,
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Refused(f"the token does not verify: {exc}") from exc
        return Verified(claims, signing.endorsements)

    @staticmethod
    def check(verified: Verified, activity: Activity) -> None:
        """The checks that need the activity: the key endorses its channel, and the token
        names its service URL."""
        if verified.endorsements and activity.channel_id not in verified.endorsements:
            raise Refused(f"the signing key is not endorsed for {activity.channel_id!r}")
        if verified.claims.get("serviceurl") != activity.service_url:
            raise Refused("the token is for another service URL")

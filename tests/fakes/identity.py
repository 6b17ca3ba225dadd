"""The Bot Framework's token issuer, as a bot sees it: the OpenID metadata document and the
signing keys (JWKS) over real HTTP on 127.0.0.1, and tokens signed with the private key, as
the Bot Connector puts them in the Authorization header of every activity it posts.

Shapes from https://login.botframework.com/v1/.well-known/openidconfiguration and its
`jwks_uri` (each key has `kid`, `kty`, `n`, `e` and `endorsements`, the channels it signs
for). The fake can be made to hang or fail, and counts the requests it answered.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
KEY_ID = "fake-bot-framework-key"
_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIdentity:
    def __init__(self, *, endorsements: tuple[str, ...] = ("msteams", "webchat")) -> None:
        self.endorsements = endorsements
        # While set, the metadata request hangs until the fake stops (an endpoint that
        # accepts the connection and never answers).
        self.stalled = False
        self._released = asyncio.Event()
        self.status = 200
        self.metadata_requests = 0
        self.key_requests = 0
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def metadata_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1/.well-known/openidconfiguration"

    async def __aenter__(self) -> FakeIdentity:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site.port
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._runner is not None
        self._released.set()
        await self._runner.cleanup()

    async def _metadata(self, request: web.Request) -> web.Response:
        self.metadata_requests += 1
        if self.stalled:
            await self._released.wait()
        if self.status != 200:
            return web.Response(status=self.status)
        base = f"http://127.0.0.1:{self._port}"
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{base}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        self.key_requests += 1
        key: dict[str, Any] = RSAAlgorithm.to_jwk(_PRIVATE.public_key(), as_dict=True)
        key |= {"kid": KEY_ID, "use": "sig", "endorsements": list(self.endorsements)}
        return web.json_response({"keys": [key]})

    @staticmethod
    def token(
        app_id: str,
        service_url: str,
        *,
        issuer: str = ISSUER,
        expires_in: float = 3600,
        key_id: str = KEY_ID,
        foreign_key: bool = False,
    ) -> str:
        now = int(time.time())
        claims = {
            "serviceurl": service_url,
            "nbf": now - 10,
            "exp": now + int(expires_in),
            "iss": issuer,
            "aud": app_id,
        }
        return jwt.encode(
            claims,
            _OTHER if foreign_key else _PRIVATE,
            algorithm="RS256",
            headers={"kid": key_id},
        )

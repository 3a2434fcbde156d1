"""The token a forwarded call carries: the caller's token exchanged for one only services accept.

Clients' tokens are for the gateway (`aud: scrutiny-api`); the services accept only
`scrutiny-services`. So a client's token sent straight to a service port is a 401, and every call
a service answers has passed the gateway's checks: the disabled-client check and the rate limit
(`gateway.edge.middleware`). Every call the gateway makes to a service for a caller (proxied
requests, composed reads) goes through `ServiceClient.send`, which hands its request to
`TokenExchange.rewrite`: the caller's token is verified (a 401 problem if it does not) and
replaced by a token with the same client, organisation, name and scopes, the services' audience,
and a lifetime of the client cache's TTL (2 s). Services still verify that token themselves
against the JWKS and apply their own scope and object rules.

An exchanged token is reused for half its lifetime per caller token, so the ES256 signature is
paid about once a second per client, not per request; the signing key is read from the database
at most once a second. The exchanged token never leaves the gateway-to-service hop.
"""

from __future__ import annotations

import asyncio
import math
import time

import httpx
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.identity import clients as service
from gateway.identity import repository
from gateway.models import SigningKey
from servicekit.auth import AuthSettings, Principal, TokenVerifier, unauthorized
from servicekit.ids import utcnow

# How long the current signing key is remembered (a rotation is published seconds ahead).
KEY_CACHE_S = 1.0


class TokenExchange:
    """Exchanges callers' tokens for the services' audience, remembering each briefly."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        auth: AuthSettings,
        verifier: TokenVerifier,
        cache_size: int = 10_000,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.auth = auth
        self.verifier = verifier
        # No longer than a disabled client may still pass the gateway (a whole second at least:
        # `exp` counts whole seconds).
        self.lifetime_s = max(1, math.ceil(settings.client_cache_ttl_s))
        self._minted: TTLCache[str, str] = TTLCache(
            maxsize=cache_size, ttl=self.lifetime_s / 2, timer=time.monotonic
        )
        self._key: SigningKey | None = None
        self._key_at = 0.0
        self._lock = asyncio.Lock()
        self.mints = 0

    async def exchange(self, token: str) -> str:
        """The services' token for a caller's token; a 401 problem if the caller's is invalid."""
        hit = self._minted.get(token)
        if hit is not None:
            return hit
        principal = await self.verifier.verify(token)
        key = await self._signing_key()
        # Another call for the same caller may have minted one while this waited for the key.
        hit = self._minted.get(token)
        if hit is not None:
            return hit
        issued = service.mint_for_services(
            key, principal, self.auth, self.lifetime_s, cipher=self.settings.key_cipher()
        )
        self._minted[token] = issued.token
        self.mints += 1
        return issued.token

    async def mint(self, principal: Principal) -> str:
        """A services' token for a principal the gateway itself acts as (the evidence form)."""
        key = await self._signing_key()
        issued = service.mint_for_services(
            key, principal, self.auth, self.lifetime_s, cipher=self.settings.key_cipher()
        )
        self.mints += 1
        return issued.token

    async def rewrite(self, request: httpx.Request) -> None:
        """Replace a request's bearer token with its exchange (no token: left anonymous)."""
        header = request.headers.get("authorization")
        if header is None:
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Send the access token as `Authorization: Bearer <token>`.")
        request.headers["Authorization"] = f"Bearer {await self.exchange(token.strip())}"

    async def _signing_key(self) -> SigningKey:
        if self._key is None or time.monotonic() - self._key_at > KEY_CACHE_S:
            async with self._lock:
                if self._key is None or time.monotonic() - self._key_at > KEY_CACHE_S:
                    async with self.maker() as session:
                        keys = await repository.signing_keys(session)
                    key = service.choose_signing_key(
                        keys, utcnow(), self.settings.key_publish_delay_s
                    )
                    if key is None:
                        raise RuntimeError("no signing key yet; the gateway's lifespan creates one")
                    self._key, self._key_at = key, time.monotonic()
        return self._key

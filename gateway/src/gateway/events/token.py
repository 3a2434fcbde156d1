"""The gateway's own access token for reading the services' internal feeds.

The gateway is the token issuer, so rather than hold client credentials for itself it signs a
short-lived token (scope `events:internal`, client id `scrutiny-gateway`) with its current signing
key, exactly as `POST /oauth/token` would, but with the services' audience (`scrutiny-services`).
Services verify it like any other token, against the gateway's JWKS.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.identity import clients as service
from gateway.identity import repository
from gateway.models import ApiClient
from servicekit.auth import AuthSettings
from servicekit.ids import utcnow

GATEWAY_CLIENT_ID = "scrutiny-gateway"


class GatewayToken:
    """Mints and caches the gateway's own `events:internal` token; renews a minute early."""

    def __init__(
        self, maker: async_sessionmaker[AsyncSession], settings: Settings, auth: AuthSettings
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.auth = auth
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def headers(self) -> dict[str, str]:
        """`Authorization` for a call to a service's feed."""
        if time.monotonic() > self._expires_at - 60:
            async with self._lock:
                if time.monotonic() > self._expires_at - 60:
                    await self._mint()
        return {"Authorization": f"Bearer {self._token}"}

    async def _mint(self) -> None:
        async with self.maker() as session:
            keys = await repository.signing_keys(session)
        key = service.choose_signing_key(keys, utcnow(), self.settings.key_publish_delay_s)
        if key is None:
            raise RuntimeError("no signing key yet; the gateway's lifespan creates one")
        # A transient row, never added to a session: the token names the gateway itself.
        me = ApiClient(
            client_id=GATEWAY_CLIENT_ID, organisation="Scrutiny", name="Scrutiny gateway event log"
        )
        # Long enough to matter, short enough that a leaked token is soon useless.
        ttl = max(120, self.settings.token_ttl_s)
        # For the services alone: it is never sent to the gateway's own routes.
        issued = service.mint_token(
            key,
            me,
            ["events:internal"],
            self.auth,
            ttl,
            cipher=self.settings.key_cipher(),
            audience=self.auth.service_audience,
        )
        self._token = issued.token
        self._expires_at = time.monotonic() + issued.expires_in

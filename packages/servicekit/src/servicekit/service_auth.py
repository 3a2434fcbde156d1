"""A service's own access token, for reading another service's internal events.

Services read each other's feeds as OAuth clients like any other (scope `events:internal`), so no
service trusts another by network position. Credentials come from `<SERVICE>_CLIENT_ID` and
`<SERVICE>_CLIENT_SECRET`; without them a consumer reads public events only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict


class TokenEndpointSettings(BaseSettings):
    """Where tokens come from (the gateway)."""

    model_config = SettingsConfigDict(env_prefix="SCRUTINY_", extra="ignore")

    token_url: str = "http://127.0.0.1:8000/oauth/token"  # noqa: S105 (a URL)


@dataclass
class ServiceToken:
    """Fetches and caches a client-credentials token; refreshes a minute before expiry."""

    client_id: str
    client_secret: str
    token_url: str
    scope: str = "events:internal"
    transport: httpx.AsyncBaseTransport | None = None
    _token: str = ""
    _expires_at: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def headers(self) -> dict[str, str]:
        """`Authorization` for the next call; raises while no token can be had.

        Raising matters: a consumer that fell back to reading anonymously would see only public
        events and move its position past private ones for good.
        """
        if time.monotonic() > self._expires_at - 60:
            async with self._lock:
                if time.monotonic() > self._expires_at - 60:
                    await self._refresh()
        return {"Authorization": f"Bearer {self._token}"}

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(transport=self.transport, timeout=5) as client:
            resp = await client.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope},
                auth=(self.client_id, self.client_secret),
            )
        if resp.status_code != 200:
            raise httpx.HTTPStatusError(
                f"token endpoint answered {resp.status_code}", request=resp.request, response=resp
            )
        body = resp.json()
        self._token = body["access_token"]
        self._expires_at = time.monotonic() + float(body.get("expires_in", 300))


def service_token(
    client_id: str, client_secret: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> ServiceToken | None:
    """A token source if credentials are configured, else None (public events only)."""
    if not (client_id and client_secret):
        return None
    return ServiceToken(
        client_id, client_secret, TokenEndpointSettings().token_url, transport=transport
    )


def consumer_headers(
    client_id: str, client_secret: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> Callable[[], Awaitable[dict[str, str]]] | None:
    """The `headers` hook for a FeedConsumer: a service token if configured, else anonymous."""
    token = service_token(client_id, client_secret, transport=transport)
    return token.headers if token else None

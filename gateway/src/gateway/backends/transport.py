"""The connection pool under the gateway's backend clients: aiohttp, behind httpx's API.

httpx's own pool (httpcore) looks at every pooled connection on every request, asking each
whether its socket is still readable through anyio's typed attributes; through the gateway that
was a fifth of the CPU of a proxied get-by-id (bench/ profiles). `httpx-aiohttp` keeps the
`httpx.AsyncClient` interface the gateway is written against (timeouts, event hooks, streamed
bodies both ways) and hands the sockets to aiohttp's connector, which keeps idle connections in
a per-host queue.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class BackendTransport(AiohttpTransport):
    """aiohttp transport whose failures keep the meaning the gateway's retry policy relies on."""

    def __init__(self, max_connections: int, keepalive_expiry_s: float = 5.0) -> None:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry_s,
        )
        # trust_env=False: the environment's proxies must not sit between gateway and services.
        super().__init__(limits=limits, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request; a connection dropped after it was sent is not "unreachable"."""
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            # httpx-aiohttp maps every aiohttp connection error to ConnectTimeout, which the
            # gateway reads as "nothing reached the service" (503, safe to retry). A server that
            # hung up mid-exchange may have acted on the request: that is a 502.
            if isinstance(exc.__cause__, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc.__cause__
            raise

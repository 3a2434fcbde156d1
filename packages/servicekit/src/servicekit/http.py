"""Outgoing HTTP: long-lived clients that propagate the caller's request id."""

from __future__ import annotations

import httpx
from asgi_correlation_id import correlation_id


async def _propagate_request_id(request: httpx.Request) -> None:
    rid = correlation_id.get()
    if rid and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = rid


def make_client(
    base_url: str,
    *,
    timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 100,
) -> httpx.AsyncClient:
    """One pooled client per backend, created in the app's lifespan and reused for every call."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        transport=transport,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        event_hooks={"request": [_propagate_request_id]},
    )

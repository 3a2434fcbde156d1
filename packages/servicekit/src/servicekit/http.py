"""Outgoing HTTP: long-lived clients that propagate the caller's request id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


PageFetcher = Callable[[str | None], Awaitable[dict[str, Any]]]


async def follow_pages(
    fetch: PageFetcher, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Items of a `{"items", "next_page_token"}` list, page after page, until it ends.

    `fetch(page_token)` reads one page (None for the first). With `limit`, stops once that many
    items are had; returns the items and the token where the list continues (None at its end).
    """
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = await fetch(token)
        items.extend(page["items"])
        token = page.get("next_page_token")
        if not token or (limit is not None and len(items) >= limit):
            return items, token

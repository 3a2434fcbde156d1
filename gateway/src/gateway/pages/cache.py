"""The public pages' edge: `HEAD` on every page, `If-None-Match` → 304, and a cache of pages.

An ASGI middleware just inside the rate limits (a page view still counts against the page
quota), outside the routes. It keeps what `gateway.pages.render.page` marked public (a complete
200 with an ETag and `Cache-Control: public`), keyed by path and query, for `page_cache_s`, in a
`cachetools.TTLCache` bounded by the bytes it holds: a repeated view within the TTL costs no
backend call. Error pages, pages missing a part and pages made for one visitor say `no-store`
and are never kept. Only GET and HEAD in the page space (`gateway.pages.negotiation`) pass
through here; the API has its own caching (`gateway.compose.router.ReportCache`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cachetools import TTLCache
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.pages.negotiation import is_page_path

# What a 304 repeats of the 200 it stands for (RFC 9110 §15.4.5).
_NOT_MODIFIED_KEEPS = frozenset({b"etag", b"cache-control", b"vary", b"content-location"})


@dataclass(frozen=True)
class Stored:
    """One rendered page as it was sent."""

    stored_at: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def etag(self) -> str:
        """The page's ETag."""
        return Headers(raw=self.headers).get("etag", "")


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"; `*` matches any."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    mine = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == mine for tag in if_none_match.split(","))


def _publicly_cacheable(status: int, headers: Headers) -> bool:
    return (
        status == 200
        and "etag" in headers
        and "set-cookie" not in headers
        and headers.get("cache-control", "").startswith("public")
    )


class PageCache:
    """Rendered public pages, by path and query, bounded in bytes and time (per replica)."""

    def __init__(self, ttl_s: float, max_bytes: int) -> None:
        self.ttl_s = ttl_s
        self.enabled = ttl_s > 0 and max_bytes > 0
        self._pages: TTLCache[str, Stored] = TTLCache(
            maxsize=max(1, max_bytes), ttl=max(ttl_s, 0.001), getsizeof=lambda s: len(s.body) + 1
        )
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Stored | None:
        """A fresh stored page, if there is one."""
        found = self._pages.get(key) if self.enabled else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: str, stored: Stored) -> None:
        """Keep a page (one larger than the whole cache is not kept)."""
        if self.enabled and len(stored.body) < self._pages.maxsize:
            self._pages[key] = stored

    def clear(self) -> None:
        """Forget every page."""
        self._pages.clear()


async def _send_stored(stored: Stored, send: Send, *, head: bool, not_modified: bool) -> None:
    age = str(max(0, int(time.monotonic() - stored.stored_at)))
    if not_modified:
        headers = [(k, v) for k, v in stored.headers if k in _NOT_MODIFIED_KEEPS]
        status = 304
    else:
        headers = list(stored.headers)
        status = stored.status
    headers.append((b"age", age.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    body = b"" if head or not_modified else stored.body
    await send({"type": "http.response.body", "body": body, "more_body": False})


class PageEdgeMiddleware:
    """HEAD, conditional GET and the page cache for the page space."""

    def __init__(self, app: ASGIApp, cache: PageCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not is_page_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        request_headers = Headers(scope=scope)
        if_none_match = request_headers.get("if-none-match")
        key = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        hit = self.cache.get(key)
        if hit is not None:
            await _send_stored(hit, send, head=head, not_modified=_matches(if_none_match, hit.etag))
            return
        await self._render(scope, receive, send, key, head=head, if_none_match=if_none_match)

    async def _render(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: str,
        *,
        head: bool,
        if_none_match: str | None,
    ) -> None:
        # A HEAD is answered as its GET would be, without the body: same status, same headers.
        inner = {**scope, "method": "GET"} if head else scope
        start: Message | None = None
        keep = False  # a public page: stored once its body is whole
        swallow = head  # the client gets no body (a HEAD, or a 304)
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start, keep, swallow
            if message["type"] == "http.response.start":
                start = message
                headers = Headers(raw=message.get("headers", []))
                keep = _publicly_cacheable(message["status"], headers)
                if keep and _matches(if_none_match, headers.get("etag", "")):
                    swallow = True
                    kept = [(k, v) for k, v in message["headers"] if k in _NOT_MODIFIED_KEEPS]
                    message = {**message, "status": 304, "headers": kept}
            elif message["type"] == "http.response.body":
                if keep:
                    chunks.append(message.get("body", b""))
                if swallow:
                    if message.get("more_body", False):
                        return
                    message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(inner, receive, capture)
        if keep and start is not None:
            stored = Stored(
                time.monotonic(), start["status"], list(start["headers"]), b"".join(chunks)
            )
            self.cache.put(key, stored)


def page_cache(settings: Settings) -> PageCache:
    """The replica's page cache, as the settings size it."""
    return PageCache(settings.page_cache_s, settings.page_cache_max_bytes)


def install_page_edge(app: FastAPI, settings: Settings) -> None:
    """Put the page edge just inside the rate limits (`gateway.edge`), which must be installed."""
    cache = page_cache(settings)
    app.state.page_cache = cache
    names = [getattr(m.cls, "__name__", "") for m in app.user_middleware]
    at = names.index("EdgeMiddleware") + 1
    app.user_middleware.insert(at, Middleware(PageEdgeMiddleware, cache=cache))

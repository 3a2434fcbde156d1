"""The gateway's edge: who is calling, how much they may, and the headers every answer carries.

Three ASGI middlewares, innermost last, placed just inside the request-id middleware so that
everything they answer or log carries the request id:

- `SecurityHeadersMiddleware`: nosniff, no referrer, a CSP that forbids everything (API answers
  are data, never documents) unless the route set its own (Swagger UI, public pages), HSTS when
  the public address is https.
- CORS (Starlette's): an explicit allow-list of origins, none by default.
- `EdgeMiddleware`: refuses tokens of disabled clients, and rate-limits per API client (per IP
  for callers without a valid token; reading the public pages, GET/HEAD in the page space of
  `gateway.pages.negotiation`, on a separate, larger count per IP, `pages`) with the
  `RateLimit` / `RateLimit-Policy` fields of
  draft-ietf-httpapi-ratelimit-headers-11 (May 2026; the structured-field form since -08:
  `RateLimit-Policy: "default";q=600;w=60` and `RateLimit: "default";r=599;t=42`). It also
  names the caller whose share of the backends' connections a proxied request takes
  (`gateway.edge.fairness`, applied in `gateway.proxy.forward`).

Rate limiting uses the `limits` library's sliding window counter: two fixed-window counts per
key (this minute and the last), the last one weighted by how much of it still overlaps the
window, as Cloudflare and most gateways do. It costs two integers per key whatever the quota,
where an exact moving window keeps a timestamp per request: 60,000 per busy client at 1,000
requests a second, each hit an O(n) list insert, and the in-memory store expiring them through a
worker thread (it was a seventh of the gateway's CPU under the ingest benchmark). The price is
an approximation: with an even flow the count is exact; a burst at the end of one minute weighs
in the next in proportion to the overlap. `Retry-After` is the moment the weighted count falls
below the quota. In memory, or with `GATEWAY_RATE_LIMIT_STORAGE=redis://...` in Redis, where
every replica shares one count. `limits` has no GCRA.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.edge.fairness import CLIENT_KEY, BackendShares, BodyPolicy
from gateway.identity import repository
from gateway.pages.errors import error_page
from gateway.pages.negotiation import is_page_path, wants_page
from servicekit.auth import Principal, TokenVerifier, remember_principal
from servicekit.problems import ProblemError

log = logging.getLogger("gateway.edge")

# Probes and metrics belong to the load balancer and the scraper, not to API clients; static
# assets are cheap files a browser fetches several of per page.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNLIMITED_PREFIXES = ("/static/", "/docs/assets/")
WINDOW_S = 60

# API answers are JSON, never a document to render: forbid every fetch, frame and plugin.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSE_HEADERS = [
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "ETag",
    "Location",
    "Link",
    "X-Request-ID",
]


# --- clients ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientLimits:
    """What the edge needs to know about an API client."""

    active: bool
    rate_limit_per_minute: int | None


@dataclass
class ClientDirectory:
    """Clients' active flag and rate limit, cached for `ttl_s` so a request costs no query.

    The TTL bounds how long a replica keeps admitting a client disabled on another replica;
    the replica that disables it forgets it at once (`forget`).
    """

    ttl_s: float
    _cache: dict[str, tuple[float, ClientLimits | None]] = field(default_factory=dict)
    _loading: dict[str, asyncio.Task[ClientLimits | None]] = field(default_factory=dict)
    queries: int = 0

    async def _load(
        self, maker: async_sessionmaker[AsyncSession], client_id: str
    ) -> ClientLimits | None:
        self.queries += 1
        async with maker() as session, session.begin():
            row = await repository.client_by_client_id(session, client_id)
            found = None if row is None else ClientLimits(row.active, row.rate_limit_per_minute)
        self._cache[client_id] = (time.monotonic(), found)
        return found

    async def get(
        self, maker: async_sessionmaker[AsyncSession], client_id: str
    ) -> ClientLimits | None:
        """The client's limits, or None if the gateway does not know it."""
        hit = self._cache.get(client_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        # One query per client however many of its requests arrive while it runs.
        task = self._loading.get(client_id)
        if task is None:
            task = asyncio.ensure_future(self._load(maker, client_id))
            self._loading[client_id] = task
            task.add_done_callback(lambda _: self._loading.pop(client_id, None))
        return await asyncio.shield(task)

    def forget(self, client_id: str) -> None:
        """Drop a client from the cache (it was just changed on this replica)."""
        self._cache.pop(client_id, None)


def client_directory(app: FastAPI) -> ClientDirectory:
    """The app's client cache."""
    directory: ClientDirectory = app.state.client_directory
    return directory


# --- rate limits ------------------------------------------------------------------------------


def make_storage(uri: str) -> Storage:
    """In-memory counts, or Redis shared by replicas (`redis://`, `rediss://`)."""
    if uri.startswith(("redis://", "rediss://")):
        return RedisStorage(
            f"async+{uri}",
            implementation="redispy",
            key_prefix="scrutiny-gateway",
            wrap_exceptions=True,
        )
    if uri in ("memory://", "async+memory://", ""):
        return MemoryStorage()
    raise ValueError(f"GATEWAY_RATE_LIMIT_STORAGE must be memory:// or redis://..., not {uri!r}")


@dataclass(frozen=True)
class Quota:
    """The quota policy that applies to one request, and whose count it uses."""

    policy: str  # the policy's name in the header fields
    key: str  # the partition: a client id or an IP address
    per_minute: int


@dataclass(frozen=True)
class Usage:
    """The result of counting one request against its quota."""

    allowed: bool
    remaining: int
    reset_s: int


def rate_limit_headers(quota: Quota, usage: Usage) -> list[tuple[bytes, bytes]]:
    """`RateLimit-Policy` and `RateLimit` as structured-field Items (draft -11 §§3-4)."""
    name = quota.policy
    return [
        (b"ratelimit-policy", f'"{name}";q={quota.per_minute};w={WINDOW_S}'.encode()),
        (b"ratelimit", f'"{name}";r={usage.remaining};t={usage.reset_s}'.encode()),
    ]


class RateLimiter:
    """Sliding-window counts per partition key."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, quota: Quota) -> Usage:
        """Count one request; whether it is allowed and what is left."""
        item = RateLimitItemPerMinute(quota.per_minute)
        allowed = await self.strategy.hit(item, quota.policy, quota.key)
        stats = await self.strategy.get_window_stats(item, quota.policy, quota.key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Usage(allowed, max(0, stats.remaining), reset)

    async def exhausted(self, quota: Quota) -> int | None:
        """Seconds until `quota` allows one more, if it allows none now (nothing is counted)."""
        item = RateLimitItemPerMinute(quota.per_minute)
        if await self.strategy.test(item, quota.policy, quota.key):
            return None
        stats = await self.strategy.get_window_stats(item, quota.policy, quota.key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def count(self, quota: Quota) -> None:
        """Count one event against `quota` (whether or not it is still within it)."""
        await self.strategy.hit(RateLimitItemPerMinute(quota.per_minute), quota.policy, quota.key)

    async def close(self) -> None:
        """Release connections (Redis)."""
        if isinstance(self.storage, RedisStorage):
            with contextlib.suppress(Exception):
                await self.storage.bridge.storage.aclose()  # type: ignore[attr-defined]


# --- the middlewares --------------------------------------------------------------------------


def _unlimited(path: str) -> bool:
    return path in UNLIMITED_PATHS or path.startswith(UNLIMITED_PREFIXES)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


async def _send_problem(
    scope: Scope, receive: Receive, send: Send, exc: ProblemError, extra: list[tuple[bytes, bytes]]
) -> None:
    if wants_page(scope["path"], scope.get("headers", [])):
        # A person's browser: the same status and headers, as a page in the site's layout.
        response: Response = error_page(Request(scope), exc.status, headers=exc.headers)
    else:
        response = exc.to_response(scope.get("path"))
    response.raw_headers.extend(extra)
    await response(scope, receive, send)


class EdgeMiddleware:
    """Refuse disabled clients' tokens; count every request against its client's quota."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def _quota(self, scope: Scope, state: Any) -> Quota | ProblemError:
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if scope["method"] in ("GET", "HEAD") and is_page_path(scope["path"]):
            # Reading the public pages has its own, larger count per address: people read
            # pages, not API clients, and one office behind a NAT shares an address.
            return Quota("pages", ip, self.settings.page_rate_limit_per_minute)
        token = _bearer(scope)
        if token is not None:
            # A token that does not verify counts against the IP; the route or service says 401.
            # The verifier remembers tokens it verified, so a client's burst costs one check.
            verifier: TokenVerifier = state.token_verifier
            try:
                principal: Principal | None = await verifier.verify(token)
            except ProblemError:
                principal = None
            if principal is not None:
                # For the access line: proxied requests take a fast path past the dependencies
                # that would otherwise record who called.
                remember_principal(scope, principal)
                directory: ClientDirectory = state.client_directory
                known = await directory.get(state.sessionmaker, principal.client_id)
                if known is None or not known.active:
                    return ProblemError(
                        401,
                        "Unauthorized",
                        "The API client this token was issued to is disabled.",
                        type_="/problems/unauthorized",
                        headers={
                            "WWW-Authenticate": 'Bearer realm="scrutiny", error="invalid_token"'
                        },
                    )
                if known.rate_limit_per_minute is not None:
                    return Quota("client", principal.client_id, known.rate_limit_per_minute)
                return Quota("default", principal.client_id, self.settings.rate_limit_per_minute)
        return Quota("anonymous", ip, self.settings.anonymous_rate_limit_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _unlimited(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        quota = await self._quota(scope, state)
        if isinstance(quota, ProblemError):
            await _send_problem(scope, receive, send, quota, [])
            return
        # Whose share of the backends' connections the request takes, if it is proxied.
        kind = "address" if quota.policy in ("anonymous", "pages") else "client"
        scope.setdefault("state", {})[CLIENT_KEY] = f"{kind}:{quota.key}"
        limiter: RateLimiter = state.rate_limiter
        try:
            usage = await limiter.hit(quota)
        except Exception:
            # Fail open: a broken counter store must not take the API down with it.
            log.warning("rate limit storage unavailable; request not counted", exc_info=True)
            await self.app(scope, receive, send)
            return
        headers = rate_limit_headers(quota, usage)
        if not usage.allowed:
            retry = max(1, usage.reset_s)
            await _send_problem(
                scope,
                receive,
                send,
                ProblemError(
                    429,
                    "Too Many Requests",
                    f"This client may make {quota.per_minute} requests per {WINDOW_S} s; "
                    f"try again in {retry} s.",
                    type_="/problems/rate-limited",
                    headers={"Retry-After": str(retry)},
                ),
                headers,
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in headers:
                    out[name.decode()] = value.decode()
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SecurityHeadersMiddleware:
    """Headers every answer carries; a route's own Content-Security-Policy is kept."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": API_CSP,
        }
        if settings.public_url.lower().startswith("https://"):
            # No includeSubDomains: the gateway does not speak for its sibling hosts.
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in out:
                        out[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Put the edge middlewares just inside the request-id middleware."""
    app.state.client_directory = ClientDirectory(ttl_s=settings.client_cache_ttl_s)
    app.state.rate_limiter = None
    app.state.body_policy = BodyPolicy.of(settings)
    app.state.backend_shares = BackendShares.of(settings)
    edge = [
        Middleware(SecurityHeadersMiddleware, settings=settings),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            allow_credentials=False,  # bearer tokens, never cookies
            max_age=600,
        ),
        Middleware(EdgeMiddleware, settings=settings),
    ]
    # user_middleware runs outermost first; the request-id middleware and the access log just
    # inside it come first, so a request the edge refuses is still logged with its id.
    names = [getattr(m.cls, "__name__", "") for m in app.user_middleware]
    anchor = "AccessLogMiddleware" if "AccessLogMiddleware" in names else "CorrelationIdMiddleware"
    at = names.index(anchor) + 1 if anchor in names else 0
    app.user_middleware[at:at] = edge


@contextlib.asynccontextmanager
async def edge_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The rate-limit counter store lives as long as the app."""
    settings: Settings = app.state.settings
    limiter = RateLimiter(make_storage(settings.rate_limit_storage))
    app.state.rate_limiter = limiter
    try:
        yield
    finally:
        await limiter.close()

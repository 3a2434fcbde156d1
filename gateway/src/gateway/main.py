"""The gateway app factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from gateway.backends import open_backends
from gateway.compose.router import ReportCache
from gateway.compose.router import router as reports_router
from gateway.config import ALEMBIC_INI, Settings
from gateway.docs.openapi import ServiceDocs
from gateway.docs.router import ASSETS_PATH, swagger_assets
from gateway.docs.router import router as docs_router
from gateway.edge.middleware import edge_lifespan, install_edge
from gateway.events.log import consumers_lifespan
from gateway.events.router import feed_router
from gateway.events.router import router as event_types_router
from gateway.identity import clients as service
from gateway.identity.exchange import TokenExchange
from gateway.identity.oauth import admin_router, oauth_router, token_lifetime
from gateway.models import Event, IdempotencyKey
from gateway.pages.cache import install_page_edge
from gateway.pages.errors import install_error_pages
from gateway.pages.evidence_form import form_body_limits
from gateway.pages.evidence_form import router as evidence_form_router
from gateway.pages.feeds import router as feeds_router
from gateway.pages.opendata import router as opendata_router
from gateway.pages.render import STATIC_DIR
from gateway.pages.router import router as pages_router
from gateway.pages.statements import router as statements_router
from gateway.proxy.forward import ProxyFastPath, body_limits, proxy_router
from gateway.webhooks.router import router as webhooks_router
from gateway.webhooks.urls import Resolver
from gateway.webhooks.worker import webhooks_lifespan
from servicekit.app import create_service_app
from servicekit.auth import AuthSettings, TokenVerifier

log = logging.getLogger("gateway")

# FastAPI's built-in document and CDN-based doc pages, replaced by the gateway's own.
_BUILTIN_DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def _plain_feed(route: Any) -> bool:
    """servicekit's undocumented feed router, which the documented public feed replaces."""
    router = getattr(route, "original_router", None)
    return (
        router is not None
        and router is not feed_router
        and any(getattr(r, "path", None) == "/v1/events" for r in router.routes)
    )


def create_app(
    settings: Settings | None = None,
    *,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    auth: AuthSettings | None = None,
    feed_transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_resolver: Resolver | None = None,
) -> FastAPI:
    """Build the gateway; `transports` replaces the network per service (tests pass ASGI apps).

    The event log reads the services' feeds over the network, or over `feed_transports`; when
    `transports` is given without `feed_transports` the feeds are not read (in-process tests of
    the proxy see only their own calls). `webhook_transport`/`webhook_resolver` replace the
    network and DNS of webhook deliveries.
    """
    settings = settings or Settings()
    auth = auth or settings.auth_settings()
    # The gateway verifies tokens for its own routes from its own key table: no HTTP to itself.
    # It alone accepts clients' tokens; services accept the ones it exchanges them for.
    verifier = TokenVerifier(auth, audience=auth.token_audience)

    @contextlib.asynccontextmanager
    async def gateway_lifespan(app: FastAPI) -> AsyncIterator[None]:
        cipher = settings.key_cipher()
        if not cipher.enabled:
            log.warning(
                "GATEWAY_KEY_ENCRYPTION_KEY is not set: signing keys and replayable secrets "
                "are stored unencrypted"
            )
        # Refuses to start (KeyEncryptionError) when the stored keys do not open with it.
        async with app.state.sessionmaker() as session, session.begin():
            await service.ensure_signing_key(session, cipher)
        exchange = TokenExchange(app.state.sessionmaker, settings, auth, verifier)
        app.state.token_exchange = exchange
        async with open_backends(settings, transports, traced=app) as backends:
            for client in (backends.commitments, backends.evidence, backends.ratings):
                client.exchange = exchange.rewrite
            app.state.backends = backends
            yield

    app = create_service_app(
        name="gateway",
        title="Scrutiny API",
        description=(
            "Government commitments, the evidence on whether they are delivered, and expert "
            "ratings of progress. Read published data without an account; for writes get a "
            "token from `POST /oauth/token` (OAuth 2.0 client credentials)."
        ),
        settings=settings,
        alembic_ini=ALEMBIC_INI,
        routers=[
            oauth_router,
            admin_router,
            reports_router,
            docs_router,
            pages_router,
            opendata_router,
            feeds_router,
            evidence_form_router,
            statements_router,
            feed_router,
            event_types_router,
            webhooks_router,
            proxy_router(),
        ],
        event_model=Event,
        idempotency_model=IdempotencyKey,
        token_verifier=verifier,
        lifespan_hooks=[
            gateway_lifespan,
            edge_lifespan,
            consumers_lifespan(
                settings
                if transports is None or feed_transports is not None
                else settings.model_copy(update={"events_consume": False}),
                feed_transports,
            ),
            webhooks_lifespan(settings, transport=webhook_transport, resolver=webhook_resolver),
        ],
        body_limit_overrides=[*form_body_limits(settings), *body_limits(settings)],
        openapi_tags=[
            {"name": "auth", "description": "Access tokens and the keys that verify them."},
            {"name": "clients", "description": "API clients and their credentials (admin)."},
            {"name": "signing keys", "description": "Token-signing key rotation (admin)."},
            {"name": "reports", "description": "Reads composed across services."},
            {"name": "events", "description": "The gateway's event log."},
            {
                "name": "webhooks",
                "description": "Subscriptions that push the event log to your URL, signed, "
                "with retries and a delivery history.",
            },
            {"name": "operations", "description": "Probes."},
        ],
    )
    app.router.routes[:] = [
        r
        for r in app.router.routes
        if (isinstance(r, APIRoute) or getattr(r, "path", None) not in _BUILTIN_DOC_PATHS)
        # servicekit's plain feed gives way to the documented public feed (gateway.events).
        and not _plain_feed(r)
    ]
    app.mount(ASSETS_PATH, swagger_assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="page-assets")
    app.state.auth_settings = auth
    # Created clients' and webhook subscriptions' answers hold their secret: sealed at rest.
    app.state.idempotency.codec = settings.key_cipher()
    install_edge(app, settings)
    install_page_edge(app, settings)
    install_error_pages(app)
    # Innermost: every other middleware still sees proxied requests.
    app.user_middleware.append(Middleware(ProxyFastPath))
    app.state.report_cache = ReportCache(settings.report_cache_s)
    app.state.service_docs = ServiceDocs(
        ttl_s=settings.openapi_cache_s, timeout_s=settings.openapi_timeout_s
    )

    async def own_jwks() -> dict[str, Any]:
        async with app.state.sessionmaker() as session, session.begin():
            return await service.jwks(session, token_lifetime(settings, auth))

    verifier.fetch_jwks = own_jwks
    return app

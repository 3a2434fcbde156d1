"""The gateway app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from gateway import service
from gateway.clients import open_backends
from gateway.config import ALEMBIC_INI, Settings
from gateway.models import Event
from gateway.openapi import ServiceDocs
from gateway.routes.docs import ASSETS_PATH, swagger_assets
from gateway.routes.docs import router as docs_router
from gateway.routes.identity import admin_router, oauth_router, token_lifetime
from gateway.routes.proxy import ROUTES, proxy_router
from gateway.pages.render import STATIC_DIR
from gateway.pages.router import router as pages_router
from gateway.routes.reports import router as reports_router
from servicekit.app import create_service_app
from servicekit.auth import AuthSettings, TokenVerifier

# FastAPI's built-in document and CDN-based doc pages, replaced by the gateway's own.
_BUILTIN_DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def create_app(
    settings: Settings | None = None,
    *,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    auth: AuthSettings | None = None,
) -> FastAPI:
    """Build the gateway; `transports` replaces the network per service (tests pass ASGI apps)."""
    settings = settings or Settings()
    auth = auth or settings.auth_settings()
    # The gateway verifies tokens for its own routes from its own key table: no HTTP to itself.
    verifier = TokenVerifier(auth)

    @contextlib.asynccontextmanager
    async def gateway_lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with app.state.sessionmaker() as session, session.begin():
            await service.ensure_signing_key(session)
        async with open_backends(settings, transports) as backends:
            app.state.backends = backends
            yield

    proxied = [
        (rule.pattern.pattern.lstrip("^").rstrip("$"), settings.proxy_max_body_bytes)
        for rule in ROUTES
    ]
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
        routers=[oauth_router, admin_router, reports_router, docs_router, pages_router, proxy_router()],
        event_model=Event,
        token_verifier=verifier,
        lifespan_hooks=[gateway_lifespan],
        body_limit_overrides=proxied,
        openapi_tags=[
            {"name": "auth", "description": "Access tokens and the keys that verify them."},
            {"name": "clients", "description": "API clients and their credentials (admin)."},
            {"name": "signing keys", "description": "Token-signing key rotation (admin)."},
            {"name": "reports", "description": "Reads composed across services."},
            {"name": "events", "description": "The gateway's event log."},
            {"name": "operations", "description": "Probes."},
        ],
    )
    app.router.routes[:] = [
        r
        for r in app.router.routes
        if isinstance(r, APIRoute) or getattr(r, "path", None) not in _BUILTIN_DOC_PATHS
    ]
    app.mount(ASSETS_PATH, swagger_assets(), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="page-assets")
    app.state.auth_settings = auth
    app.state.service_docs = ServiceDocs(
        ttl_s=settings.openapi_cache_s, timeout_s=settings.openapi_timeout_s
    )

    async def own_jwks() -> dict[str, Any]:
        async with app.state.sessionmaker() as session, session.begin():
            return await service.jwks(session, token_lifetime(settings, auth))

    verifier.fetch_jwks = own_jwks
    return app

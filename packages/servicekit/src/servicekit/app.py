"""The app factory every service uses: one place for middleware, errors, probes and OpenAPI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from servicekit.access_log import AccessLogMiddleware
from servicekit.auth import AuthSettings, TokenVerifier, optional_principal
from servicekit.db import (
    ReadSessionMiddleware,
    create_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from servicekit.health import health_router
from servicekit.http import make_client
from servicekit.idempotency import Idempotency, sweeper
from servicekit.limits import BodyLimitMiddleware, HeaderLimitMiddleware
from servicekit.logs import configure_logging, valid_request_id
from servicekit.metrics import install_metrics, metrics_server
from servicekit.openapi import install_openapi
from servicekit.outbox import events_router, sequencer
from servicekit.problems import install_problem_handlers
from servicekit.query import reject_unknown_query
from servicekit.settings import ServiceSettings
from servicekit.tracing import provider_from_environment, trace_app, trace_engine
from servicekit.tracing import shutdown as shutdown_tracing

LifespanHook = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def _require_operation_id(route: APIRoute) -> str:
    # Stable, hand-written operationIds are part of the contract; a route without one is a bug.
    raise RuntimeError(f"route {route.path} {route.methods} has no explicit operation_id")


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    alembic_ini: Path,
    routers: Sequence[APIRouter],
    event_model: type[Any],
    openapi_tags: list[dict[str, str]] | None = None,
    lifespan_hooks: Sequence[LifespanHook] = (),
    token_verifier: TokenVerifier | None = None,
    body_limit_overrides: Sequence[tuple[str, int]] = (),
    idempotency_model: type[Any] | None = None,
) -> FastAPI:
    """Build a service app; its engine, sequencer and hooks live for the app's lifespan.

    With `idempotency_model` (the service's `IdempotencyKeyMixin` table) the app gets
    `app.state.idempotency`, with the TTL and lease from its settings, and a sweeper of
    expired keys.
    """
    configure_logging(name, json_logs=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            echo=settings.echo_sql,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        trace_engine(app, engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.read_sessionmaker = make_read_sessionmaker(engine)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if token_verifier is None:
                    auth = AuthSettings()
                    jwks_client = await stack.enter_async_context(make_client(auth.jwks_url))

                    async def fetch_jwks() -> dict[str, Any]:
                        resp = await jwks_client.get(auth.jwks_url)
                        resp.raise_for_status()
                        jwks: dict[str, Any] = resp.json()
                        return jwks

                    app.state.token_verifier = TokenVerifier(auth, fetch_jwks=fetch_jwks)
                await stack.enter_async_context(
                    sequencer(
                        app.state.sessionmaker,
                        event_model,
                        settings.sequencer_interval_s,
                        settings.sequencer_idle_interval_s,
                    )
                )
                if idempotency_model is not None:
                    await stack.enter_async_context(
                        sweeper(app.state.sessionmaker, idempotency_model)
                    )
                if settings.metrics_port:
                    stack.enter_context(
                        metrics_server(registry, settings.metrics_host, settings.metrics_port)
                    )
                for hook in lifespan_hooks:
                    await stack.enter_async_context(hook(app))
                yield
        finally:
            await engine.dispose()
            shutdown_tracing(app)

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        generate_unique_id_function=_require_operation_id,
        # On every route: a present token is verified (401 if invalid, public reads too), and a
        # query parameter the route does not declare is a 400.
        dependencies=[Depends(optional_principal), Depends(reject_unknown_query)],
    )
    app.state.settings = settings
    app.state.service_name = name
    app.state.token_verifier = token_verifier
    if idempotency_model is not None:
        app.state.idempotency = Idempotency(
            idempotency_model,
            ttl=timedelta(seconds=settings.idempotency_ttl_s),
            lease=timedelta(seconds=settings.idempotency_lease_s),
        )
    install_problem_handlers(app)
    app.add_middleware(ReadSessionMiddleware)
    registry = install_metrics(app, name, on_app_port=not settings.metrics_port)
    app.add_middleware(
        BodyLimitMiddleware, default_limit=settings.max_body_bytes, overrides=body_limit_overrides
    )
    # Inside the request-id middleware, so the access line carries the request's id.
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(
        CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id
    )
    # Outermost: an oversized request goes no further than this.
    app.add_middleware(HeaderLimitMiddleware)
    # Traced only where a collector is configured (a test may trace it with its own provider).
    trace_app(app, provider_from_environment(name))
    app.include_router(health_router(alembic_ini))
    app.include_router(events_router(event_model))
    for router in routers:
        app.include_router(router)
    install_openapi(app)
    return app

"""The ratings service app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from ratings.config import ALEMBIC_INI, Settings
from ratings.models import ConsumerPosition, Event
from ratings.router import router
from ratings.service import apply_commitment_event
from servicekit.app import LifespanHook, create_service_app
from servicekit.auth import TokenVerifier
from servicekit.consumer import FeedConsumer, running
from servicekit.http import make_client
from servicekit.service_auth import consumer_headers


def _commitments_consumer(
    settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> LifespanHook:
    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async with make_client(settings.commitments_url, transport=transport) as client:
            consumer = FeedConsumer(
                "commitments",
                client,
                app.state.sessionmaker,
                ConsumerPosition,
                apply_commitment_event,
                interval=settings.consumer_interval_s,
                headers=consumer_headers(settings.client_id, settings.client_secret),
            )
            app.state.consumers = {"commitments": consumer}
            async with running(consumer):
                yield

    return hook


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    commitments_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the ratings service; `commitments_transport` lets tests feed it an in-process app."""
    settings = settings or Settings()
    return create_service_app(
        name="ratings",
        title="Scrutiny ratings service",
        description="Evaluations of commitments, their ratings, and how overalls are reached.",
        settings=settings,
        alembic_ini=ALEMBIC_INI,
        routers=[router],
        event_model=Event,
        token_verifier=token_verifier,
        lifespan_hooks=[_commitments_consumer(settings, commitments_transport)],
        openapi_tags=[
            {"name": "evaluations", "description": "A panel's evaluation of commitments."},
            {"name": "ratings", "description": "Each commitment's rating and overall."},
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )

"""The ratings service app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from ratings.config import ALEMBIC_INI, Settings
from ratings.models import ConsumerPosition, Event
from ratings.router import router
from ratings.service import apply_commitment_event, apply_evidence_event
from servicekit.app import LifespanHook, create_service_app
from servicekit.auth import TokenVerifier
from servicekit.consumer import FeedConsumer, running
from servicekit.http import make_client
from servicekit.service_auth import consumer_headers


def _consumers(
    settings: Settings,
    commitments_transport: httpx.AsyncBaseTransport | None,
    evidence_transport: httpx.AsyncBaseTransport | None,
) -> LifespanHook:
    """The two read models: commitments (scope, policy areas) and evidence (what may be cited)."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        # Private events (unpublished evidence, e.g. just accepted) need events:internal.
        headers = consumer_headers(settings.client_id, settings.client_secret)
        async with (
            make_client(settings.commitments_url, transport=commitments_transport) as commitments,
            make_client(settings.evidence_url, transport=evidence_transport) as evidence,
        ):
            consumers = {
                "commitments": FeedConsumer(
                    "commitments",
                    commitments,
                    app.state.sessionmaker,
                    ConsumerPosition,
                    apply_commitment_event,
                    interval=settings.consumer_interval_s,
                    idle_interval=settings.consumer_idle_interval_s,
                    headers=headers,
                ),
                "evidence": FeedConsumer(
                    "evidence",
                    evidence,
                    app.state.sessionmaker,
                    ConsumerPosition,
                    apply_evidence_event,
                    interval=settings.consumer_interval_s,
                    idle_interval=settings.consumer_idle_interval_s,
                    headers=headers,
                ),
            }
            app.state.consumers = consumers
            async with running(*consumers.values()):
                yield

    return hook


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    commitments_transport: httpx.AsyncBaseTransport | None = None,
    evidence_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the ratings service; the transports let tests serve the two feeds in-process."""
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
        lifespan_hooks=[_consumers(settings, commitments_transport, evidence_transport)],
        openapi_tags=[
            {"name": "evaluations", "description": "A panel's evaluation of commitments."},
            {"name": "ratings", "description": "Each commitment's rating and overall."},
            {"name": "responses", "description": "Responses to published evaluations."},
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )

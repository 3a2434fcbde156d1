"""The ratings service app factory."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ratings.config import ALEMBIC_INI, Settings
from ratings.models import ConsumerPosition, Event, IdempotencyKey
from ratings.read_models import apply_commitment_event, apply_evidence_event
from ratings.routers import ROUTERS
from ratings.sweeps import overdue_sweeper
from servicekit.app import create_service_app
from servicekit.auth import TokenVerifier
from servicekit.consumer import Feed, consuming


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    commitments_transport: httpx.AsyncBaseTransport | None = None,
    evidence_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the ratings service; the transports let tests serve the two feeds in-process."""
    settings = settings or Settings()
    # The two read models: commitments (scope, policy areas) and evidence (what may be cited).
    consumers = consuming(
        settings,
        ConsumerPosition,
        Feed(
            "commitments", settings.commitments_url, apply_commitment_event, commitments_transport
        ),
        Feed("evidence", settings.evidence_url, apply_evidence_event, evidence_transport),
    )
    return create_service_app(
        name="ratings",
        title="Scrutiny ratings service",
        description="Evaluations of commitments, their ratings, and how overalls are reached.",
        settings=settings,
        alembic_ini=ALEMBIC_INI,
        routers=ROUTERS,
        event_model=Event,
        idempotency_model=IdempotencyKey,
        token_verifier=token_verifier,
        lifespan_hooks=[consumers, overdue_sweeper(settings)],
        openapi_tags=[
            {"name": "evaluations", "description": "A panel's evaluation of commitments."},
            {"name": "ratings", "description": "Each commitment's rating and overall."},
            {
                "name": "panel",
                "description": "An evaluation's panel: members, declared interests, individual "
                "scores and the agreement between them.",
            },
            {"name": "responses", "description": "Responses to published evaluations."},
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )

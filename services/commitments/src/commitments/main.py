"""The commitments service app factory."""

from __future__ import annotations

from fastapi import FastAPI

from commitments import progress
from commitments.config import ALEMBIC_INI, Settings
from commitments.models import Event, IdempotencyKey
from commitments.routers import ROUTERS
from commitments.sweeps import overdue_sweeper
from servicekit.app import create_service_app
from servicekit.auth import TokenVerifier

# A CSV import may be far larger than a JSON body.
IMPORT_BODY_LIMIT = 50 * 1024 * 1024


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    """Build the commitments service."""
    settings = settings or Settings()
    progress.configure(settings.stale_reading_days, settings.on_track_tolerance)
    return create_service_app(
        name="commitments",
        title="Scrutiny commitments service",
        description="Sources, policy areas and the commitments governments make: their targets, "
        "progress readings, revision history and lineage.",
        settings=settings,
        lifespan_hooks=[overdue_sweeper(settings)],
        alembic_ini=ALEMBIC_INI,
        routers=ROUTERS,
        event_model=Event,
        token_verifier=token_verifier,
        idempotency_model=IdempotencyKey,
        body_limit_overrides=[(r"/v1/commitment-imports", IMPORT_BODY_LIMIT)],
        openapi_tags=[
            {"name": "sources", "description": "Documents commitments come from."},
            {"name": "policy areas", "description": "How commitments are grouped."},
            {"name": "commitments", "description": "What was promised, and its history."},
            {"name": "targets", "description": "Measurable targets and progress readings."},
            {"name": "delivery", "description": "Milestones and self-assessments."},
            {"name": "lineage", "description": "Superseded, split and merged commitments."},
            {"name": "import and export", "description": "Bulk CSV in and out."},
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )

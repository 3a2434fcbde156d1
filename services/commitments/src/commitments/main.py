"""The commitments service app factory."""

from __future__ import annotations

from fastapi import FastAPI

from commitments.config import ALEMBIC_INI, Settings
from commitments.models import Event
from commitments.router import router
from servicekit.app import create_service_app
from servicekit.auth import TokenVerifier


def create_app(
    settings: Settings | None = None, *, token_verifier: TokenVerifier | None = None
) -> FastAPI:
    """Build the commitments service."""
    return create_service_app(
        name="commitments",
        title="Scrutiny commitments service",
        description="Sources, policy areas and the commitments governments make.",
        settings=settings or Settings(),
        alembic_ini=ALEMBIC_INI,
        routers=[router],
        event_model=Event,
        token_verifier=token_verifier,
        openapi_tags=[
            {"name": "sources", "description": "Documents commitments come from."},
            {"name": "policy areas", "description": "How commitments are grouped."},
            {"name": "commitments", "description": "What was promised."},
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )

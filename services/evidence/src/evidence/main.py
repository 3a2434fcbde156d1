"""The evidence service app factory."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from evidence.blobs import BlobStore, LocalBlobStore
from evidence.config import ALEMBIC_INI, MIB, Settings
from evidence.models import ConsumerPosition, Event, IdempotencyKey
from evidence.read_model import apply_commitment_event
from evidence.routers import ROUTERS
from servicekit.app import create_service_app
from servicekit.auth import TokenVerifier
from servicekit.consumer import Feed, consuming


def create_app(
    settings: Settings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    commitments_transport: httpx.AsyncBaseTransport | None = None,
    blob_store: BlobStore | None = None,
) -> FastAPI:
    """Build the evidence service; `commitments_transport` lets tests serve the feed in-process.

    Attachments go to `blob_store`, by default a `LocalBlobStore` in `settings.blob_dir`.
    """
    settings = settings or Settings()
    assert settings.blob_dir is not None  # filled in by Settings
    # The read model of commitments: submissions are checked against it, not over HTTP.
    consumers = consuming(
        settings,
        ConsumerPosition,
        Feed(
            "commitments", settings.commitments_url, apply_commitment_event, commitments_transport
        ),
    )
    app = create_service_app(
        name="evidence",
        title="Scrutiny evidence service",
        description="Evidence stakeholders submit on whether commitments are being delivered.",
        settings=settings,
        alembic_ini=ALEMBIC_INI,
        routers=ROUTERS,
        event_model=Event,
        token_verifier=token_verifier,
        lifespan_hooks=[consumers],
        idempotency_model=IdempotencyKey,
        # Uploads stream through a per-call limit of their own; the body cap here only stops
        # anything past the largest limit any call may set (plus room for multipart framing).
        body_limit_overrides=[
            (r"/v1/submissions/[^/]+/attachments", settings.max_attachment_bytes_ceiling + MIB)
        ],
        openapi_tags=[
            {"name": "calls for evidence", "description": "Invitations to submit evidence."},
            {"name": "submissions", "description": "Evidence and its receipts."},
            {"name": "attachments", "description": "Files attached to evidence."},
            {
                "name": "moderation",
                "description": "Accepting, publishing, withholding, rejecting and redacting.",
            },
            {"name": "events", "description": "The service's internal event feed."},
        ],
    )
    app.state.blob_store = blob_store or LocalBlobStore(settings.blob_dir)
    return app

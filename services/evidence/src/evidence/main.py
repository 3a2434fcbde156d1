"""The evidence service app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI

from evidence.blobs import BlobStore, LocalBlobStore
from evidence.config import ALEMBIC_INI, MIB, Settings
from evidence.models import ConsumerPosition, Event, IdempotencyKey
from evidence.router import router
from evidence.service import apply_commitment_event
from servicekit.app import create_service_app
from servicekit.auth import TokenVerifier
from servicekit.consumer import FeedConsumer, running
from servicekit.http import make_client
from servicekit.idempotency import Idempotency, sweeper
from servicekit.service_auth import consumer_headers


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

    @contextlib.asynccontextmanager
    async def consume_commitments(app: FastAPI) -> AsyncIterator[None]:
        # The read model of commitments: submissions are checked against it, not over HTTP.
        async with make_client(settings.commitments_url, transport=commitments_transport) as client:
            consumer = FeedConsumer(
                "commitments",
                client,
                app.state.sessionmaker,
                ConsumerPosition,
                apply_commitment_event,
                interval=settings.consumer_interval_s,
                idle_interval=settings.consumer_idle_interval_s,
                headers=consumer_headers(settings.client_id, settings.client_secret),
            )
            app.state.commitments_consumer = consumer
            async with running(consumer):
                yield

    @contextlib.asynccontextmanager
    async def sweep_idempotency_keys(app: FastAPI) -> AsyncIterator[None]:
        async with sweeper(app.state.sessionmaker, IdempotencyKey):
            yield

    app = create_service_app(
        name="evidence",
        title="Scrutiny evidence service",
        description="Evidence stakeholders submit on whether commitments are being delivered.",
        settings=settings,
        alembic_ini=ALEMBIC_INI,
        routers=[router],
        event_model=Event,
        token_verifier=token_verifier,
        lifespan_hooks=[consume_commitments, sweep_idempotency_keys],
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
    app.state.idempotency = Idempotency(
        IdempotencyKey,
        ttl=timedelta(seconds=settings.idempotency_ttl_s),
        lease=timedelta(seconds=settings.idempotency_lease_s),
    )
    return app

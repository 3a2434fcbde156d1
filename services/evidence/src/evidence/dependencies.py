"""Request-scoped dependencies of the evidence service (sessions and idempotency: servicekit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request

from evidence.attachments import PlacedBlobs
from evidence.blobs import BlobStore
from evidence.config import Settings
from evidence.visibility import MODERATE_SCOPE, SUBMIT_SCOPE, Viewer
from servicekit.auth import OptionalPrincipal, Principal, require_scope

# Submitting evidence needs this scope; reading published evidence needs no token.
SubmitterPrincipal = Annotated[Principal, Depends(require_scope(SUBMIT_SCOPE))]
# Calls for evidence, moderation and redaction.
ModeratorPrincipal = Annotated[Principal, Depends(require_scope(MODERATE_SCOPE))]


# Dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hand-off on every request (it showed in the bench/ profiles).
async def _viewer(principal: OptionalPrincipal) -> Viewer:
    return Viewer.of(principal)


async def _blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


async def _placed_blobs(request: Request) -> AsyncIterator[PlacedBlobs]:
    placed = PlacedBlobs(request.app.state.blob_store)
    try:
        yield placed
    except BaseException:
        # Request scope: this runs after the unit of work (function scope) has committed or
        # failed, so it also sees a commit that failed. Shielded: a cancelled request must not
        # leave its blob behind either.
        with anyio.CancelScope(shield=True):
            await placed.discard(request.app.state.sessionmaker)
        raise


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Who is asking, as far as object-level visibility goes.
CurrentViewer = Annotated[Viewer, Depends(_viewer)]
Blobs = Annotated[BlobStore, Depends(_blob_store)]
# Blobs an upload puts in the store, removed again unless the request's unit of work commits.
NewBlobs = Annotated[PlacedBlobs, Depends(_placed_blobs, scope="request")]
EvidenceSettings = Annotated[Settings, Depends(_settings)]

"""Request-scoped dependencies of the evidence service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evidence.blobs import BlobStore
from evidence.config import Settings
from evidence.service import Viewer
from servicekit.auth import OptionalPrincipal, Principal, require_scope
from servicekit.db import read_session_from_request, session_from_request
from servicekit.idempotency import Idempotency

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]
# Safe (GET) routes: an autocommit session, closed after the response (servicekit.db).
ReadSession = Annotated[AsyncSession, Depends(read_session_from_request)]

# Submitting evidence needs this scope; reading published evidence needs no token.
SubmitterPrincipal = Annotated[Principal, Depends(require_scope("evidence:submit"))]
# Calls for evidence, moderation and redaction.
ModeratorPrincipal = Annotated[Principal, Depends(require_scope("evidence:moderate"))]


# Dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hand-off on every request (it showed in the bench/ profiles).
async def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def _idempotency(request: Request) -> Idempotency:
    idempotency: Idempotency = request.app.state.idempotency
    return idempotency


async def _viewer(principal: OptionalPrincipal) -> Viewer:
    return Viewer.of(principal)


async def _blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Idempotent creates own their transactions (claim, then create + completion): see idempotency.
# Uploads too: no transaction stays open while a file streams in.
Maker = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
Idempotent = Annotated[Idempotency, Depends(_idempotency)]
# Who is asking, as far as object-level visibility goes.
CurrentViewer = Annotated[Viewer, Depends(_viewer)]
Blobs = Annotated[BlobStore, Depends(_blob_store)]
EvidenceSettings = Annotated[Settings, Depends(_settings)]

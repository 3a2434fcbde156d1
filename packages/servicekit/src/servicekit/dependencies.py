"""Typed request dependencies every app shares: sessions, the sessionmaker, idempotency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.db import read_session_from_request, session_from_request
from servicekit.idempotency import Creation, Idempotency, IdempotencyKeyHeader

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]
# Safe (GET) routes: an autocommit session, closed after the response (servicekit.db).
ReadSession = Annotated[AsyncSession, Depends(read_session_from_request)]


# Dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hand-off on every request (it showed in the bench/ profiles).
async def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's sessionmaker (built in the lifespan)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


async def idempotency_of(request: Request) -> Idempotency:
    """The app's `Idempotency-Key` store (see `create_service_app(idempotency_model=...)`)."""
    idempotency: Idempotency = request.app.state.idempotency
    return idempotency


# Routes that own their transactions (idempotent creates, streamed exports) take these instead.
Maker = Annotated[async_sessionmaker[AsyncSession], Depends(sessionmaker_of)]
Idempotent = Annotated[Idempotency, Depends(idempotency_of)]


async def creation_of(request: Request, idempotency_key: IdempotencyKeyHeader = None) -> Creation:
    """This request's idempotent create (declares the `Idempotency-Key` header)."""
    return Creation(
        request.app.state.idempotency, request.app.state.sessionmaker, request, idempotency_key
    )


# A create route: `once(body, client_id=..., create_read=..., location_route=...)` is its whole
# transaction, replayed for a repeated `Idempotency-Key` (servicekit.idempotency.Creation).
CreateOnce = Annotated[Creation, Depends(creation_of)]

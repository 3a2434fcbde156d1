"""Request-scoped dependencies of the commitments service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.auth import Principal, require_scope
from servicekit.db import read_session_from_request, session_from_request
from servicekit.idempotency import Idempotency

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]
# Safe (GET) routes: an autocommit session, closed after the response (servicekit.db).
ReadSession = Annotated[AsyncSession, Depends(read_session_from_request)]

# Every write needs a token with this scope; reads of commitments are public.
Writer = Annotated[Principal, Depends(require_scope("commitments:write"))]


# Dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hand-off on every request (it showed in the bench/ profiles).
async def _maker(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker  # type: ignore[no-any-return]


async def _idempotency(request: Request) -> Idempotency:
    return request.app.state.idempotency  # type: ignore[no-any-return]


# Routes that own their transactions (idempotent creates, streamed exports) take these instead.
Maker = Annotated[async_sessionmaker[AsyncSession], Depends(_maker)]
Idempotent = Annotated[Idempotency, Depends(_idempotency)]

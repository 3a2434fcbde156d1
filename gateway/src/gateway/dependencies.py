"""Request-scoped dependencies of the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.backends import Backends
from gateway.config import Settings
from servicekit.auth import Principal, require_scope
from servicekit.db import read_session_from_request, session_from_request

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]
# Safe (GET) routes: an autocommit session, closed after the response (servicekit.db).
ReadSession = Annotated[AsyncSession, Depends(read_session_from_request)]

# Managing clients and keys needs the admin scope.
Admin = Annotated[Principal, Depends(require_scope("admin"))]


# Dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency
# in a worker thread, a thread hand-off on every request (it showed in the bench/ profiles).
async def get_settings(request: Request) -> Settings:
    """The gateway's settings."""
    settings: Settings = request.app.state.settings
    return settings


def backends_of(request: Request) -> Backends:
    """The per-service clients built in the lifespan (for code that has the request at hand)."""
    backends: Backends = request.app.state.backends
    return backends


async def get_backends(request: Request) -> Backends:
    """The per-service clients built in the lifespan, as a dependency."""
    return backends_of(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendsDep = Annotated[Backends, Depends(get_backends)]

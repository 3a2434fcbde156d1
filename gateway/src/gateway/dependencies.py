"""Request-scoped dependencies of the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.clients import Backends
from gateway.config import Settings
from servicekit.auth import Principal, require_scope
from servicekit.db import session_from_request

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]

# Managing clients and keys needs the admin scope.
Admin = Annotated[Principal, Depends(require_scope("admin"))]


def get_settings(request: Request) -> Settings:
    """The gateway's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_backends(request: Request) -> Backends:
    """The per-service clients built in the lifespan."""
    backends: Backends = request.app.state.backends
    return backends


SettingsDep = Annotated[Settings, Depends(get_settings)]
BackendsDep = Annotated[Backends, Depends(get_backends)]

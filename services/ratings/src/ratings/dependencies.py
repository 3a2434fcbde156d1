"""Request-scoped dependencies of the ratings service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Principal, require_scope
from servicekit.db import session_from_request

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]

# Drafting evaluations and ratings needs this scope; reads are public for now (see router).
Writer = Annotated[Principal, Depends(require_scope("ratings:write"))]

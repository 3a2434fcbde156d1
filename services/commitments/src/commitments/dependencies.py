"""Request-scoped dependencies of the commitments service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Principal, require_scope
from servicekit.db import session_from_request

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]

# Every write needs a token with this scope; reads of commitments are public.
Writer = Annotated[Principal, Depends(require_scope("commitments:write"))]

"""Request-scoped dependencies of the ratings service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import OptionalPrincipal, Principal, require_scope
from servicekit.db import read_session_from_request, session_from_request

# The unit of work: exits (commits) when the endpoint returns, before the response is sent.
Session = Annotated[AsyncSession, Depends(session_from_request, scope="function")]
# Safe (GET) routes: an autocommit session, closed after the response (servicekit.db).
ReadSession = Annotated[AsyncSession, Depends(read_session_from_request)]

# Drafting evaluations and ratings, agreeing ratings, moving a draft into review.
Writer = Annotated[Principal, Depends(require_scope("ratings:write"))]
# Publishing and withdrawing evaluations.
Publisher = Annotated[Principal, Depends(require_scope("ratings:publish"))]
# Recording a response to a published evaluation.
Respondent = Annotated[Principal, Depends(require_scope("responses:write"))]
# Reads: anonymous callers see published evaluations; the panel's scopes also see drafts.
Reader = OptionalPrincipal

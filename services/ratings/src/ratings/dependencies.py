"""Request-scoped dependencies of the ratings service: who may do what (sessions: servicekit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.auth import OptionalPrincipal, Principal, require_scope

# Drafting evaluations and ratings, agreeing ratings, moving a draft into review.
Writer = Annotated[Principal, Depends(require_scope("ratings:write"))]
# Publishing and withdrawing evaluations.
Publisher = Annotated[Principal, Depends(require_scope("ratings:publish"))]
# Recording a response to a published evaluation (an admin may record one for another body).
Respondent = Annotated[Principal, Depends(require_scope("responses:write", "admin"))]
# Reads: anonymous callers see published evaluations; the panel's scopes also see drafts.
Reader = OptionalPrincipal

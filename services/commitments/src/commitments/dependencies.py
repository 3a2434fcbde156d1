"""Request-scoped dependencies of the commitments service: who may write (sessions: servicekit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.auth import Principal, require_scope

# Every write needs a token with this scope; reads of commitments are public.
Writer = Annotated[Principal, Depends(require_scope("commitments:write"))]
# A self-assessment: the responsible body's programme office, or an administrator for it.
Assessor = Annotated[Principal, Depends(require_scope("commitments:write", "admin"))]

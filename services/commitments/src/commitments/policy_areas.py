"""Policy areas: how commitments are grouped."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import Event, PolicyArea
from commitments.schemas import PolicyAreaCreate, PolicyAreaRead, PolicyAreaUpdate
from servicekit.crud import apply_values, emit, ensure_unique
from servicekit.schemas import merge_patch

_REQUIRED = frozenset({"name"})


async def create_policy_area(session: AsyncSession, body: PolicyAreaCreate) -> PolicyAreaRead:
    """Record a new policy area."""
    await ensure_unique(session, PolicyArea, "policy area", slug=body.slug)
    row = PolicyArea(**body.model_dump())
    session.add(row)
    await session.flush()
    return emit(session, Event, "policy_area.created", row, PolicyAreaRead)


async def update_policy_area(
    session: AsyncSession, row: PolicyArea, body: PolicyAreaUpdate
) -> PolicyAreaRead:
    """Apply a merge patch to a policy area."""
    if apply_values(row, merge_patch(body, required=_REQUIRED)):
        await session.flush()
        return emit(session, Event, "policy_area.updated", row, PolicyAreaRead)
    return PolicyAreaRead.model_validate(row)

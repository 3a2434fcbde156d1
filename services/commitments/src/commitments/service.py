"""Rules of the commitments service. Never commits: the request's unit of work does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import Commitment, Event, PolicyArea, Source
from commitments.schemas import (
    CommitmentCreate,
    CommitmentRead,
    CommitmentUpdate,
    PolicyAreaCreate,
    PolicyAreaRead,
    PolicyAreaUpdate,
    SourceCreate,
    SourceRead,
    SourceUpdate,
)
from servicekit.crud import apply_values, emit, ensure_exists, ensure_unique
from servicekit.schemas import merge_patch

_SOURCE_REQUIRED = frozenset({"title", "publisher", "kind"})
_AREA_REQUIRED = frozenset({"name"})
_COMMITMENT_REQUIRED = frozenset(
    {"title", "text", "kind", "policy_area_id", "source_id", "status", "lead_bodies"}
)


def _json_values(body: SourceCreate | SourceUpdate) -> dict[str, object]:
    values = body.model_dump(exclude_unset=True)
    if values.get("url") is not None:
        values["url"] = str(values["url"])
    return values


async def create_source(session: AsyncSession, body: SourceCreate) -> SourceRead:
    """Record a new source document."""
    await ensure_unique(session, Source, "source", reference=body.reference)
    values = body.model_dump()
    values["url"] = str(body.url) if body.url else None
    row = Source(**values)
    session.add(row)
    await session.flush()
    return emit(session, Event, "source.created", row, SourceRead)


async def update_source(session: AsyncSession, row: Source, body: SourceUpdate) -> SourceRead:
    """Apply a merge patch to a source."""
    merge_patch(body, required=_SOURCE_REQUIRED)
    if apply_values(row, _json_values(body)):
        await session.flush()
        return emit(session, Event, "source.updated", row, SourceRead)
    return SourceRead.model_validate(row)


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
    if apply_values(row, merge_patch(body, required=_AREA_REQUIRED)):
        await session.flush()
        return emit(session, Event, "policy_area.updated", row, PolicyAreaRead)
    return PolicyAreaRead.model_validate(row)


async def create_commitment(session: AsyncSession, body: CommitmentCreate) -> CommitmentRead:
    """Record a new commitment against an existing policy area and source."""
    await ensure_exists(
        session, PolicyArea, body.policy_area_id, "body.policy_area_id", "policy area"
    )
    await ensure_exists(session, Source, body.source_id, "body.source_id", "source")
    await ensure_unique(session, Commitment, "commitment", reference=body.reference)
    row = Commitment(**body.model_dump())
    session.add(row)
    await session.flush()
    return emit(session, Event, "commitment.created", row, CommitmentRead)


async def update_commitment(
    session: AsyncSession, row: Commitment, body: CommitmentUpdate
) -> CommitmentRead:
    """Apply a merge patch to a commitment."""
    values = merge_patch(body, required=_COMMITMENT_REQUIRED)
    await ensure_exists(
        session, PolicyArea, values.get("policy_area_id"), "body.policy_area_id", "policy area"
    )  # type: ignore[arg-type]
    await ensure_exists(session, Source, values.get("source_id"), "body.source_id", "source")  # type: ignore[arg-type]
    if apply_values(row, values):
        await session.flush()
        return emit(session, Event, "commitment.updated", row, CommitmentRead)
    return CommitmentRead.model_validate(row)

"""All SQL of the commitments service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import Commitment, PolicyArea, Source
from servicekit.pagination import PageParams, keyset_page


async def get(session: AsyncSession, model: type[Any], ident: uuid.UUID) -> Any:
    """A row by id, or None."""
    return await session.get(model, ident)


async def exists_where(session: AsyncSession, model: type[Any], **equals: Any) -> bool:
    """Whether any row has these column values."""
    stmt = select(model.id).filter_by(**equals).limit(1)
    return (await session.scalar(stmt)) is not None


async def list_sources(
    session: AsyncSession, params: PageParams, *, reference: Sequence[str], kind: Sequence[str]
) -> tuple[list[Source], str | None]:
    """A page of sources."""
    stmt = select(Source)
    if reference:
        stmt = stmt.where(Source.reference.in_(reference))
    if kind:
        stmt = stmt.where(Source.kind.in_(kind))
    return await keyset_page(session, stmt, Source.created_at, Source.id, params)


async def list_policy_areas(
    session: AsyncSession, params: PageParams, *, slug: Sequence[str], ids: Sequence[uuid.UUID]
) -> tuple[list[PolicyArea], str | None]:
    """A page of policy areas."""
    stmt = select(PolicyArea)
    if slug:
        stmt = stmt.where(PolicyArea.slug.in_(slug))
    if ids:
        stmt = stmt.where(PolicyArea.id.in_(ids))
    return await keyset_page(session, stmt, PolicyArea.created_at, PolicyArea.id, params)


async def list_commitments(
    session: AsyncSession,
    params: PageParams,
    *,
    reference: Sequence[str],
    policy_area_id: Sequence[uuid.UUID],
    source_id: Sequence[uuid.UUID],
    status: Sequence[str],
    kind: Sequence[str],
    ids: Sequence[uuid.UUID],
) -> tuple[list[Commitment], str | None]:
    """A page of commitments matching every filter given (each filter any-of)."""
    stmt = select(Commitment)
    for column, values in (
        (Commitment.reference, reference),
        (Commitment.policy_area_id, policy_area_id),
        (Commitment.source_id, source_id),
        (Commitment.status, status),
        (Commitment.kind, kind),
        (Commitment.id, ids),
    ):
        if values:
            stmt = stmt.where(column.in_(values))
    return await keyset_page(session, stmt, Commitment.created_at, Commitment.id, params)

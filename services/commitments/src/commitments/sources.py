"""Sources: the documents commitments come from."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import Event, Source
from commitments.schemas import SourceCreate, SourceRead, SourceUpdate
from servicekit.crud import apply_values, emit, ensure_unique
from servicekit.schemas import merge_patch

_REQUIRED = frozenset({"title", "publisher", "kind"})


def _values(body: SourceCreate | SourceUpdate) -> dict[str, object]:
    # The URL is stored as text, not pydantic's Url.
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
    merge_patch(body, required=_REQUIRED)
    if apply_values(row, _values(body)):
        await session.flush()
        return emit(session, Event, "source.updated", row, SourceRead)
    return SourceRead.model_validate(row)

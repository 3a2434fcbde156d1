"""Local read models of another service's data, kept from its event feed.

A consumer may see an event more than once (at least once delivery) and applies a batch in one
transaction, so writing a row must be an upsert that a later event of the same batch can see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert(session: AsyncSession, model: type[Any], ident: uuid.UUID, **values: Any) -> None:
    """Insert or overwrite one row of a read model (applying an event twice is harmless)."""
    row = await session.get(model, ident)
    if row is None:
        session.add(model(id=ident, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    # Consumer sessions do not autoflush; a later event in the same batch must see this row.
    await session.flush()


async def known_ids(
    session: AsyncSession, model: type[Any], ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `ids` the read model holds."""
    wanted = set(ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(model.id).where(model.id.in_(wanted)))).all())

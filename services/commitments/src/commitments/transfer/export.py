"""Exporting everything in the import format, streamed in a stable order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commitments import repository
from commitments.models import Commitment, LineageLink, PolicyArea, Source, Target
from commitments.transfer.format import (
    COLUMNS,
    COMMITMENT_VALUES,
    SOURCE_VALUES,
    TARGET_VALUES,
    write_line,
)


async def export_csv(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
    """Every source, policy area, commitment and target as CSV rows, in a stable order."""
    async with maker() as session:
        if repository.dialect(session) == "postgresql":
            # One snapshot for the whole file, so targets never name a commitment it lacks
            # (SQLite's transaction is one already). Closing the session ends it.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield write_line({c: c for c in COLUMNS})
        sources: dict[uuid.UUID, str] = {}
        async for s in repository.stream_ordered(session, select(Source), Source.reference):
            sources[s.id] = s.reference
            yield write_line({"record": "source", **{k: getattr(s, k) for k in SOURCE_VALUES}})
        areas: dict[uuid.UUID, str] = {}
        async for a in repository.stream_ordered(session, select(PolicyArea), PolicyArea.slug):
            areas[a.id] = a.slug
            yield write_line(
                {
                    "record": "policy_area",
                    "slug": a.slug,
                    "name": a.name,
                    "description": a.description,
                }
            )
        refs = dict((await session.execute(select(Commitment.id, Commitment.reference))).all())
        lineage: dict[uuid.UUID, list[LineageLink]] = {}
        for link in await repository.all_links(session):
            lineage.setdefault(link.predecessor_id, []).append(link)
        async for c in repository.stream_ordered(session, select(Commitment), Commitment.reference):
            links = lineage.get(c.id, [])
            yield write_line(
                {
                    "record": "commitment",
                    **{k: getattr(c, k) for k in COMMITMENT_VALUES},
                    "policy_area": areas[c.policy_area_id],
                    "source": sources[c.source_id],
                    "lineage": f"{links[0].kind}:{'; '.join(refs[x.successor_id] for x in links)}"
                    if links
                    else None,
                }
            )
        async for t in repository.stream_ordered(session, select(Target), Target.reference):
            yield write_line(
                {
                    "record": "target",
                    "reference": t.reference,
                    "commitment": refs[t.commitment_id],
                    **{f: getattr(t, f) for f in TARGET_VALUES},
                }
            )

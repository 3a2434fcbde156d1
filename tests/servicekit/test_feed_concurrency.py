"""The outbox feed never lets a polling reader skip an event, even one that commits late.

Many writers commit events with random delays between insert and commit (so insertion order and
commit order differ); two sequencers run at once, as two replicas would; a reader polls `after=`
throughout. Afterwards the reader must have seen every committed event exactly once, in strictly
increasing positions. This is the property that matters on PostgreSQL, where transactions really
overlap; on SQLite writers are serialised, so the test runs there too but proves less.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.db import create_engine, make_base, make_sessionmaker, new_metadata
from servicekit.outbox import EventMixin, record_event, run_sequencer
from tests.support.databases import ON_POSTGRES, fresh_database_url

metadata = new_metadata()
Base = make_base(metadata)


class FeedEvent(EventMixin, Base):  # type: ignore[misc,valid-type]
    __tablename__ = "events"


# SQLite serialises writers, so a smaller run shows all it can there.
WRITERS = 12 if ON_POSTGRES else 4
EVENTS_PER_WRITER = 25 if ON_POSTGRES else 10


async def _writer(
    maker: async_sessionmaker[AsyncSession], n: int, committed: set[uuid.UUID]
) -> None:
    rng = random.Random(n)
    for _ in range(EVENTS_PER_WRITER):
        rid = uuid.uuid4()
        async with maker() as session, session.begin():
            record_event(session, FeedEvent, "thing.created", "thing", rid, {"n": n})
            await session.flush()
            # Hold the transaction open: an event inserted now may commit after later ones.
            await asyncio.sleep(rng.uniform(0, 0.02))
        committed.add(rid)


async def _reader(
    maker: async_sessionmaker[AsyncSession], seen: list[tuple[int, uuid.UUID]], done: asyncio.Event
) -> None:
    after = 0
    while True:
        finished = done.is_set()
        async with maker() as session:
            rows = (
                await session.execute(
                    select(FeedEvent.position, FeedEvent.resource_id)
                    .where(FeedEvent.position > after)
                    .order_by(FeedEvent.position)
                    .limit(50)
                )
            ).all()
        for position, rid in rows:
            assert position is not None, "read a row the sequencer has not numbered"
            seen.append((position, rid))
            after = position
        if finished and not rows:
            return
        await asyncio.sleep(0.002)


async def test_polling_reader_never_skips_a_late_commit(tmp_path: Path) -> None:
    url = await asyncio.to_thread(fresh_database_url, "feedtest", tmp_path)
    engine = create_engine(url, pool_size=WRITERS + 4)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    maker = make_sessionmaker(engine)
    committed: set[uuid.UUID] = set()
    seen: list[tuple[int, uuid.UUID]] = []
    done = asyncio.Event()
    sequencers = [asyncio.create_task(run_sequencer(maker, FeedEvent, 0.001)) for _ in range(2)]
    reader = asyncio.create_task(_reader(maker, seen, done))
    inversions = 0
    try:
        await asyncio.gather(*(_writer(maker, n, committed) for n in range(WRITERS)))
        # Let the sequencers position the last commits, then let the reader drain.
        for _ in range(500):
            async with maker() as session:
                left = await session.scalar(
                    select(FeedEvent.id).where(FeedEvent.position.is_(None)).limit(1)
                )
            if left is None:
                break
            await asyncio.sleep(0.01)
        done.set()
        await asyncio.wait_for(reader, 30)
        async with maker() as session:
            order = (
                await session.scalars(
                    select(FeedEvent.position).order_by(FeedEvent.occurred_at, FeedEvent.id)
                )
            ).all()
        numbered = [p for p in order if p is not None]
        assert len(numbered) == len(order), "an event was left unnumbered"
        inversions = sum(1 for a, b in itertools.pairwise(numbered) if a > b)
    finally:
        for t in sequencers:
            t.cancel()
        await asyncio.gather(*sequencers, return_exceptions=True)
        await engine.dispose()

    positions = [p for p, _ in seen]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert [r for _, r in seen if r not in committed] == []
    assert {r for _, r in seen} == committed, "the reader skipped committed events"
    assert len(seen) == WRITERS * EVENTS_PER_WRITER
    assert positions == list(range(1, len(positions) + 1)), "positions have gaps"
    if ON_POSTGRES:
        # Proof the test exercised late commits: some event inserted earlier got a later position.
        assert inversions > 0

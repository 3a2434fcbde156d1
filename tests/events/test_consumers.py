"""Feed consumers with several replicas on one PostgreSQL database: one active at a time (advisory
lock), every event applied exactly once (the position row lock), a standby takes over."""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from servicekit.consumer import ConsumerPositionMixin, FeedConsumer, SingleActive
from servicekit.db import create_engine, make_base, make_sessionmaker, new_metadata
from servicekit.outbox import EventMixin, events_router, record_event, run_sequencer
from servicekit.problems import install_problem_handlers
from tests.events.conftest import eventually
from tests.support.databases import NO_POSTGRES_REASON, ON_POSTGRES, fresh_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason=NO_POSTGRES_REASON),
]

metadata = new_metadata()
Base = make_base(metadata)


class SourceEvent(EventMixin, Base):  # type: ignore[misc,valid-type]
    __tablename__ = "events"


class Position(ConsumerPositionMixin, Base):  # type: ignore[misc,valid-type]
    __tablename__ = "consumer_positions"


class Applied(Base):  # type: ignore[misc,valid-type]
    """One row per application of an event, deliberately without a unique constraint."""

    __tablename__ = "applied"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[str] = mapped_column(String(40))
    replica: Mapped[str] = mapped_column(String(10))


async def _database(tmp_path: Path, name: str) -> tuple[Any, async_sessionmaker[AsyncSession]]:
    url = await asyncio.to_thread(fresh_database_url, name, tmp_path)
    engine = create_engine(url, pool_size=8)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine, make_sessionmaker(engine)


@pytest.fixture
async def feed(tmp_path: Path) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], FastAPI]]:
    """A source database with a sequencer and its feed app."""
    engine, maker = await _database(tmp_path, "feedsrc")
    app = FastAPI()
    app.state.sessionmaker = maker
    install_problem_handlers(app)
    app.include_router(events_router(SourceEvent))
    task = asyncio.create_task(run_sequencer(maker, SourceEvent, 0.005))
    try:
        yield maker, app
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()


async def _write(maker: async_sessionmaker[AsyncSession], n: int) -> None:
    for _ in range(n):
        async with maker() as session, session.begin():
            record_event(session, SourceEvent, "thing.created", "thing", uuid.uuid4(), {})


def _handler(replica: str):
    async def apply(session: AsyncSession, event: dict[str, Any]) -> None:
        session.add(Applied(event_id=str(event["id"]), replica=replica))
        # Widen the window in which two replicas could both apply a batch.
        await asyncio.sleep(0.001)

    return apply


async def _counts(maker: async_sessionmaker[AsyncSession]) -> collections.Counter[str]:
    async with maker() as session:
        rows = (await session.scalars(select(Applied.event_id))).all()
    return collections.Counter(rows)


async def _head(maker: async_sessionmaker[AsyncSession]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.max(SourceEvent.position))) or 0)


async def test_one_active_replica_applies_each_event_once_and_a_standby_takes_over(
    feed, tmp_path: Path
) -> None:
    source, app = feed
    engines, consumers, tasks = [], [], []
    # Two replicas: their own engines (connection pools) on one consumer database.
    engine_a, maker_a = await _database(tmp_path, "consumer")
    engine_b = create_engine(str(engine_a.url.render_as_string(hide_password=False)))
    maker_b = make_sessionmaker(engine_b)
    engines += [engine_a, engine_b]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feed") as client:
        for name, maker in (("a", maker_a), ("b", maker_b)):
            c = FeedConsumer(
                "things",
                client,
                maker,
                Position,
                _handler(name),
                interval=0.01,
                batch=7,
                standby_interval=0.1,
                liveness_interval=0.2,
            )
            consumers.append(c)
            tasks.append(asyncio.create_task(c.run()))
        try:
            writers = [asyncio.create_task(_write(source, 30)) for _ in range(4)]
            await asyncio.gather(*writers)

            async def drained() -> bool:
                head = await _head(source)
                return head == 120 and all([await c.position() == head for c in consumers[:1]])

            await eventually(drained, within=20)
            assert sum(c.active for c in consumers) == 1, "exactly one replica polls"
            active = next(c for c in consumers if c.active)
            standby = next(c for c in consumers if not c.active)
            assert standby.applied_total == 0
            assert active.applied_total == 120
            counts = await _counts(maker_a)
            assert len(counts) == 120
            assert set(counts.values()) == {1}

            # The active replica stops (its connection, and so its lock, goes): the standby
            # takes over and carries on from the stored position.
            tasks[consumers.index(active)].cancel()
            await asyncio.gather(tasks[consumers.index(active)], return_exceptions=True)
            await _write(source, 20)

            async def taken_over() -> bool:
                return standby.active and await standby.position() == await _head(source)

            await eventually(taken_over, within=20)
            counts = await _counts(maker_a)
            assert len(counts) == 140
            assert set(counts.values()) == {1}
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for e in engines:
                await e.dispose()


async def test_without_the_lock_the_row_lock_still_applies_each_event_once(
    feed, tmp_path: Path
) -> None:
    """Correctness does not rest on the advisory lock: two replicas polling at once."""
    source, app = feed
    engine, maker = await _database(tmp_path, "consumer2")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feed") as client:
        consumers = [
            FeedConsumer("things", client, maker, Position, _handler(n), interval=0.005, batch=5)
            for n in ("a", "b", "c")
        ]
        for c in consumers:
            c.lock = SingleActive(None, "off")  # every replica active
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            await asyncio.gather(*(_write(source, 25) for _ in range(4)))

            async def drained() -> bool:
                return await consumers[0].position() == await _head(source) == 100

            await eventually(drained, within=20)
            assert sum(c.active for c in consumers) == 3
            counts = await _counts(maker)
            assert len(counts) == 100
            assert set(counts.values()) == {1}, "an event applied twice"
            assert sum(1 for c in consumers if c.applied_total) >= 1
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()


async def test_two_evidence_instances_apply_each_commitment_event_once(
    commitments_db: str, tmp_path: Path, issuer, monkeypatch
) -> None:
    """The real evidence service, twice on one database, consuming the real commitments feed."""
    from commitments.config import Settings as CommitmentsSettings
    from commitments.main import create_app as create_commitments_app
    from evidence import main as evidence_main
    from evidence.config import Settings as EvidenceSettings
    from evidence.models import KnownCommitment
    from evidence.read_model import apply_commitment_event as original
    from servicekit.auth import TokenVerifier
    from tests.evidence.conftest import create_commitment
    from tests.support.databases import migrated_database

    applied: collections.Counter[str] = collections.Counter()

    async def counting(session: AsyncSession, event: dict[str, Any]) -> None:
        applied[str(event["id"])] += 1
        await original(session, event)

    monkeypatch.setattr(evidence_main, "apply_commitment_event", counting)
    evidence_db = await asyncio.to_thread(migrated_database, "evidence", tmp_path)
    commitments = create_commitments_app(
        CommitmentsSettings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    writer = issuer.auth("commitments:write", ttl=3600)
    async with LifespanManager(commitments) as cm:
        feed = httpx.ASGITransport(app=cm.app)
        apps = [
            evidence_main.create_app(
                EvidenceSettings(
                    database_url=evidence_db,
                    log_json=False,
                    consumer_interval_s=0.02,
                    consumer_idle_interval_s=0.02,
                ),
                token_verifier=TokenVerifier(issuer.settings()),
                commitments_transport=feed,
            )
            for _ in range(2)
        ]
        async with LifespanManager(apps[0]), LifespanManager(apps[1]):
            async with httpx.AsyncClient(transport=feed, base_url="http://c") as client:
                made = [(await create_commitment(client, writer))["id"] for _ in range(5)]

            async def known() -> bool:
                async with apps[0].state.sessionmaker() as s:
                    ids = (await s.scalars(select(KnownCommitment.id))).all()
                return {uuid.UUID(m) for m in made} <= set(ids)

            await eventually(known, within=20)
            consumers = [a.state.consumers["commitments"] for a in apps]
            assert sum(c.active for c in consumers) == 1
            assert applied
            assert set(applied.values()) == {1}, "an event was applied twice"

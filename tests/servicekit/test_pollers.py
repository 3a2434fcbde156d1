"""Background work is cheap when idle and quick when there is work.

- The outbox sequencer backs off while no events arrive, yet positions an event committed
  through its own sessionmaker at once (the commit wakes it).
- An idle sequencer pass only reads (autocommit): it opens no write transaction, which on
  SQLite would take the database's one write lock.
- Background loops stop between passes: a pass under way when the app stops is finished, not
  cancelled half-way through a transaction; a loop that ignores the stop is cancelled after its
  grace period.
- Safe requests read on an autocommit session that is closed after the response: its
  connection goes back to the pool.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.background import loop_task, pause
from servicekit.db import (
    ReadSessionMiddleware,
    create_engine,
    make_base,
    make_read_sessionmaker,
    make_sessionmaker,
    new_metadata,
)
from servicekit.outbox import EventMixin, record_event, run_sequencer, wake_sequencer_on_commit
from tests.support.databases import fresh_database_url

metadata = new_metadata()
Base = make_base(metadata)


class PollEvent(EventMixin, Base):  # type: ignore[misc,valid-type]
    __tablename__ = "events"


@pytest.fixture
async def events_db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database with an events table."""
    url = await asyncio.to_thread(fresh_database_url, "pollers", tmp_path)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _positioned(maker, rid: uuid.UUID) -> bool:
    async with maker() as session:
        pos = await session.scalar(select(PollEvent.position).where(PollEvent.resource_id == rid))
    return pos is not None


async def test_idle_sequencer_is_woken_by_its_own_commit(events_db: AsyncEngine) -> None:
    maker = make_sessionmaker(events_db)
    wake = wake_sequencer_on_commit(maker)
    # An idle wait far longer than the test: only the wake can explain a quick position.
    task = asyncio.create_task(run_sequencer(maker, PollEvent, 0.01, idle_interval=30.0, wake=wake))
    try:
        # Idle waits double from 10 ms: by now the sequencer sleeps until ~5.1 s.
        await asyncio.sleep(3.0)
        rid = uuid.uuid4()
        async with maker() as session, session.begin():
            record_event(session, PollEvent, "thing.created", "thing", rid, {})
        started = time.monotonic()
        while not await _positioned(maker, rid):
            assert time.monotonic() - started < 1.0, "the commit did not wake the sequencer"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_idle_sequencer_backs_off(events_db: AsyncEngine) -> None:
    maker = make_sessionmaker(events_db)
    passes = 0
    original = maker.__call__

    class Counting:
        def __call__(self):
            nonlocal passes
            passes += 1
            return original()

    # A counting stand-in for the sessionmaker: the sequencer only ever calls it.
    counting: Any = Counting()
    task = asyncio.create_task(run_sequencer(counting, PollEvent, 0.01, idle_interval=0.4))
    try:
        await asyncio.sleep(2.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # At a fixed 10 ms interval that would be ~200 passes; doubling up to 0.4 s makes it ~10.
    assert 3 <= passes <= 20, passes


async def test_idle_sequencer_opens_no_write_transaction(events_db: AsyncEngine) -> None:
    maker = make_sessionmaker(events_db)
    writes = 0

    def begin(conn) -> None:
        nonlocal writes
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            writes += 1

    passes = 0

    def counted() -> Any:
        nonlocal passes
        passes += 1
        return maker()

    # Counting the passes (each opens one session) makes "idle" definite: ten passes found
    # nothing to do, rather than however many fit in a sleep.
    counting: Any = counted
    event.listen(events_db.sync_engine, "begin", begin)
    async with loop_task(
        "sequencer", lambda stop: run_sequencer(counting, PollEvent, 0.01, stop=stop)
    ):
        for _ in range(500):
            if passes >= 10:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the sequencer did not make ten passes")
        assert writes == 0, "an idle pass opened a write transaction"
        rid = uuid.uuid4()
        async with maker() as session, session.begin():
            record_event(session, PollEvent, "thing.created", "thing", rid, {})
        written = writes
        reader = make_read_sessionmaker(events_db)
        for _ in range(500):
            if await _positioned(reader, rid):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the event was not positioned")
        # The one pass that found the event wrote; the check before it did not.
        assert writes == written + 1


async def test_a_stopped_loop_finishes_its_pass() -> None:
    passes: list[str] = []

    async def loop(stop: asyncio.Event) -> None:
        while not stop.is_set():
            passes.append("started")
            await asyncio.sleep(0.2)  # a pass: stands for a transaction under way
            passes.append("finished")
            await pause(10, stop)

    async with loop_task("slow", loop, grace=5):
        await asyncio.sleep(0.05)
    assert passes == ["started", "finished"]


async def test_a_loop_ignoring_the_stop_is_cancelled_after_its_grace() -> None:
    cancelled = False

    async def stubborn(_stop: asyncio.Event) -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled = True
            raise

    started = time.monotonic()
    async with loop_task("stubborn", stubborn, grace=0.2):
        await asyncio.sleep(0.01)
    assert cancelled
    assert time.monotonic() - started < 5


async def test_read_sessions_are_closed_after_the_response(tmp_path: Path) -> None:
    url = await asyncio.to_thread(fresh_database_url, "pollers", tmp_path)
    engine = create_engine(url, pool_size=2)
    held = 0

    def checkout(*_: object) -> None:
        nonlocal held
        held += 1

    def checkin(*_: object) -> None:
        nonlocal held
        held -= 1

    # Pool events work on both backends (SQLite opens a connection per checkout).
    event.listen(engine.sync_engine, "checkout", checkout)
    event.listen(engine.sync_engine, "checkin", checkin)
    app = FastAPI()
    app.state.read_sessionmaker = make_read_sessionmaker(engine)
    app.add_middleware(ReadSessionMiddleware)

    from fastapi import Depends

    from servicekit.db import read_session_from_request

    @app.get("/one")
    async def one(session=Depends(read_session_from_request)) -> dict[str, int]:
        return {"one": int(await session.scalar(text("SELECT 1")))}

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # Far more requests than the pool holds: a session left open would exhaust it.
            for _ in range(20):
                r = await client.get("/one")
                assert r.json() == {"one": 1}
        assert held == 0, "a read session kept its connection"
    finally:
        await engine.dispose()

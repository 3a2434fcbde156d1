"""The daily sweep loop every service shares (servicekit.sweeps).

- It sweeps at start, with today's date, each pass in a transaction of its own, and again every
  interval until the app stops.
- A pass that loses a race to another replica (IntegrityError) or fails outright is logged and
  the loop goes on: the next pass runs; nothing stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from servicekit.ids import utcnow
from servicekit.sweeps import sweeper


class _Sessions:
    """Stands in for an async sessionmaker: counts the transactions it begins and commits."""

    def __init__(self) -> None:
        self.begun = 0
        self.committed = 0

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[object]:
        self.begun += 1
        yield object()
        self.committed += 1


async def test_a_sweep_runs_at_start_and_on_its_interval_past_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    sessions = _Sessions()
    app.state.sessionmaker = sessions
    days: list[date] = []
    done = asyncio.Event()

    async def sweep(_session: Any, today: date) -> None:
        days.append(today)
        if len(days) == 1:
            raise IntegrityError("insert", {}, Exception("duplicate notice"))
        if len(days) == 2:
            raise RuntimeError("database away")
        done.set()

    caplog.set_level(logging.INFO, logger="servicekit.sweeps")
    async with sweeper("test-sweep", sweep, 0.01)(app):
        await asyncio.wait_for(done.wait(), 5)
    assert days[0] == utcnow().date()
    assert len(days) >= 3
    # Each pass its own transaction; only the ones that did not fail committed.
    assert sessions.begun == len(days)
    assert sessions.committed == len(days) - 2
    messages = [r.getMessage() for r in caplog.records]
    assert "test-sweep raced another replica; nothing emitted twice" in messages
    assert "test-sweep failed; will retry" in messages


async def test_a_sweep_stops_with_the_app_between_passes() -> None:
    app = FastAPI()
    app.state.sessionmaker = _Sessions()
    passes = 0

    async def sweep(_session: Any, _today: date) -> None:
        nonlocal passes
        passes += 1

    async with sweeper("test-sweep", sweep, 3600)(app):
        await asyncio.sleep(0.05)
    # At start, once; the day-long pause ended with the app rather than holding it open.
    assert passes == 1

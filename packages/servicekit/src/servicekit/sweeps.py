"""A daily sweep: a lifespan hook that runs one unit of work at start and then on an interval.

Each service keeps only what it sweeps for (a function of a session and today's date); the loop,
its error handling and the race between replicas are written here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.app import LifespanHook
from servicekit.background import loop_task, pause
from servicekit.ids import utcnow

log = logging.getLogger("servicekit.sweeps")

Sweep = Callable[[AsyncSession, date], Awaitable[object]]


def sweeper(name: str, sweep: Sweep, interval_s: float) -> LifespanHook:
    """A lifespan hook running `sweep(session, today)` in its own transaction, at start and then
    every `interval_s` seconds, until shutdown.

    A sweep records each notice once under a unique key: when two replicas sweep at once the
    loser's commit fails on it (`IntegrityError`) and the winner's event stands. Any other failure
    is logged and retried at the next interval; the service keeps serving meanwhile.
    """

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async def loop(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    async with app.state.sessionmaker.begin() as session:
                        await sweep(session, utcnow().date())
                except asyncio.CancelledError:
                    raise
                except IntegrityError:
                    log.info("%s raced another replica; nothing emitted twice", name)
                except Exception:
                    log.exception("%s failed; will retry", name)
                await pause(interval_s, stop)

        async with loop_task(name, loop):
            yield

    return hook

"""The daily sweep that puts `commitment.overdue` in the feed when a commitment goes overdue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from commitments.config import Settings
from commitments.delivery import sweep_overdue
from servicekit.app import LifespanHook
from servicekit.background import loop_task, pause
from servicekit.ids import utcnow

log = logging.getLogger("commitments.sweeps")


def overdue_sweeper(settings: Settings) -> LifespanHook:
    """A lifespan hook: sweep at start and then every `overdue_sweep_interval_s`."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async def loop(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    async with app.state.sessionmaker.begin() as session:
                        await sweep_overdue(session, utcnow().date())
                except asyncio.CancelledError:
                    raise
                except IntegrityError:
                    # Another replica's sweep recorded the same notice first: its event stands.
                    log.info("overdue sweep raced another replica; nothing emitted twice")
                except Exception:
                    log.exception("overdue sweep failed; will retry")
                await pause(settings.overdue_sweep_interval_s, stop)

        async with loop_task("commitment-overdue-sweep", loop):
            yield

    return hook

"""The daily sweep that puts `response.overdue` in the feed when a response goes overdue."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from ratings.config import Settings
from ratings.responses import sweep_overdue
from servicekit.app import LifespanHook
from servicekit.sweeps import sweeper


def overdue_sweeper(settings: Settings) -> LifespanHook:
    """A lifespan hook: sweep at start and then every `overdue_sweep_interval_s`."""

    async def sweep(session: AsyncSession, today: date) -> None:
        await sweep_overdue(session, settings.response_due_months, today)

    return sweeper("response-overdue-sweep", sweep, settings.overdue_sweep_interval_s)

"""The daily sweep that puts `commitment.overdue` in the feed when a commitment goes overdue."""

from __future__ import annotations

from commitments.config import Settings
from commitments.delivery import sweep_overdue
from servicekit.app import LifespanHook
from servicekit.sweeps import sweeper


def overdue_sweeper(settings: Settings) -> LifespanHook:
    """A lifespan hook: sweep at start and then every `overdue_sweep_interval_s`."""
    return sweeper("commitment-overdue-sweep", sweep_overdue, settings.overdue_sweep_interval_s)

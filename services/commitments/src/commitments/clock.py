"""Today's date in UTC: what outcomes, readings and revision dates are judged against."""

from __future__ import annotations

from datetime import date

from servicekit.ids import utcnow


def today() -> date:
    """The current date in UTC: readings and revisions may not be dated after it."""
    return utcnow().date()

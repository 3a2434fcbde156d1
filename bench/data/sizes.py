"""How much of everything, and the seed every generated row comes from."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 20231


@dataclass(frozen=True)
class Sizes:
    """How much of everything; `FULL` is the issue's data set."""

    commitments: int
    targets_per_commitment: int
    readings_per_target: int
    submissions: int
    evaluations: int
    ratings: int
    report_small: int = 9
    report_large: int = 1_000
    # The growth phase: the commitments and ratings tables are grown to this many rows.
    grown: int = 1_000_000
    # Ratings per evaluation added by the growth phase.
    growth_scope: int = 500


FULL = Sizes(10_000, 5, 1, 200_000, 100, 50_000)
# The "1,000 rows" end of the growth ratios: 1,000 commitments, 1,000 ratings.
SMALL = Sizes(1_000, 5, 1, 2_000, 2, 1_000)
QUICK = Sizes(2_000, 5, 1, 20_000, 10, 5_000, grown=100_000)

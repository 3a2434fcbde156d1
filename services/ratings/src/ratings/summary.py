"""Where the overall is computed: ratings rolled up to areas and overall (rules: aggregation.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import AggregationRule, Outcome, Scale, aggregate
from ratings.models import Evaluation
from ratings.ratings import read_ratings
from ratings.schemas import EvaluationSummary, Overall, SummaryCommitment, SummaryPolicyArea
from ratings.scores import ScoreView


def overall_of(outcome: Outcome, rule: AggregationRule | str) -> Overall:
    """An Overall for a roll-up (nothing to override)."""
    return Overall(
        level=outcome.level,
        score=outcome.score,
        rule=AggregationRule(rule),
        explanation=outcome.explanation,
        computed_level=outcome.level,
        overridden=False,
        override_reason=None,
    )


async def summary(
    session: AsyncSession, evaluation: Evaluation, view: ScoreView | None = None
) -> EvaluationSummary:
    """Every commitment's rating and the roll-up by the evaluation's rule to areas and overall.

    The same rule that gives each commitment its overall rolls those overalls up; a roll-up is
    null while any commitment under it has no overall yet, or has its rating withheld from the
    caller (a plain member who has not scored it: `scores.py`).
    """
    scale = Scale.of(evaluation.scale)
    rule = AggregationRule(evaluation.aggregation_rule)
    scope = await repository.scope_with_policy_areas(session, evaluation.id)
    rows = await repository.ratings_of(session, evaluation.id)
    withheld = {c for c, _ in scope if view is not None and view.withheld(c)}
    rows = [r for r in rows if r.commitment_id not in withheld]
    reads = {r.commitment_id: r for r in await read_ratings(session, evaluation, rows, view)}
    areas: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cid, area in scope:
        areas.setdefault(area, []).append(cid)

    def roll_up(cids: list[uuid.UUID]) -> Overall | None:
        overalls = [reads[c].overall if c in reads else None for c in cids]
        if not cids or any(o is None for o in overalls):
            return None
        levels = [o.level for o in overalls if o is not None]
        return overall_of(aggregate(rule, levels, scale), rule)

    return EvaluationSummary(
        evaluation_id=evaluation.id,
        rule=rule,
        commitments=[
            SummaryCommitment(
                commitment_id=cid,
                policy_area_id=area,
                rating=reads.get(cid),
                withheld_until_scored=cid in withheld,
            )
            for cid, area in scope
        ],
        policy_areas=[
            SummaryPolicyArea(policy_area_id=area, commitment_ids=cids, overall=roll_up(cids))
            for area, cids in areas.items()
        ],
        overall=roll_up([cid for cid, _ in scope]),
    )

"""Agreement between panel members: Krippendorff's alpha (ordinal) and the share of exact
agreement, per evaluation and per dimension, from the individual scores.

Units are (commitment, dimension) pairs; raters are members; values are the scale's scores (their
order is all the ordinal metric uses). Alpha comes from the `krippendorff` package, which also
handles members who did not score a unit (recused, or not yet scored) as missing values.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from itertools import combinations

import krippendorff
import numpy as np

from ratings.aggregation import Scale
from ratings.models import Evaluation, Score
from ratings.schemas import AgreementFigures, EvaluationAgreement

HOW_TO_READ = (
    "Krippendorff's alpha measures how far the panel's members agreed in their individual scores "
    "before agreeing a rating: 1 means they all gave the same levels, 0 means no more agreement "
    "than chance, and values below about 0.667 are usually read as too little agreement to rely "
    "on the individual scores alone."
)
NOT_RECORDED = (
    "Individual scores were not recorded for this evaluation: its panel published only its "
    "agreed ratings, so agreement between members cannot be measured."
)

Unit = tuple[uuid.UUID, str]


def _matrix(
    scores: Sequence[Score], scale: Scale, dims: Sequence[str]
) -> tuple[list[uuid.UUID], list[Unit], list[list[float]]]:
    """The reliability matrix: one row per rater, one column per unit, NaN where missing."""
    raters = sorted({s.member_id for s in scores}, key=str)
    units = sorted({(s.commitment_id, d) for s in scores for d in s.levels if d in dims}, key=str)
    col = {u: i for i, u in enumerate(units)}
    row = {m: i for i, m in enumerate(raters)}
    matrix = [[math.nan] * len(units) for _ in raters]
    for s in scores:
        for dim, level in s.levels.items():
            if dim in dims:
                matrix[row[s.member_id]][col[(s.commitment_id, dim)]] = float(scale.score(level))
    return raters, units, matrix


def alpha_of(matrix: Sequence[Sequence[float]]) -> float | None:
    """Ordinal alpha of a reliability matrix (raters by units, NaN missing); None if undefined."""
    values = {v for r in matrix for v in r if not math.isnan(v)}
    paired = sum(1 for col in zip(*matrix, strict=True) if sum(not math.isnan(v) for v in col) >= 2)
    if not paired or len(values) < 2:
        return None
    data = np.array(matrix, dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))


def figures(matrix: Sequence[Sequence[float]]) -> AgreementFigures:
    """Alpha, exact agreement, and how many raters, units and scores they rest on."""
    agree = pairs = units = 0
    for col in zip(*matrix, strict=False):
        given = [v for v in col if not math.isnan(v)]
        if len(given) >= 2:
            units += 1
            for a, b in combinations(given, 2):
                pairs += 1
                agree += a == b
    return AgreementFigures(
        alpha=alpha_of(matrix),
        exact_agreement=agree / pairs if pairs else None,
        raters=sum(1 for r in matrix if any(not math.isnan(v) for v in r)),
        units=units,
        scores=sum(1 for r in matrix for v in r if not math.isnan(v)),
    )


def agreement(evaluation: Evaluation, scores: Sequence[Score]) -> EvaluationAgreement:
    """The evaluation's agreement figures, overall and per dimension."""
    scale = Scale.of(evaluation.scale)
    dims = [d["code"] for d in evaluation.dimensions]
    _raters, units, matrix = _matrix(scores, scale, dims)
    per_dim: dict[str, AgreementFigures] = {}
    for dim in dims:
        cols = [i for i, u in enumerate(units) if u[1] == dim]
        per_dim[dim] = figures([[r[i] for i in cols] for r in matrix])
    return EvaluationAgreement(
        evaluation_id=evaluation.id,
        recorded=bool(scores),
        overall=figures(matrix),
        dimensions=per_dim,
        how_to_read=HOW_TO_READ if scores else NOT_RECORDED,
    )

"""A commitment's rating history across evaluations, each with how it moved since the last."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import Scale
from ratings.models import Evaluation, Rating
from ratings.ratings import read_ratings
from ratings.read_models import known_commitment_ids
from ratings.schemas import (
    ChangeDirection,
    EvaluationBrief,
    EvaluationStatus,
    LevelChange,
    RatingChange,
    RatingHistoryItem,
)
from ratings.scores import score_view
from ratings.visibility import history_statuses, is_public
from servicekit.auth import Principal
from servicekit.pagination import PageParams
from servicekit.problems import not_found


def _change(before: str, after: str, scale: Scale) -> LevelChange:
    delta = scale.score(after) - scale.score(before)
    direction = (
        ChangeDirection.up
        if delta > 0
        else ChangeDirection.down
        if delta < 0
        else ChangeDirection.same
    )
    return LevelChange(direction=direction, delta=delta, previous_level=before, level=after)


def rating_change(
    before: Rating, before_eval: Evaluation, after: Rating, after_eval: Evaluation
) -> RatingChange | None:
    """How a rating moved since an earlier one; None when their scales differ."""
    if before_eval.scale != after_eval.scale:
        return None
    scale = Scale.of(after_eval.scale)
    overall = (
        _change(before.overall_level, after.overall_level, scale)
        if before.overall_level and after.overall_level
        else None
    )
    return RatingChange(
        since_evaluation_id=before.evaluation_id,
        since_rating_id=before.id,
        overall=overall,
        dimensions={
            dim: _change(before.levels[dim], level, scale)
            for dim, level in after.levels.items()
            if dim in before.levels
        },
    )


async def history(
    session: AsyncSession,
    commitment_id: uuid.UUID,
    principal: Principal | None,
    params: PageParams,
) -> tuple[list[RatingHistoryItem], str | None]:
    """A commitment's ratings across evaluations, oldest first, each with its change."""
    if not await known_commitment_ids(session, [commitment_id]):
        raise not_found("commitment", commitment_id)
    statuses = history_statuses(principal)
    viewer = principal.client_id if principal else None
    rows, token = await repository.commitment_ratings(
        session, commitment_id, statuses, params, viewer
    )
    before = (
        await repository.rating_before(session, commitment_id, statuses, rows[0], viewer)
        if rows
        else None
    )
    chain: list[Rating] = ([before] if before else []) + rows
    evaluations = await repository.evaluations_by_id(session, {r.evaluation_id for r in chain})
    # A draft a plain member has not scored is left out, and no change is measured against it.
    hidden = await _withheld(session, chain, evaluations, commitment_id, principal)
    rows = [r for r in rows if r.id not in hidden]
    chain = [r for r in chain if r.id not in hidden]
    reads = {}
    for ev_id in {r.evaluation_id for r in rows}:
        ev = evaluations[ev_id]
        for read in await read_ratings(session, ev, [r for r in rows if r.evaluation_id == ev_id]):
            reads[read.id] = read
    items: list[RatingHistoryItem] = []
    for prev, row in _pairs(chain, len(chain) - len(rows)):
        ev = evaluations[row.evaluation_id]
        items.append(
            RatingHistoryItem(
                evaluation=EvaluationBrief(
                    id=ev.id,
                    title=ev.title,
                    status=EvaluationStatus(ev.status),
                    published_on=ev.published_on,
                ),
                rating=reads[row.id],
                change=(
                    rating_change(prev, evaluations[prev.evaluation_id], row, ev) if prev else None
                ),
            )
        )
    return items, token


async def _withheld(
    session: AsyncSession,
    chain: list[Rating],
    evaluations: dict[uuid.UUID, Evaluation],
    commitment_id: uuid.UUID,
    principal: Principal | None,
) -> set[uuid.UUID]:
    """The ratings in the chain withheld from the caller (`scores.py`: no anchoring)."""
    hidden: set[uuid.UUID] = set()
    for row in chain:
        ev = evaluations[row.evaluation_id]
        if principal is None or is_public(ev):
            continue
        view = await score_view(session, ev, principal, [commitment_id])
        if view.withheld(commitment_id):
            hidden.add(row.id)
    return hidden


def _pairs(chain: list[Rating], skip: int) -> Iterable[tuple[Rating | None, Rating]]:
    for i, row in enumerate(chain):
        if i >= skip:
            yield (chain[i - 1] if i else None), row

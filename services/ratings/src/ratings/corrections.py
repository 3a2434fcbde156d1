"""Corrections: a published evaluation changes only by publishing its next version with a notice
(what changed and why); every earlier version stays readable as it was (`?version=`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.evaluations import emit_evaluation, read_evaluation
from ratings.models import Evaluation, EvaluationVersion
from ratings.ratings import correct_rating, emit_rating, previous_ratings
from ratings.schemas import (
    CorrectionCreate,
    EvaluationRead,
    EvaluationStatus,
    EvaluationSummary,
    RatingRead,
)
from ratings.scores import score_view
from ratings.summary import summary
from servicekit.auth import Principal
from servicekit.ids import utcnow
from servicekit.problems import ProblemError, invalid, not_found


async def _snapshot(session: AsyncSession, evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation and every rating as readers see it now (a published one: all is public)."""
    view = await score_view(session, evaluation, None)
    return {
        "evaluation": (await read_evaluation(session, evaluation)).model_dump(mode="json"),
        "summary": (await summary(session, evaluation, view)).model_dump(mode="json"),
    }


async def correct(
    session: AsyncSession, evaluation: Evaluation, body: CorrectionCreate, principal: Principal
) -> EvaluationRead:
    """Publish the next version: keep the current one whole, change the ratings, record why."""
    if evaluation.status != EvaluationStatus.published or evaluation.published_version is None:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; only a published evaluation is "
            "corrected (a draft or one in review is simply changed).",
            type_="/problems/invalid-transition",
        )
    scope = await repository.scope(session, evaluation.id)
    seen: set[uuid.UUID] = set()
    for i, fix in enumerate(body.ratings):
        if fix.commitment_id not in scope or fix.commitment_id in seen:
            raise invalid(
                f"body.ratings.{i}.commitment_id",
                f"commitment {fix.commitment_id} is not in scope, or listed twice",
                "not_in_scope",
            )
        seen.add(fix.commitment_id)
    before = await _snapshot(session, evaluation)
    ratings = {r.commitment_id: r for r in await repository.ratings_of(session, evaluation.id)}
    changed = [
        fix.commitment_id
        for i, fix in enumerate(body.ratings)
        if await correct_rating(
            session,
            evaluation,
            ratings[fix.commitment_id],
            dict(fix.levels),
            dict(fix.rationales),
            f"body.ratings.{i}",
        )
    ]
    if not changed:
        raise invalid("body.ratings", "the correction changes no rating", "no_change")
    now = utcnow()
    evaluation.published_version += 1
    session.add(
        EvaluationVersion(
            evaluation_id=evaluation.id,
            version=evaluation.published_version,
            snapshot=before,
            what_changed=body.what_changed,
            why=body.why,
            published_at=now,
            published_by_client_id=principal.client_id,
        )
    )
    await session.flush()
    previous = await previous_ratings(session, evaluation, changed)
    for cid in changed:
        emit_rating(session, "rating.corrected", ratings[cid], evaluation, previous.get(cid))
    return await emit_evaluation(session, "evaluation.corrected", evaluation, scope)


async def at_version(
    session: AsyncSession, evaluation: Evaluation, version: int
) -> dict[str, Any] | None:
    """An earlier published version as it was read; None for the current one; 404 otherwise."""
    current = evaluation.published_version
    if current is not None and version == current:
        return None
    if current is None or not 1 <= version < current:
        raise not_found("evaluation version", f"{evaluation.id}@{version}")
    row = await repository.version_of(session, evaluation.id, version + 1)
    if row is None:
        raise not_found("evaluation version", f"{evaluation.id}@{version}")
    return row.snapshot


def evaluation_at(snapshot: dict[str, Any]) -> EvaluationRead:
    """The evaluation of a snapshot."""
    return EvaluationRead.model_validate(snapshot["evaluation"])


def summary_at(snapshot: dict[str, Any]) -> EvaluationSummary:
    """The summary of a snapshot."""
    return EvaluationSummary.model_validate(snapshot["summary"])


def ratings_at(snapshot: dict[str, Any]) -> list[RatingRead]:
    """The ratings of a snapshot, in the evaluation's order."""
    return [c.rating for c in summary_at(snapshot).commitments if c.rating is not None]

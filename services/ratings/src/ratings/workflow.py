"""An evaluation's transitions: submit for review, return to draft, publish, withdraw."""

from __future__ import annotations

import uuid
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import factual_accuracy, lifecycle, repository
from ratings.aggregation import Scale
from ratings.evaluations import emit_evaluation
from ratings.models import Evaluation, Rating
from ratings.ratings import CITABLE, emit_rating, previous_ratings
from ratings.schemas import (
    EvaluationPublish,
    EvaluationRead,
    EvaluationWithdraw,
    RatingStatus,
)
from ratings.scores import score_view
from servicekit.auth import Principal
from servicekit.ids import utcnow
from servicekit.problems import FieldError, ProblemError


async def submit_for_review(session: AsyncSession, row: Evaluation) -> EvaluationRead:
    """draft → in_review."""
    lifecycle.move(row, lifecycle.SUBMIT_FOR_REVIEW)
    await session.flush()
    scope = await repository.scope(session, row.id)
    return await emit_evaluation(session, "evaluation.submitted_for_review", row, scope)


async def return_to_draft(session: AsyncSession, row: Evaluation) -> EvaluationRead:
    """in_review → draft."""
    lifecycle.move(row, lifecycle.RETURN_TO_DRAFT)
    await session.flush()
    scope = await repository.scope(session, row.id)
    return await emit_evaluation(session, "evaluation.returned_to_draft", row, scope)


def _unready(scope: list[uuid.UUID], ratings: dict[uuid.UUID, Rating]) -> list[FieldError]:
    """What stops publication in the ratings themselves: unrated or not agreed commitments."""
    errors: list[FieldError] = []
    for cid in scope:
        rating = ratings.get(cid)
        if rating is None:
            errors.append(
                FieldError(
                    pointer=f"ratings.{cid}",
                    detail=f"commitment {cid} has no rating",
                    code="unrated",
                )
            )
        elif rating.status != RatingStatus.agreed:
            errors.append(
                FieldError(
                    pointer=f"ratings.{cid}",
                    detail=f"the rating of commitment {cid} is {rating.status}, not agreed",
                    code="not_agreed",
                )
            )
    return errors


async def _uncitable(
    session: AsyncSession, scope: list[uuid.UUID], ratings: dict[uuid.UUID, Rating]
) -> list[FieldError]:
    """Citations no longer citable: evidence may have been withdrawn or withheld since."""
    cited = {uuid.UUID(s) for r in ratings.values() for s in r.cited_submission_ids}
    known = await repository.known_submissions(session, cited)
    errors: list[FieldError] = []
    for cid in scope:
        rating = ratings.get(cid)
        for i, sid in enumerate(rating.cited_submission_ids if rating else []):
            sub = known.get(uuid.UUID(sid))
            if sub is None or sub.status not in CITABLE:
                errors.append(
                    FieldError(
                        pointer=f"ratings.{cid}.cited_submission_ids.{i}",
                        detail=f"submission {sid} is "
                        f"{sub.status if sub else 'unknown'} and may no longer be cited",
                        code="not_citable",
                    )
                )
    return errors


async def publish(
    session: AsyncSession, row: Evaluation, body: EvaluationPublish, principal: Principal
) -> EvaluationRead:
    """in_review → published: every commitment rated and agreed; freezes the ratings."""
    lifecycle.check(row, lifecycle.PUBLISH)
    scope = await repository.scope(session, row.id)
    ratings = {r.commitment_id: r for r in await repository.ratings_of(session, row.id)}
    checks = await factual_accuracy.blockers(session, row, body.waive_factual_accuracy_window)
    if checks:
        raise ProblemError(
            409,
            "Not ready to publish",
            "The factual-accuracy check is not finished: every comment must be decided, and the "
            "window closed or waived with a reason.",
            type_="/problems/factual-accuracy-pending",
            errors=checks,
        )
    errors = _unready(scope, ratings) + await _uncitable(session, scope, ratings)
    if errors:
        unrated = sum(e.code == "unrated" for e in errors)
        unagreed = sum(e.code == "not_agreed" for e in errors)
        raise ProblemError(
            409,
            "Not ready to publish",
            f"Every commitment in scope must be rated and agreed before publication "
            f"({unrated} unrated, {unagreed} not agreed, "
            f"{len(errors) - unrated - unagreed} citations no longer citable).",
            type_="/problems/not-ready-to-publish",
            errors=errors,
        )
    now = utcnow()
    lifecycle.move(row, lifecycle.PUBLISH)
    row.published_at = now
    row.published_by_client_id = principal.client_id
    row.published_by_organisation = principal.organisation
    row.published_version = 1
    if body.waive_factual_accuracy_window is not None and factual_accuracy.window_open(row):
        row.fa_waiver_reason = body.waive_factual_accuracy_window
    if body.published_on is not None:
        row.published_on = body.published_on
    elif row.published_on is None:
        row.published_on = now.astimezone(UTC).date()
    for rating in ratings.values():
        rating.status = RatingStatus.published.value
    await session.flush()
    previous = await previous_ratings(session, row, list(ratings))
    # Published now: every individual score and its spread is public from here on.
    view = await score_view(session, row, principal)
    scale = Scale.of(row.scale)
    for cid in scope:
        spread = view.spread(cid, scale)
        emit_rating(session, "rating.published", ratings[cid], row, previous.get(cid), spread)
    return await emit_evaluation(session, "evaluation.published", row, scope)


async def withdraw(
    session: AsyncSession, row: Evaluation, body: EvaluationWithdraw, principal: Principal
) -> EvaluationRead:
    """Any state but withdrawn → withdrawn, with a reason; a published one stays readable."""
    lifecycle.move(row, lifecycle.WITHDRAW)
    row.withdrawn_at = utcnow()
    row.withdrawn_by_client_id = principal.client_id
    row.withdrawal_reason = body.reason
    await session.flush()
    scope = await repository.scope(session, row.id)
    return await emit_evaluation(session, "evaluation.withdrawn", row, scope)

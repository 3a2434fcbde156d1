"""Rules of the ratings service. Never commits: the request's unit of work does."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import AggregationRule, Outcome, Scale, aggregate, rule_fits_scale
from ratings.models import Evaluation, Event, Rating
from ratings.schemas import (
    EvaluationCreate,
    EvaluationRead,
    EvaluationStatus,
    EvaluationSummary,
    Overall,
    Override,
    RatingPut,
    RatingRead,
    RatingStatus,
    SummaryCommitment,
    SummaryPolicyArea,
)
from servicekit.crud import apply_values
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError

COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})


def _invalid(errors: list[FieldError]) -> ProblemError:
    detail = errors[0].detail if len(errors) == 1 else f"{len(errors)} fields failed validation."
    return ProblemError(
        422, "Your request is not valid", detail, type_="/problems/validation-error", errors=errors
    )


# --- the commitments read model ----------------------------------------------------------------


async def apply_commitment_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the commitments feed to the read model; other event types are ignored."""
    if event["type"] not in COMMITMENT_EVENTS:
        return
    p = event["payload"]
    await repository.upsert_known_commitment(
        session,
        id=uuid.UUID(p["id"]),
        reference=p["reference"],
        title=p["title"],
        policy_area_id=uuid.UUID(p["policy_area_id"]),
        status=p["status"],
    )


# --- evaluations -------------------------------------------------------------------------------


def _is_public(evaluation: Evaluation) -> bool:
    # Until the evaluation is published its drafts stay off the public feed (internal readers,
    # such as the gateway, still see them).
    return evaluation.status == EvaluationStatus.published


def evaluation_read(row: Evaluation, commitment_ids: list[uuid.UUID]) -> EvaluationRead:
    """The public representation of an evaluation and its scope."""
    values = {c.key: getattr(row, c.key) for c in Evaluation.__table__.columns}
    return EvaluationRead.model_validate({**values, "commitment_ids": commitment_ids})


def _check_evaluation(body: EvaluationCreate) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, lv in enumerate(body.scale):
        if lv.code in seen:
            errors.append(
                FieldError(
                    pointer=f"body.scale.{i}.code",
                    detail=f"level code {lv.code!r} appears twice on the scale",
                    code="duplicate",
                )
            )
        seen.add(lv.code)
        if i and lv.score >= body.scale[i - 1].score:
            errors.append(
                FieldError(
                    pointer=f"body.scale.{i}.score",
                    detail=(
                        "scores must strictly decrease from the best level (first) to the worst "
                        f"(last): {lv.score} is not below {body.scale[i - 1].score}"
                    ),
                    code="not_ordered",
                )
            )
    dims: set[str] = set()
    for i, dim in enumerate(body.dimensions):
        if dim.code in dims:
            errors.append(
                FieldError(
                    pointer=f"body.dimensions.{i}.code",
                    detail=f"dimension code {dim.code!r} appears twice",
                    code="duplicate",
                )
            )
        dims.add(dim.code)
    if not errors:
        why = rule_fits_scale(body.aggregation_rule, _scale_of(body))
        if why:
            errors.append(
                FieldError(pointer="body.aggregation_rule", detail=why, code="rule_needs_scale")
            )
    first: dict[uuid.UUID, int] = {}
    for i, cid in enumerate(body.commitment_ids):
        if cid in first:
            errors.append(
                FieldError(
                    pointer=f"body.commitment_ids.{i}",
                    detail=f"commitment {cid} is already listed at index {first[cid]}",
                    code="duplicate",
                )
            )
        first.setdefault(cid, i)
    return errors


def _scale_of(body: EvaluationCreate) -> Scale:
    return Scale.of(lv.model_dump() for lv in body.scale)


async def create_evaluation(session: AsyncSession, body: EvaluationCreate) -> EvaluationRead:
    """Record a new draft evaluation of commitments this service knows."""
    errors = _check_evaluation(body)
    known = await repository.known_commitment_ids(session, body.commitment_ids)
    errors += [
        FieldError(
            pointer=f"body.commitment_ids.{i}",
            detail=(
                f"No commitment with id {cid} is known here (the ratings service learns "
                "commitments from the commitments service's feed; a new one arrives within "
                "seconds)."
            ),
            code="unknown_reference",
        )
        for i, cid in enumerate(body.commitment_ids)
        if cid not in known
    ]
    if errors:
        raise _invalid(errors)
    values = body.model_dump(mode="json", exclude={"commitment_ids", "published_on"})
    row = Evaluation(**values, published_on=body.published_on, status=EvaluationStatus.draft.value)
    session.add(row)
    await session.flush()
    await repository.add_scope(session, row.id, body.commitment_ids)
    read = evaluation_read(row, list(body.commitment_ids))
    record_event(
        session,
        Event,
        "evaluation.created",
        "evaluation",
        row.id,
        read.model_dump(mode="json"),
        public=_is_public(row),
    )
    return read


# --- ratings -----------------------------------------------------------------------------------


async def ensure_in_scope(
    session: AsyncSession, evaluation: Evaluation, commitment_id: uuid.UUID
) -> None:
    """404 when the commitment is not one the evaluation rates."""
    if not await repository.in_scope(session, evaluation.id, commitment_id):
        raise ProblemError(
            404,
            "Not found",
            f"Commitment {commitment_id} is not in the scope of evaluation {evaluation.id}; "
            "only the commitments listed in its commitment_ids can be rated.",
            type_="/problems/not-found",
        )


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


def rating_read(row: Rating) -> RatingRead:
    """The public representation of a rating, with its overall and how it was reached."""
    overridden = row.override_level is not None
    explanation = row.explanation
    if overridden:
        explanation += f"; overridden by the panel to {row.override_level}"
    return RatingRead(
        id=row.id,
        evaluation_id=row.evaluation_id,
        commitment_id=row.commitment_id,
        levels=row.levels,
        rationales=row.rationales,
        cited_submission_ids=[uuid.UUID(s) for s in row.cited_submission_ids],
        override=(
            Override(level=row.override_level, reason=row.override_reason or "")
            if row.override_level is not None
            else None
        ),
        overall=Overall(
            level=row.overall_level,
            score=row.overall_score,
            rule=AggregationRule(row.rule),
            explanation=explanation,
            computed_level=row.computed_level,
            overridden=overridden,
            override_reason=row.override_reason,
        ),
        status=RatingStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_rating(evaluation: Evaluation, scale: Scale, body: RatingPut) -> list[FieldError]:
    dims = [d["code"] for d in evaluation.dimensions]
    on_scale = ", ".join(scale.codes)
    errors = [
        FieldError(
            pointer=f"body.levels.{dim}",
            detail=f"missing: every dimension of the evaluation needs a level ({dim!r} has none)",
            code="missing",
        )
        for dim in dims
        if dim not in body.levels
    ]
    for dim, level in body.levels.items():
        if dim not in dims:
            errors.append(
                FieldError(
                    pointer=f"body.levels.{dim}",
                    detail=(
                        f"{dim!r} is not a dimension of this evaluation "
                        f"(its dimensions: {', '.join(dims)})"
                    ),
                    code="unknown_dimension",
                )
            )
        elif level not in scale.codes:
            errors.append(
                FieldError(
                    pointer=f"body.levels.{dim}",
                    detail=f"{level!r} is not on this evaluation's scale ({on_scale})",
                    code="unknown_level",
                )
            )
    errors += [
        FieldError(
            pointer=f"body.rationales.{dim}",
            detail=f"{dim!r} is not a dimension of this evaluation ({', '.join(dims)})",
            code="unknown_dimension",
        )
        for dim in body.rationales
        if dim not in dims
    ]
    if body.override and body.override.level not in scale.codes:
        errors.append(
            FieldError(
                pointer="body.override.level",
                detail=f"{body.override.level!r} is not on this evaluation's scale ({on_scale})",
                code="unknown_level",
            )
        )
    seen: set[uuid.UUID] = set()
    for i, sid in enumerate(body.cited_submission_ids):
        if sid in seen:
            errors.append(
                FieldError(
                    pointer=f"body.cited_submission_ids.{i}",
                    detail=f"submission {sid} is cited twice",
                    code="duplicate",
                )
            )
        seen.add(sid)
    return errors


async def put_rating(
    session: AsyncSession,
    evaluation: Evaluation,
    commitment_id: uuid.UUID,
    body: RatingPut,
    existing: Rating | None,
) -> RatingRead:
    """Create or replace a commitment's rating, computing its overall by the evaluation's rule."""
    scale = Scale.of(evaluation.scale)
    errors = _check_rating(evaluation, scale, body)
    if errors:
        raise _invalid(errors)
    dims = [d["code"] for d in evaluation.dimensions]
    outcome = aggregate(evaluation.aggregation_rule, [body.levels[d] for d in dims], scale)
    effective = body.override.level if body.override else outcome.level
    values: dict[str, Any] = {
        # Kept in the evaluation's dimension order so every reader sees the same order.
        "levels": {d: body.levels[d] for d in dims},
        "rationales": {d: body.rationales[d] for d in dims if d in body.rationales},
        "cited_submission_ids": [str(s) for s in body.cited_submission_ids],
        "rule": evaluation.aggregation_rule,
        "computed_level": outcome.level,
        "computed_score": outcome.score,
        "explanation": outcome.explanation,
        "override_level": body.override.level if body.override else None,
        "override_reason": body.override.reason if body.override else None,
        "overall_level": effective,
        "overall_score": scale.score(effective),
    }
    public = _is_public(evaluation)
    if existing is None:
        row = Rating(
            evaluation_id=evaluation.id,
            commitment_id=commitment_id,
            status=RatingStatus.draft.value,
            **values,
        )
        session.add(row)
        await session.flush()
        return _emit(session, "rating.created", row, public=public)
    if apply_values(existing, values):
        await session.flush()
        return _emit(session, "rating.updated", existing, public=public)
    return rating_read(existing)


def _emit(session: AsyncSession, type_: str, row: Rating, *, public: bool) -> RatingRead:
    read = rating_read(row)
    record_event(
        session, Event, type_, "rating", row.id, read.model_dump(mode="json"), public=public
    )
    return read


# --- summary -----------------------------------------------------------------------------------


async def summary(session: AsyncSession, evaluation: Evaluation) -> EvaluationSummary:
    """Every commitment's rating and the roll-up by the evaluation's rule to areas and overall."""
    scale = Scale.of(evaluation.scale)
    rule = AggregationRule(evaluation.aggregation_rule)
    scope = await repository.scope_with_policy_areas(session, evaluation.id)
    ratings = {r.commitment_id: r for r in await repository.ratings_of(session, evaluation.id)}
    areas: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cid, area in scope:
        areas.setdefault(area, []).append(cid)

    def roll_up(cids: list[uuid.UUID]) -> Overall | None:
        if not cids or any(c not in ratings for c in cids):
            return None
        levels = [ratings[c].overall_level for c in cids]
        return overall_of(aggregate(rule, levels, scale), rule)

    return EvaluationSummary(
        evaluation_id=evaluation.id,
        rule=rule,
        commitments=[
            SummaryCommitment(
                commitment_id=cid,
                policy_area_id=area,
                rating=rating_read(ratings[cid]) if cid in ratings else None,
            )
            for cid, area in scope
        ],
        policy_areas=[
            SummaryPolicyArea(policy_area_id=area, commitment_ids=cids, overall=roll_up(cids))
            for area, cids in areas.items()
        ],
        overall=roll_up([cid for cid, _ in scope]),
    )

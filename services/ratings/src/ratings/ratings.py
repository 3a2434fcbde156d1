"""Ratings: writing one (content checks, citations, its computed overall) and reading them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import AggregationRule, Scale, aggregate
from ratings.lifecycle import ensure_editable, rating_status_after
from ratings.models import Evaluation, Event, KnownSubmission, Rating
from ratings.schemas import (
    EditableRatingStatus,
    Overall,
    Override,
    PreviousRating,
    RatingPut,
    RatingRead,
    RatingSpread,
    RatingStatus,
    RatingUpdate,
)
from ratings.scores import ScoreView
from ratings.visibility import is_public
from servicekit.auth import Principal
from servicekit.crud import apply_values
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, validation_problem

# Only evidence the panel has let in may be relied on in a published rating.
CITABLE = frozenset({"accepted", "published"})


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


async def existing_rating(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_id: uuid.UUID
) -> Rating:
    """The rating of a commitment in scope; 404 while it has not been rated."""
    row = await repository.get_rating(session, evaluation_id, commitment_id)
    if row is None:
        raise ProblemError(
            404,
            "Not found",
            f"Commitment {commitment_id} has not been rated in evaluation {evaluation_id} yet.",
            type_="/problems/not-found",
        )
    return row


# --- reading -----------------------------------------------------------------------------------


def _rating_overall(row: Rating) -> Overall | None:
    if row.overall_level is None or row.computed_level is None:
        return None
    overridden = row.override_level is not None
    explanation = row.explanation or ""
    if overridden:
        explanation += f"; overridden by the panel to {row.override_level}"
    return Overall(
        level=row.overall_level,
        score=row.overall_score if row.overall_score is not None else 0,
        rule=AggregationRule(row.rule),
        explanation=explanation,
        computed_level=row.computed_level,
        overridden=overridden,
        override_reason=row.override_reason,
    )


def _override_of(row: Rating) -> Override | None:
    if row.override_level is None:
        return None
    return Override(level=row.override_level, reason=row.override_reason or "")


def rating_read(
    row: Rating, previous: Rating | None = None, spread: RatingSpread | None = None
) -> RatingRead:
    """The public representation of a rating, with its overall and how it was reached."""
    return RatingRead(
        id=row.id,
        evaluation_id=row.evaluation_id,
        commitment_id=row.commitment_id,
        levels=row.levels,
        rationales=row.rationales,
        cited_submission_ids=[uuid.UUID(s) for s in row.cited_submission_ids],
        override=_override_of(row),
        overall=_rating_overall(row),
        status=RatingStatus(row.status),
        agreed_at=row.agreed_at,
        spread=spread,
        previous=(
            PreviousRating(
                evaluation_id=previous.evaluation_id,
                rating_id=previous.id,
                levels=previous.levels,
                overall=_rating_overall(previous),
            )
            if previous is not None
            else None
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def previous_ratings(
    session: AsyncSession, evaluation: Evaluation, commitment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Rating]:
    """The earlier evaluation's ratings of these commitments, for a re-evaluation (one query)."""
    if evaluation.previous_evaluation_id is None or not commitment_ids:
        return {}
    rows = await repository.ratings_for(
        session, evaluation.previous_evaluation_id, list(commitment_ids)
    )
    return {r.commitment_id: r for r in rows}


async def read_ratings(
    session: AsyncSession,
    evaluation: Evaluation,
    rows: Sequence[Rating],
    view: ScoreView | None = None,
) -> list[RatingRead]:
    """Ratings of one evaluation as read, each with its previous rating (one query for all) and,
    given what the caller may see of the scores, their spread."""
    previous = await previous_ratings(session, evaluation, [r.commitment_id for r in rows])
    scale = Scale.of(evaluation.scale)
    return [
        rating_read(
            r,
            previous.get(r.commitment_id),
            view.spread(r.commitment_id, scale) if view is not None else None,
        )
        for r in rows
    ]


def emit_rating(
    session: AsyncSession,
    type_: str,
    row: Rating,
    evaluation: Evaluation,
    previous: Rating | None,
    spread: RatingSpread | None = None,
) -> RatingRead:
    """Record a rating's event (public once its evaluation was published); return it as read."""
    read = rating_read(row, previous, spread)
    record_event(
        session,
        Event,
        type_,
        "rating",
        row.id,
        read.model_dump(mode="json"),
        public=is_public(evaluation),
    )
    return read


# --- content and its checks --------------------------------------------------------------------


@dataclass
class RatingContent:
    """A rating's editable content, in the shape of a PUT body."""

    levels: dict[str, str]
    rationales: dict[str, str] = field(default_factory=dict)
    cited: list[uuid.UUID] = field(default_factory=list)
    override: Override | None = None


def content_from_put(body: RatingPut) -> RatingContent:
    """A PUT body as rating content."""
    return RatingContent(
        levels=dict(body.levels),
        rationales=dict(body.rationales),
        cited=list(body.cited_submission_ids),
        override=body.override,
    )


def _merged(current: dict[str, str], patch: dict[str, str | None] | None) -> dict[str, str]:
    """RFC 7396 on one object: `null` for a key removes it, `null` for the whole removes all."""
    if patch is None:
        return {}
    out = dict(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def content_from_patch(row: Rating, body: RatingUpdate) -> RatingContent:
    """The rating's content with a merge patch applied (RFC 7396 for `levels`/`rationales`)."""
    content = RatingContent(
        levels=dict(row.levels),
        rationales=dict(row.rationales),
        cited=[uuid.UUID(s) for s in row.cited_submission_ids],
        override=_override_of(row),
    )
    sent = body.model_fields_set
    if "levels" in sent:
        content.levels = _merged(content.levels, body.levels)
    if "rationales" in sent:
        content.rationales = _merged(content.rationales, body.rationales)
    if "cited_submission_ids" in sent:
        content.cited = list(body.cited_submission_ids or [])
    if "override" in sent:
        content.override = body.override
    return content


def _check_levels(
    dims: list[str], scale: Scale, content: RatingContent, missing: list[str], *, agreeing: bool
) -> list[FieldError]:
    on_scale = ", ".join(scale.codes)
    errors: list[FieldError] = []
    if agreeing:
        errors += [
            FieldError(
                pointer=f"body.levels.{dim}",
                detail=f"missing: agreeing a rating needs a level for every dimension "
                f"({dim!r} has none)",
                code="missing",
            )
            for dim in missing
        ]
    for dim, level in content.levels.items():
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
        for dim in content.rationales
        if dim not in dims
    ]
    return errors


def _check_content(
    evaluation: Evaluation, scale: Scale, content: RatingContent, *, agreeing: bool
) -> list[FieldError]:
    dims = [d["code"] for d in evaluation.dimensions]
    missing = [dim for dim in dims if dim not in content.levels]
    errors = _check_levels(dims, scale, content, missing, agreeing=agreeing)
    if content.override:
        if content.override.level not in scale.codes:
            errors.append(
                FieldError(
                    pointer="body.override.level",
                    detail=f"{content.override.level!r} is not on this evaluation's scale "
                    f"({', '.join(scale.codes)})",
                    code="unknown_level",
                )
            )
        elif missing and not agreeing:
            errors.append(
                FieldError(
                    pointer="body.override",
                    detail="an override replaces a computed overall; rate every dimension "
                    f"first (unrated: {', '.join(missing)})",
                    code="nothing_to_override",
                )
            )
    seen: set[uuid.UUID] = set()
    for i, sid in enumerate(content.cited):
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


async def _check_citations(
    session: AsyncSession, commitment_id: uuid.UUID, cited: list[uuid.UUID]
) -> list[FieldError]:
    known = await repository.known_submissions(session, cited)
    errors: list[FieldError] = []
    for i, sid in enumerate(cited):
        pointer = f"body.cited_submission_ids.{i}"
        sub: KnownSubmission | None = known.get(sid)
        if sub is None:
            errors.append(
                FieldError(
                    pointer=pointer,
                    detail=f"No submission with id {sid} is known here (the ratings service "
                    "learns submissions from the evidence service's feed within seconds).",
                    code="unknown_reference",
                )
            )
        elif sub.status not in CITABLE:
            errors.append(
                FieldError(
                    pointer=pointer,
                    detail=f"submission {sid} is {sub.status}; only accepted or published "
                    "evidence may be cited",
                    code="not_citable",
                )
            )
        elif str(commitment_id) not in sub.commitment_ids:
            errors.append(
                FieldError(
                    pointer=pointer,
                    detail=f"submission {sid} is not about commitment {commitment_id}",
                    code="unrelated",
                )
            )
    return errors


# --- writing -----------------------------------------------------------------------------------


def _values(evaluation: Evaluation, scale: Scale, content: RatingContent) -> dict[str, Any]:
    """The rating's columns for this content, its overall computed by the evaluation's rule."""
    dims = [d["code"] for d in evaluation.dimensions]
    outcome = (
        aggregate(evaluation.aggregation_rule, [content.levels[d] for d in dims], scale)
        if all(d in content.levels for d in dims)
        else None
    )
    override = content.override
    effective = override.level if override else (outcome.level if outcome else None)
    return {
        # Kept in the evaluation's dimension order so every reader sees the same order.
        "levels": {d: content.levels[d] for d in dims if d in content.levels},
        "rationales": {d: content.rationales[d] for d in dims if d in content.rationales},
        "cited_submission_ids": [str(s) for s in content.cited],
        "rule": evaluation.aggregation_rule,
        "computed_level": outcome.level if outcome else None,
        "computed_score": outcome.score if outcome else None,
        "explanation": outcome.explanation if outcome else None,
        "override_level": override.level if override else None,
        "override_reason": override.reason if override else None,
        "overall_level": effective,
        "overall_score": scale.score(effective) if effective else None,
    }


def _set_agreement(row: Rating, status: str, principal: Principal) -> None:
    if status == RatingStatus.agreed:
        row.agreed_at = utcnow()
        row.agreed_by_client_id = principal.client_id
    else:
        row.agreed_at = None
        row.agreed_by_client_id = None


async def write_rating(
    session: AsyncSession,
    evaluation: Evaluation,
    commitment_id: uuid.UUID,
    content: RatingContent,
    status: EditableRatingStatus | None,
    existing: Rating | None,
    principal: Principal,
    *,
    precondition: Callable[[Rating], None] | None = None,
) -> RatingRead:
    """Create or change a commitment's rating, computing its overall by the evaluation's rule.

    `precondition(existing)` runs only if the write would change the rating (the router passes
    the If-Match check there, so a retried PUT that changes nothing needs no ETag).
    """
    ensure_editable(evaluation)
    scale = Scale.of(evaluation.scale)
    agreeing = status is EditableRatingStatus.agreed
    errors = _check_content(evaluation, scale, content, agreeing=agreeing)
    errors += await _check_citations(session, commitment_id, content.cited)
    if errors:
        errors.sort(key=lambda e: e.pointer)
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)
    values = _values(evaluation, scale, content)
    previous = (await previous_ratings(session, evaluation, [commitment_id])).get(commitment_id)
    if existing is None:
        row = Rating(
            evaluation_id=evaluation.id,
            commitment_id=commitment_id,
            status=rating_status_after(None, status, changed=True),
            **values,
        )
        _set_agreement(row, row.status, principal)
        session.add(row)
        await session.flush()
        kind = "rating.agreed" if agreeing else "rating.created"
        return emit_rating(session, kind, row, evaluation, previous)
    changed = any(getattr(existing, k) != v for k, v in values.items())
    target = rating_status_after(existing.status, status, changed=changed)
    was = existing.status
    if (changed or target != was) and precondition is not None:
        precondition(existing)
    apply_values(existing, values)
    if target != was:
        existing.status = target
        _set_agreement(existing, target, principal)
    if changed or target != was:
        await session.flush()
        kind = "rating.agreed" if target != was and agreeing else "rating.updated"
        return emit_rating(session, kind, existing, evaluation, previous)
    return rating_read(existing, previous)


async def correct_rating(
    session: AsyncSession,
    evaluation: Evaluation,
    row: Rating,
    levels: dict[str, str],
    rationales: dict[str, str],
    pointer: str,
) -> bool:
    """Change a published rating's levels and rationales as part of a correction (no status
    change: it stays published); False if nothing changed. 422 for levels off the scale."""
    scale = Scale.of(evaluation.scale)
    content = RatingContent(
        levels={**row.levels, **levels},
        rationales={**row.rationales, **rationales},
        cited=[uuid.UUID(s) for s in row.cited_submission_ids],
        override=_override_of(row),
    )
    errors = _check_content(evaluation, scale, content, agreeing=True)
    if errors:
        for e in errors:
            e.pointer = e.pointer.replace("body", pointer, 1)
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)
    values = _values(evaluation, scale, content)
    if not apply_values(row, values):
        return False
    await session.flush()
    return True

"""Rules of the ratings service. Never commits: the request's unit of work does.

The workflow (see also the router's module docstring):

- An evaluation is `draft → in_review → published`; `in_review → draft` sends it back; any state
  but `withdrawn` may be `withdrawn`, with a reason. Withdrawn is final: to revise a published
  evaluation, start a re-evaluation of it (`previous_evaluation_id`).
- A rating is `draft ↔ agreed` while its evaluation is a draft or in review; agreeing needs every
  dimension rated; changing an agreed rating's content returns it to draft unless the same
  request agrees it again. Publishing makes every rating `published`.
- Publishing needs the evaluation in review and every commitment in scope rated and agreed (and
  every citation still citable); it records who (client, organisation) and when. From then on
  the evaluation, its scope and its ratings are frozen: any change is 409.
- Visibility: an evaluation that was never published, and everything in it, is seen only by
  callers holding `ratings:write` or `ratings:publish` (others get 404) and its events are
  private. Once published it is public for good (a withdrawn one stays readable, with its
  withdrawal), and so are its events from then on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import AggregationRule, Outcome, Scale, aggregate, rule_fits_scale
from ratings.models import Evaluation, EvaluationResponse, Event, KnownSubmission, Rating
from ratings.schemas import (
    ActingClient,
    ChangeDirection,
    EditableRatingStatus,
    EvaluationBrief,
    EvaluationCreate,
    EvaluationPublication,
    EvaluationPublish,
    EvaluationRead,
    EvaluationResponseCreate,
    EvaluationResponseRead,
    EvaluationStatus,
    EvaluationSummary,
    EvaluationUpdate,
    EvaluationWithdraw,
    EvaluationWithdrawal,
    LevelChange,
    Overall,
    Override,
    PreviousRating,
    RatingChange,
    RatingHistoryItem,
    RatingPut,
    RatingRead,
    RatingStatus,
    RatingUpdate,
    ResponsePosition,
    SummaryCommitment,
    SummaryPolicyArea,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.pagination import PageParams
from servicekit.problems import FieldError, ProblemError, conflict, not_found
from servicekit.schemas import merge_patch

COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})
# Only evidence the panel has let in may be relied on in a published rating.
CITABLE = frozenset({"accepted", "published"})
DRAFT_READER_SCOPES = ("ratings:write", "ratings:publish")
EDITABLE = frozenset({EvaluationStatus.draft, EvaluationStatus.in_review})
_EVALUATION_REQUIRED = frozenset({"title", "body", "members"})


def _invalid(errors: list[FieldError]) -> ProblemError:
    detail = errors[0].detail if len(errors) == 1 else f"{len(errors)} fields failed validation."
    return ProblemError(
        422, "Your request is not valid", detail, type_="/problems/validation-error", errors=errors
    )


# --- the read models ---------------------------------------------------------------------------


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


async def apply_evidence_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the evidence feed: every `submission.*` event overwrites the row.

    The evidence service's contract: each such payload carries `id`, `status` and
    `commitment_ids`, so the latest event alone says whether a submission may be cited.
    """
    if not str(event["type"]).startswith("submission."):
        return
    p = event["payload"]
    await repository.upsert_known_submission(
        session,
        id=uuid.UUID(str(p["id"])),
        status=str(p["status"]),
        commitment_ids=[str(uuid.UUID(str(c))) for c in p.get("commitment_ids") or []],
    )


# --- visibility --------------------------------------------------------------------------------


def can_see_drafts(principal: Principal | None) -> bool:
    """Whether the caller may read evaluations that were never published (the panel's drafts)."""
    return principal is not None and any(principal.has(s) for s in DRAFT_READER_SCOPES)


def is_public(evaluation: Evaluation) -> bool:
    """Published once, public for good: a withdrawn evaluation stays on the record."""
    return evaluation.published_at is not None


async def visible_evaluation(
    session: AsyncSession, ident: uuid.UUID, principal: Principal | None
) -> Evaluation:
    """The evaluation if the caller may read it; 404 (as if absent) otherwise."""
    row = await session.get(Evaluation, ident)
    if row is None or not (is_public(row) or can_see_drafts(principal)):
        raise not_found("evaluation", ident)
    return row


# --- evaluations -------------------------------------------------------------------------------


def evaluation_read(row: Evaluation, commitment_ids: list[uuid.UUID]) -> EvaluationRead:
    """The public representation of an evaluation and its scope."""
    values = {c.key: getattr(row, c.key) for c in Evaluation.__table__.columns}
    publication = (
        EvaluationPublication(
            published_at=row.published_at,
            published_by=ActingClient(
                client_id=row.published_by_client_id or "",
                organisation=row.published_by_organisation or "",
            ),
        )
        if row.published_at is not None
        else None
    )
    withdrawal = (
        EvaluationWithdrawal(
            withdrawn_at=row.withdrawn_at,
            withdrawn_by=row.withdrawn_by_client_id or "",
            reason=row.withdrawal_reason or "",
        )
        if row.withdrawn_at is not None
        else None
    )
    return EvaluationRead.model_validate(
        {
            **values,
            "commitment_ids": commitment_ids,
            "publication": publication,
            "withdrawal": withdrawal,
        }
    )


def _check_evaluation(body: EvaluationCreate, commitment_ids: list[uuid.UUID]) -> list[FieldError]:
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
    for i, cid in enumerate(commitment_ids):
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


async def _inherit(
    session: AsyncSession, body: EvaluationCreate
) -> tuple[EvaluationCreate, list[uuid.UUID]]:
    """Fill a re-evaluation's unset scope, scale, dimensions and rule from the earlier one."""
    if body.previous_evaluation_id is None:
        if body.commitment_ids is None:
            raise _invalid(
                [
                    FieldError(
                        pointer="body.commitment_ids",
                        detail="commitment_ids is required unless previous_evaluation_id is given",
                        code="missing",
                    )
                ]
            )
        return body, list(body.commitment_ids)
    previous = await session.get(Evaluation, body.previous_evaluation_id)
    if previous is None or not is_public(previous):
        detail = (
            f"No evaluation with id {body.previous_evaluation_id}."
            if previous is None
            else f"Evaluation {previous.id} has not been published; only a published "
            "evaluation can be re-evaluated."
        )
        code = "unknown_reference" if previous is None else "not_published"
        raise _invalid(
            [FieldError(pointer="body.previous_evaluation_id", detail=detail, code=code)]
        )
    inherited: dict[str, Any] = {}
    for name in ("scale", "dimensions", "aggregation_rule"):
        if name not in body.model_fields_set:
            inherited[name] = getattr(previous, name)
    if inherited:
        body = EvaluationCreate.model_validate({**body.model_dump(), **inherited})
    if body.commitment_ids is not None:
        return body, list(body.commitment_ids)
    scope = await repository.scopes(session, [previous.id])
    return body, scope[previous.id]


async def create_evaluation(session: AsyncSession, body: EvaluationCreate) -> EvaluationRead:
    """Record a new draft evaluation of commitments this service knows."""
    body, commitment_ids = await _inherit(session, body)
    errors = _check_evaluation(body, commitment_ids)
    known = await repository.known_commitment_ids(session, commitment_ids)
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
        for i, cid in enumerate(commitment_ids)
        if cid not in known
    ]
    if errors:
        raise _invalid(errors)
    values = body.model_dump(
        mode="json", exclude={"commitment_ids", "published_on", "previous_evaluation_id"}
    )
    row = Evaluation(
        **values,
        published_on=body.published_on,
        previous_evaluation_id=body.previous_evaluation_id,
        status=EvaluationStatus.draft.value,
    )
    session.add(row)
    await session.flush()
    await repository.add_scope(session, row.id, commitment_ids)
    return _emit_evaluation(session, "evaluation.created", row, commitment_ids)


def _emit_evaluation(
    session: AsyncSession, type_: str, row: Evaluation, commitment_ids: list[uuid.UUID]
) -> EvaluationRead:
    read = evaluation_read(row, commitment_ids)
    record_event(
        session,
        Event,
        type_,
        "evaluation",
        row.id,
        read.model_dump(mode="json"),
        public=is_public(row),
    )
    return read


def ensure_editable(evaluation: Evaluation) -> None:
    """409 once an evaluation is published or withdrawn: it and its ratings are frozen."""
    if evaluation.status not in EDITABLE:
        raise conflict(
            f"Evaluation {evaluation.id} is {evaluation.status}; it and its ratings can no longer "
            "be changed. Start a re-evaluation (previous_evaluation_id) to revise it."
        )


async def update_evaluation(
    session: AsyncSession, row: Evaluation, body: EvaluationUpdate
) -> EvaluationRead:
    """Apply a merge patch to a draft (or in review) evaluation's descriptive fields."""
    ensure_editable(row)
    values = merge_patch(body, required=_EVALUATION_REQUIRED)
    scope = (await repository.scopes(session, [row.id]))[row.id]
    if apply_values(row, values):
        await session.flush()
        return _emit_evaluation(session, "evaluation.updated", row, scope)
    return evaluation_read(row, scope)


def _wrong_state(evaluation: Evaluation, action: str, needs: str) -> ProblemError:
    return ProblemError(
        409,
        "Conflict",
        f"Evaluation {evaluation.id} is {evaluation.status}; {action} needs it {needs}.",
        type_="/problems/invalid-transition",
    )


async def submit_for_review(session: AsyncSession, row: Evaluation) -> EvaluationRead:
    """draft → in_review."""
    if row.status != EvaluationStatus.draft:
        raise _wrong_state(row, "submitting for review", "to be a draft")
    row.status = EvaluationStatus.in_review.value
    await session.flush()
    scope = (await repository.scopes(session, [row.id]))[row.id]
    return _emit_evaluation(session, "evaluation.submitted_for_review", row, scope)


async def return_to_draft(session: AsyncSession, row: Evaluation) -> EvaluationRead:
    """in_review → draft."""
    if row.status != EvaluationStatus.in_review:
        raise _wrong_state(row, "returning to draft", "to be in review")
    row.status = EvaluationStatus.draft.value
    await session.flush()
    scope = (await repository.scopes(session, [row.id]))[row.id]
    return _emit_evaluation(session, "evaluation.returned_to_draft", row, scope)


async def publish(
    session: AsyncSession, row: Evaluation, body: EvaluationPublish, principal: Principal
) -> EvaluationRead:
    """in_review → published: every commitment rated and agreed; freezes the ratings."""
    if row.status != EvaluationStatus.in_review:
        raise _wrong_state(row, "publishing", "to be in review")
    scope = (await repository.scopes(session, [row.id]))[row.id]
    ratings = {r.commitment_id: r for r in await repository.ratings_of(session, row.id)}
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
    # Evidence may have been withdrawn or withheld since it was cited.
    cited = {uuid.UUID(s) for r in ratings.values() for s in r.cited_submission_ids}
    known = await repository.known_submissions(session, cited)
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
    row.status = EvaluationStatus.published.value
    row.published_at = now
    row.published_by_client_id = principal.client_id
    row.published_by_organisation = principal.organisation
    if body.published_on is not None:
        row.published_on = body.published_on
    elif row.published_on is None:
        row.published_on = now.astimezone(UTC).date()
    for rating in ratings.values():
        rating.status = RatingStatus.published.value
    await session.flush()
    previous = await _previous_ratings(session, row, list(ratings))
    for cid in scope:
        _emit_rating(session, "rating.published", ratings[cid], row, previous.get(cid))
    return _emit_evaluation(session, "evaluation.published", row, scope)


async def withdraw(
    session: AsyncSession, row: Evaluation, body: EvaluationWithdraw, principal: Principal
) -> EvaluationRead:
    """Any state but withdrawn → withdrawn, with a reason; a published one stays readable."""
    if row.status == EvaluationStatus.withdrawn:
        raise _wrong_state(row, "withdrawing", "not to be withdrawn already")
    row.status = EvaluationStatus.withdrawn.value
    row.withdrawn_at = utcnow()
    row.withdrawn_by_client_id = principal.client_id
    row.withdrawal_reason = body.reason
    await session.flush()
    scope = (await repository.scopes(session, [row.id]))[row.id]
    return _emit_evaluation(session, "evaluation.withdrawn", row, scope)


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


def rating_read(row: Rating, previous: Rating | None = None) -> RatingRead:
    """The public representation of a rating, with its overall and how it was reached."""
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
        overall=_rating_overall(row),
        status=RatingStatus(row.status),
        agreed_at=row.agreed_at,
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


async def _previous_ratings(
    session: AsyncSession, evaluation: Evaluation, commitment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Rating]:
    if evaluation.previous_evaluation_id is None or not commitment_ids:
        return {}
    rows = await repository.ratings_for(
        session, evaluation.previous_evaluation_id, list(commitment_ids)
    )
    return {r.commitment_id: r for r in rows}


async def read_ratings(
    session: AsyncSession, evaluation: Evaluation, rows: Sequence[Rating]
) -> list[RatingRead]:
    """Ratings of one evaluation as read, each with its previous rating (one query for all)."""
    previous = await _previous_ratings(session, evaluation, [r.commitment_id for r in rows])
    return [rating_read(r, previous.get(r.commitment_id)) for r in rows]


@dataclass
class _Content:
    """A rating's editable content, in the shape of a PUT body."""

    levels: dict[str, str]
    rationales: dict[str, str] = field(default_factory=dict)
    cited: list[uuid.UUID] = field(default_factory=list)
    override: Override | None = None


def _check_content(
    evaluation: Evaluation, scale: Scale, content: _Content, *, agreeing: bool
) -> list[FieldError]:
    dims = [d["code"] for d in evaluation.dimensions]
    on_scale = ", ".join(scale.codes)
    errors: list[FieldError] = []
    missing = [dim for dim in dims if dim not in content.levels]
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
    if content.override:
        if content.override.level not in scale.codes:
            errors.append(
                FieldError(
                    pointer="body.override.level",
                    detail=f"{content.override.level!r} is not on this evaluation's scale "
                    f"({on_scale})",
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


def _content_of(row: Rating) -> _Content:
    return _Content(
        levels=dict(row.levels),
        rationales=dict(row.rationales),
        cited=[uuid.UUID(s) for s in row.cited_submission_ids],
        override=(
            Override(level=row.override_level, reason=row.override_reason or "")
            if row.override_level is not None
            else None
        ),
    )


def content_from_put(body: RatingPut) -> _Content:
    """A PUT body as rating content."""
    return _Content(
        levels=dict(body.levels),
        rationales=dict(body.rationales),
        cited=list(body.cited_submission_ids),
        override=body.override,
    )


def content_from_patch(row: Rating, body: RatingUpdate) -> _Content:
    """The rating's content with a merge patch applied (RFC 7396 for `levels`/`rationales`)."""
    content = _content_of(row)
    sent = body.model_fields_set

    def merged(current: dict[str, str], patch: dict[str, str | None] | None) -> dict[str, str]:
        if patch is None:  # `null` for the whole object removes all of it
            return {}
        out = dict(current)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    if "levels" in sent:
        content.levels = merged(content.levels, body.levels)
    if "rationales" in sent:
        content.rationales = merged(content.rationales, body.rationales)
    if "cited_submission_ids" in sent:
        content.cited = list(body.cited_submission_ids or [])
    if "override" in sent:
        content.override = body.override
    return content


async def write_rating(
    session: AsyncSession,
    evaluation: Evaluation,
    commitment_id: uuid.UUID,
    content: _Content,
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
        raise _invalid(errors)
    dims = [d["code"] for d in evaluation.dimensions]
    outcome = (
        aggregate(evaluation.aggregation_rule, [content.levels[d] for d in dims], scale)
        if all(d in content.levels for d in dims)
        else None
    )
    override = content.override
    effective = override.level if override else (outcome.level if outcome else None)
    values: dict[str, Any] = {
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
    previous = (await _previous_ratings(session, evaluation, [commitment_id])).get(commitment_id)
    if existing is None:
        row = Rating(
            evaluation_id=evaluation.id,
            commitment_id=commitment_id,
            status=(status or EditableRatingStatus.draft).value,
            **values,
        )
        _set_agreement(row, row.status, principal)
        session.add(row)
        await session.flush()
        kind = "rating.agreed" if agreeing else "rating.created"
        return _emit_rating(session, kind, row, evaluation, previous)
    changed = any(getattr(existing, k) != v for k, v in values.items())
    # Any change to an agreed rating's content must be agreed again.
    target = status.value if status else (RatingStatus.draft.value if changed else existing.status)
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
        return _emit_rating(session, kind, existing, evaluation, previous)
    return rating_read(existing, previous)


def _set_agreement(row: Rating, status: str, principal: Principal) -> None:
    if status == RatingStatus.agreed:
        row.agreed_at = utcnow()
        row.agreed_by_client_id = principal.client_id
    else:
        row.agreed_at = None
        row.agreed_by_client_id = None


def _emit_rating(
    session: AsyncSession,
    type_: str,
    row: Rating,
    evaluation: Evaluation,
    previous: Rating | None,
) -> RatingRead:
    read = rating_read(row, previous)
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


# --- summary -----------------------------------------------------------------------------------


async def summary(session: AsyncSession, evaluation: Evaluation) -> EvaluationSummary:
    """Every commitment's rating and the roll-up by the evaluation's rule to areas and overall."""
    scale = Scale.of(evaluation.scale)
    rule = AggregationRule(evaluation.aggregation_rule)
    scope = await repository.scope_with_policy_areas(session, evaluation.id)
    rows = await repository.ratings_of(session, evaluation.id)
    reads = {r.commitment_id: r for r in await read_ratings(session, evaluation, rows)}
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
            SummaryCommitment(commitment_id=cid, policy_area_id=area, rating=reads.get(cid))
            for cid, area in scope
        ],
        policy_areas=[
            SummaryPolicyArea(policy_area_id=area, commitment_ids=cids, overall=roll_up(cids))
            for area, cids in areas.items()
        ],
        overall=roll_up([cid for cid, _ in scope]),
    )


# --- responses ---------------------------------------------------------------------------------


def response_read(row: EvaluationResponse) -> EvaluationResponseRead:
    """The public representation of a response."""
    return EvaluationResponseRead(
        id=row.id,
        evaluation_id=row.evaluation_id,
        commitment_id=row.commitment_id,
        respondent=row.respondent,
        position=ResponsePosition(row.position),
        text=row.text,
        received_on=row.received_on,
        recorded_by=ActingClient(
            client_id=row.recorded_by_client_id, organisation=row.recorded_by_organisation
        ),
        created_at=row.created_at,
    )


async def create_response(
    session: AsyncSession,
    evaluation: Evaluation,
    body: EvaluationResponseCreate,
    principal: Principal,
) -> EvaluationResponseRead:
    """Record a response to a published evaluation or to one of its ratings."""
    if evaluation.status != EvaluationStatus.published:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; only a published evaluation "
            "can be responded to.",
            type_="/problems/not-published",
        )
    errors: list[FieldError] = []
    if body.commitment_id is not None and not await repository.in_scope(
        session, evaluation.id, body.commitment_id
    ):
        errors.append(
            FieldError(
                pointer="body.commitment_id",
                detail=f"commitment {body.commitment_id} is not rated in evaluation "
                f"{evaluation.id}",
                code="not_in_scope",
            )
        )
    respondent = body.respondent or principal.organisation
    if not respondent:
        errors.append(
            FieldError(
                pointer="body.respondent",
                detail="required: your token names no organisation to respond for",
                code="missing",
            )
        )
    if errors:
        raise _invalid(errors)
    row = EvaluationResponse(
        evaluation_id=evaluation.id,
        commitment_id=body.commitment_id,
        respondent=respondent,
        position=body.position.value,
        text=body.text,
        received_on=body.received_on,
        recorded_by_client_id=principal.client_id,
        recorded_by_organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    read = response_read(row)
    record_event(
        session, Event, "response.created", "response", row.id, read.model_dump(mode="json")
    )
    return read


# --- history -----------------------------------------------------------------------------------


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


def history_statuses(principal: Principal | None) -> list[str]:
    """Whose ratings a caller sees in a history: published, plus drafts for the panel."""
    if can_see_drafts(principal):
        return [EvaluationStatus.draft, EvaluationStatus.in_review, EvaluationStatus.published]
    return [EvaluationStatus.published]


async def history(
    session: AsyncSession,
    commitment_id: uuid.UUID,
    principal: Principal | None,
    params: PageParams,
) -> tuple[list[RatingHistoryItem], str | None]:
    """A commitment's ratings across evaluations, oldest first, each with its change."""
    if not await repository.known_commitment_ids(session, [commitment_id]):
        raise not_found("commitment", commitment_id)
    statuses = history_statuses(principal)
    rows, token = await repository.commitment_ratings(session, commitment_id, statuses, params)
    before = (
        await repository.rating_before(session, commitment_id, statuses, rows[0]) if rows else None
    )
    chain: list[Rating] = ([before] if before else []) + rows
    evaluations = await repository.evaluations_by_id(session, {r.evaluation_id for r in chain})
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


def _pairs(chain: list[Rating], skip: int) -> Iterable[tuple[Rating | None, Rating]]:
    for i, row in enumerate(chain):
        if i >= skip:
            yield (chain[i - 1] if i else None), row

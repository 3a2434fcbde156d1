"""Evaluations: creating, changing and reading one, and inheriting from an earlier evaluation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import Scale, rule_fits_scale
from ratings.lifecycle import ensure_editable
from ratings.models import Evaluation, Event
from ratings.panel import check_panel, panel_reads, seat_members
from ratings.read_models import known_commitment_ids
from ratings.schemas import (
    ActingClient,
    CorrectionNotice,
    EvaluationCreate,
    EvaluationPublication,
    EvaluationRead,
    EvaluationStatus,
    EvaluationUpdate,
    EvaluationWithdrawal,
    FactualAccuracyCheck,
    PanelMemberRead,
    PanelRole,
)
from ratings.visibility import is_public
from servicekit.auth import Principal
from servicekit.crud import apply_values
from servicekit.outbox import record_event
from servicekit.problems import FieldError, invalid, not_found, validation_problem
from servicekit.schemas import merge_patch

_EVALUATION_REQUIRED = frozenset({"title", "body", "members"})


def evaluation_read(
    row: Evaluation,
    commitment_ids: list[uuid.UUID],
    panel: list[PanelMemberRead],
    corrections: list[CorrectionNotice] | None = None,
) -> EvaluationRead:
    """The public representation of an evaluation, its scope, panel and corrections."""
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
            "panel": panel,
            "factual_accuracy": _check_of(row),
            "version": row.published_version,
            "corrections": corrections or [],
            "publication": publication,
            "withdrawal": withdrawal,
        }
    )


def _check_of(row: Evaluation) -> FactualAccuracyCheck | None:
    if row.fa_client_id is None or row.fa_sent_at is None or row.fa_closes_on is None:
        return None
    return FactualAccuracyCheck(
        client_id=row.fa_client_id,
        organisation=row.fa_organisation or "",
        sent_at=row.fa_sent_at,
        closes_on=row.fa_closes_on,
        waiver_reason=row.fa_waiver_reason,
    )


async def corrections_of(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[CorrectionNotice]]:
    """Each evaluation's correction notices, oldest first (one query)."""
    out: dict[uuid.UUID, list[CorrectionNotice]] = {i: [] for i in ids}
    for v in await repository.corrections(session, ids):
        out[v.evaluation_id].append(
            CorrectionNotice(
                version=v.version,
                what_changed=v.what_changed or "",
                why=v.why or "",
                published_at=v.published_at,
            )
        )
    return out


async def read_evaluation(session: AsyncSession, row: Evaluation) -> EvaluationRead:
    """An evaluation as read, with its scope, panel and corrections (five queries)."""
    panel = (await panel_reads(session, [row.id]))[row.id]
    corrections = (await corrections_of(session, [row.id]))[row.id]
    return evaluation_read(row, await repository.scope(session, row.id), panel, corrections)


async def locked_evaluation(
    session: AsyncSession, ident: uuid.UUID, *, exclusive: bool
) -> Evaluation:
    """The evaluation under a row lock (shared for rating writes, exclusive for its own); 404."""
    row = await repository.lock_evaluation(session, ident, exclusive=exclusive)
    if row is None:
        raise not_found("evaluation", ident)
    return row


def _check_scale(body: EvaluationCreate) -> list[FieldError]:
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
    return errors


def _check_evaluation(body: EvaluationCreate, commitment_ids: list[uuid.UUID]) -> list[FieldError]:
    errors = _check_scale(body)
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
        why = rule_fits_scale(body.aggregation_rule, Scale.of(lv.model_dump() for lv in body.scale))
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


async def _inherit(
    session: AsyncSession, body: EvaluationCreate
) -> tuple[EvaluationCreate, list[uuid.UUID]]:
    """Fill a re-evaluation's unset scope, scale, dimensions and rule from the earlier one."""
    if body.previous_evaluation_id is None:
        if body.commitment_ids is None:
            raise invalid(
                "body.commitment_ids",
                "commitment_ids is required unless previous_evaluation_id is given",
                "missing",
            )
        return body, list(body.commitment_ids)
    previous = await session.get(Evaluation, body.previous_evaluation_id)
    if previous is None:
        raise invalid(
            "body.previous_evaluation_id",
            f"No evaluation with id {body.previous_evaluation_id}.",
            "unknown_reference",
        )
    if not is_public(previous):
        raise invalid(
            "body.previous_evaluation_id",
            f"Evaluation {previous.id} has not been published; only a published "
            "evaluation can be re-evaluated.",
            "not_published",
        )
    inherited: dict[str, Any] = {}
    for name in ("scale", "dimensions", "aggregation_rule"):
        if name not in body.model_fields_set:
            inherited[name] = getattr(previous, name)
    if inherited:
        body = EvaluationCreate.model_validate({**body.model_dump(), **inherited})
    if body.commitment_ids is not None:
        return body, list(body.commitment_ids)
    return body, await repository.scope(session, previous.id)


async def create_evaluation(
    session: AsyncSession, body: EvaluationCreate, principal: Principal
) -> EvaluationRead:
    """Record a new draft evaluation of commitments this service knows, and seat its panel."""
    body, commitment_ids = await _inherit(session, body)
    check_panel(body.panel, has_chair=False, at="body.panel")
    errors = _check_evaluation(body, commitment_ids)
    known = await known_commitment_ids(session, commitment_ids)
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
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)
    values = body.model_dump(
        mode="json", exclude={"commitment_ids", "published_on", "previous_evaluation_id", "panel"}
    )
    chair = next((m.name for m in body.panel if m.role is PanelRole.chair), None)
    if values.get("chair") is None:
        values["chair"] = chair
    row = Evaluation(
        **values,
        published_on=body.published_on,
        previous_evaluation_id=body.previous_evaluation_id,
        status=EvaluationStatus.draft.value,
        created_by_client_id=principal.client_id,
    )
    session.add(row)
    await session.flush()
    await repository.add_scope(session, row.id, commitment_ids)
    seat_members(session, row.id, body.panel)
    await session.flush()
    return await emit_evaluation(session, "evaluation.created", row, commitment_ids)


async def emit_evaluation(
    session: AsyncSession, type_: str, row: Evaluation, commitment_ids: list[uuid.UUID]
) -> EvaluationRead:
    """Record an evaluation's event (public once it was published) and return it as read."""
    panel = (await panel_reads(session, [row.id]))[row.id]
    corrections = (await corrections_of(session, [row.id]))[row.id]
    read = evaluation_read(row, commitment_ids, panel, corrections)
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


async def update_evaluation(
    session: AsyncSession, row: Evaluation, body: EvaluationUpdate
) -> EvaluationRead:
    """Apply a merge patch to a draft (or in review) evaluation's descriptive fields."""
    ensure_editable(row)
    values = merge_patch(body, required=_EVALUATION_REQUIRED)
    scope = await repository.scope(session, row.id)
    if apply_values(row, values):
        await session.flush()
        return await emit_evaluation(session, "evaluation.updated", row, scope)
    return await read_evaluation(session, row)

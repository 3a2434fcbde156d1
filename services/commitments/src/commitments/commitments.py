"""Commitments: creating and changing them (each change a revision), and reading them back."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import events, repository, revisions
from commitments.clock import today
from commitments.lifecycle import check_transition
from commitments.models import Commitment, Event, PolicyArea, Source, Target
from commitments.revisions import SNAPSHOT_FIELDS, TARGET_FIELDS, snapshot
from commitments.schemas import (
    CommitmentCreate,
    CommitmentDetail,
    CommitmentRead,
    CommitmentStatus,
    CommitmentUpdate,
    Completion,
    SelfAssessmentRead,
    TargetRead,
)
from commitments.targets import (
    Errors,
    check_references,
    check_target,
    progress,
    spec,
    target_from,
    target_read,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values, emit, ensure_exists, ensure_unique
from servicekit.problems import ProblemError, invalid, not_found, raise_field_errors
from servicekit.schemas import merge_patch

_REQUIRED = frozenset(
    {"title", "text", "kind", "policy_area_id", "source_id", "status", "lead_bodies"}
)
_READ_FIELDS = tuple(CommitmentRead.model_fields)


async def current_detail(session: AsyncSession, id: uuid.UUID) -> tuple[CommitmentDetail, int]:
    """The commitment now with its targets, and its version (for the ETag); 404 if unknown."""
    rows = await repository.commitment_with_targets(session, id)
    if not rows:
        raise not_found("commitment", id)
    c = rows[0]
    targets = [target_from(r, prefix="t_") for r in rows if r.t_id is not None]
    detail = CommitmentDetail(
        **{f: getattr(c, f) for f in _READ_FIELDS}, targets=targets, as_of=None
    )
    return detail, c.version


async def with_delivery(session: AsyncSession, detail: CommitmentDetail) -> CommitmentDetail:
    """The current detail with its milestones' completion and the latest self-assessment."""
    total, met = await repository.completion_of(session, detail.id)
    latest = await repository.latest_self_assessment(session, detail.id)
    return detail.model_copy(
        update={
            "completion": Completion(milestones=total, met=met, share=met / total)
            if total
            else None,
            "self_assessment": SelfAssessmentRead.model_validate(latest) if latest else None,
        }
    )


async def detail(session: AsyncSession, row: Commitment) -> CommitmentDetail:
    """The commitment now, with its targets and their progress."""
    targets = await repository.targets_of(session, row.id)
    base = CommitmentRead.model_validate(row).model_dump()
    return CommitmentDetail(**base, targets=[target_read(t) for t in targets], as_of=None)


async def detail_as_of(session: AsyncSession, row: Commitment, as_of: date) -> CommitmentDetail:
    """The commitment and its targets as they stood on a date (progress from readings to then)."""
    rev = await repository.revision_as_of(session, row.id, as_of)
    if rev is None:
        raise ProblemError(
            404,
            "Not found",
            f"Commitment {row.reference} was not made until {row.made_on}; "
            f"nothing stood on {as_of}.",
            type_="/problems/not-found",
        )
    snap = rev.snapshot
    ids = [uuid.UUID(t["id"]) for t in snap["targets"]]
    rows = await repository.by_ids(session, Target, ids)
    readings = await repository.readings_of(session, ids, up_to=as_of)
    targets = []
    for t, tid in zip(snap["targets"], ids, strict=True):
        targets.append(
            TargetRead(
                **{f: t[f] for f in TARGET_FIELDS},
                id=tid,
                commitment_id=row.id,
                created_at=rows[tid].created_at,
                updated_at=rows[tid].updated_at if rev.number == row.revision else rev.created_at,
                progress=progress(spec(t), readings[tid], as_of),
            )
        )
    return CommitmentDetail(
        **{f: snap[f] for f in SNAPSHOT_FIELDS},
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at if rev.number == row.revision else rev.created_at,
        revision=rev.number,
        targets=targets,
        as_of=as_of,
    )


async def create_commitment(
    session: AsyncSession, body: CommitmentCreate, principal: Principal
) -> CommitmentDetail:
    """Record a new commitment (and any targets given with it) against an area and a source."""
    await ensure_exists(
        session, PolicyArea, body.policy_area_id, "body.policy_area_id", "policy area"
    )
    await ensure_exists(session, Source, body.source_id, "body.source_id", "source")
    await ensure_unique(session, Commitment, "commitment", reference=body.reference)
    check_transition(
        CommitmentStatus.not_started,
        body.status,
        due_on=body.due_on,
        today=today(),
        reason=body.reason,
        lineage=False,
    )
    errors: Errors = []
    for i, t in enumerate(body.targets):
        errors += [(f"targets.{i}.{f}", d, c) for f, d, c in check_target(t.model_dump())]
    raise_field_errors(errors)
    await check_references(session, [t.reference for t in body.targets], "body.targets")
    values = body.model_dump(exclude={"targets", "reason"})
    row = Commitment(**values, revision=1, target_count=len(body.targets), off_track_count=0)
    session.add(row)
    await session.flush()
    await repository.replace_lead_bodies(session, row.id, row.lead_bodies)
    targets = [Target(commitment_id=row.id, **t.model_dump()) for t in body.targets]
    session.add_all(targets)
    await session.flush()
    revisions.record_created(session, row, targets, principal, body.reason)
    read = emit(session, Event, "commitment.created", row, CommitmentRead)
    for made in targets:
        events.record(session, "target.created", made.id, target_read(made))
    return CommitmentDetail(**read.model_dump(), targets=[target_read(m) for m in targets])


async def update_commitment(
    session: AsyncSession, row: Commitment, body: CommitmentUpdate, principal: Principal
) -> CommitmentDetail:
    """Apply a merge patch to a commitment, checking the lifecycle and recording a revision."""
    values: dict[str, Any] = merge_patch(body, required=_REQUIRED)
    reason = values.pop("reason", None)
    wanted_on = values.pop("effective_on", None)
    await ensure_exists(
        session, PolicyArea, values.get("policy_area_id"), "body.policy_area_id", "policy area"
    )
    await ensure_exists(session, Source, values.get("source_id"), "body.source_id", "source")
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return await detail(session, row)
    if "status" in changed:
        check_transition(
            CommitmentStatus(row.status),
            CommitmentStatus(changed["status"]),
            due_on=changed.get("due_on", row.due_on),
            today=today(),
            reason=reason,
            lineage=False,
        )
    needs_reason = revisions.commitment_changes_needing_reason(changed)
    if needs_reason and not reason:
        raise invalid(
            "body.reason",
            f"Changing {', '.join(sorted(needs_reason))} needs a reason; it is kept in the "
            "revision history.",
            "reason_required",
        )
    effective_on = await revisions.effective_on(session, row.id, wanted_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    apply_values(row, changed)
    if "lead_bodies" in changed:
        await repository.replace_lead_bodies(session, row.id, row.lead_bodies)
    action = "status_changed" if changed.keys() == {"status"} else "updated"
    await revisions.revise(
        session,
        row,
        principal,
        action,
        before,
        snapshot(row, targets),
        reason=reason,
        effective_on=effective_on,
    )
    read = emit(session, Event, "commitment.updated", row, CommitmentRead)
    return CommitmentDetail(**read.model_dump(), targets=[target_read(t) for t in targets])

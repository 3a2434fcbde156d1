"""Calls for evidence: opening one on known commitments, its limits, whether it is open."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.models import CallCommitment, CallForEvidence, Event
from evidence.read_model import unknown_commitments
from evidence.schemas import (
    CallForEvidenceCreate,
    CallForEvidenceRead,
    CallForEvidenceUpdate,
    CallStatus,
)
from servicekit.crud import apply_values
from servicekit.ids import new_id, utcnow
from servicekit.outbox import record_event
from servicekit.problems import conflict, field_errors, invalid, not_found, validation_problem
from servicekit.schemas import merge_patch

UNKNOWN_IN_SCOPE = "Every commitment in scope must be one this service knows."


def call_status(row: CallForEvidence, now: datetime | None = None) -> CallStatus:
    """Whether a call is upcoming, open or closed at `now`."""
    now = now or utcnow()
    if now < row.opens_at:
        return CallStatus.upcoming
    return CallStatus.open if now < row.closes_at else CallStatus.closed


def call_read(row: CallForEvidence) -> CallForEvidenceRead:
    """A call's representation."""
    return CallForEvidenceRead(
        id=row.id,
        title=row.title,
        description=row.description,
        commitment_ids=[c.commitment_id for c in row.commitments],
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        late_submissions_allowed=row.late_submissions_allowed,
        max_words=row.max_words,
        max_attachments=row.max_attachments,
        max_attachment_bytes=row.max_attachment_bytes,
        allowed_media_types=row.allowed_media_types,
        reference_prefix=row.reference_prefix,
        status=call_status(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _emit_call(session: AsyncSession, type_: str, row: CallForEvidence) -> CallForEvidenceRead:
    read = call_read(row)
    record_event(session, Event, type_, "call_for_evidence", row.id, read.model_dump(mode="json"))
    return read


async def _check_in_scope(session: AsyncSession, ids: list[uuid.UUID]) -> None:
    unknown = await unknown_commitments(session, ids)
    if unknown:
        raise validation_problem(field_errors(unknown), UNKNOWN_IN_SCOPE)


def _check_attachment_ceiling(max_bytes: int | None, ceiling: int) -> None:
    if max_bytes is not None and max_bytes > ceiling:
        raise invalid(
            "body.max_attachment_bytes",
            f"max_attachment_bytes may be at most {ceiling} on this service.",
            "too_large",
        )


async def create_call(
    session: AsyncSession, body: CallForEvidenceCreate, *, ceiling: int
) -> CallForEvidenceRead:
    """Open a call for evidence on commitments this service knows."""
    _check_attachment_ceiling(body.max_attachment_bytes, ceiling)
    await _check_in_scope(session, body.commitment_ids)
    values = body.model_dump(exclude={"commitment_ids"})
    values["allowed_media_types"] = [m.value for m in body.allowed_media_types]
    row = CallForEvidence(
        id=new_id(),
        created_at=utcnow(),
        **values,
        commitments=[
            CallCommitment(commitment_id=c, position=i) for i, c in enumerate(body.commitment_ids)
        ],
    )
    session.add(row)
    await session.flush()
    return _emit_call(session, "call_for_evidence.created", row)


async def get_call(session: AsyncSession, ident: uuid.UUID) -> CallForEvidence:
    """A call, or 404."""
    row = await repository.get_call(session, ident)
    if row is None:
        raise not_found("call for evidence", ident)
    return row


async def update_call(
    session: AsyncSession, row: CallForEvidence, patch: CallForEvidenceUpdate, *, ceiling: int
) -> CallForEvidenceRead:
    """Apply a merge patch to a call (its `If-Match` already checked)."""
    values: dict[str, Any] = merge_patch(
        patch, required=frozenset(CallForEvidenceUpdate.model_fields)
    )
    if "allowed_media_types" in values:
        values["allowed_media_types"] = [m.value for m in values["allowed_media_types"]]
    _check_attachment_ceiling(values.get("max_attachment_bytes"), ceiling)
    opens, closes = values.get("opens_at", row.opens_at), values.get("closes_at", row.closes_at)
    if closes <= opens:
        raise invalid("body.closes_at", "closes_at must be after opens_at.", "before_opening")
    if (
        "reference_prefix" in values
        and values["reference_prefix"] != row.reference_prefix
        and await repository.call_has_publications(session, row.id)
    ):
        raise conflict(
            "Evidence of this call has already been published under the prefix "
            f"{row.reference_prefix!r}; the prefix can no longer change."
        )
    ids = values.pop("commitment_ids", None)
    changed = apply_values(row, values)
    if ids is not None and ids != [c.commitment_id for c in row.commitments]:
        await _check_in_scope(session, ids)
        row.commitments.clear()
        await session.flush()
        row.commitments.extend(
            CallCommitment(commitment_id=c, position=i) for i, c in enumerate(ids)
        )
        changed = True
    if not changed:
        return call_read(row)
    # The version column only moves when a column of the call's own row changes.
    row.updated_at = utcnow()
    await session.flush()
    return _emit_call(session, "call_for_evidence.updated", row)

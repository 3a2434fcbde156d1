"""Revisions: every change to a commitment (its wording, due date, targets, status, lineage).

A revision keeps a snapshot of the commitment and its targets' definitions (what `as_of` reads
return) and a field-level diff from the one before.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import repository
from commitments.clock import today
from commitments.models import Commitment, Revision, Target
from servicekit.auth import Principal
from servicekit.problems import invalid

TARGET_FIELDS = (
    "reference",
    "metric",
    "unit",
    "direction",
    "baseline_value",
    "baseline_on",
    "target_value",
    "due_on",
    "data_source",
)
SNAPSHOT_FIELDS = (
    "reference",
    "title",
    "text",
    "kind",
    "policy_area_id",
    "source_id",
    "lead_bodies",
    "made_on",
    "due_on",
    "status",
    "superseded_by_id",
)
# Changing these needs a reason (the "wording, due date or targets"); so does any change
# to a target's definition.
REASONED_FIELDS = ("title", "text", "due_on")


def commitment_changes_needing_reason(changed: Collection[str]) -> list[str]:
    """Which of a commitment's changed fields need a reason (in `REASONED_FIELDS` order)."""
    return [f for f in REASONED_FIELDS if f in changed]


def target_changes_needing_reason(changed: Collection[str]) -> list[str]:
    """Which of a target's changed fields need a reason: all of them (in `TARGET_FIELDS` order)."""
    return [f for f in TARGET_FIELDS if f in changed]


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def target_definition(t: Target | dict[str, Any]) -> dict[str, Any]:
    """A target's definition as JSON (what revisions keep), with its id."""
    get = t.get if isinstance(t, dict) else lambda k: getattr(t, k)
    return {"id": _json(get("id")), **{f: _json(get(f)) for f in TARGET_FIELDS}}


def snapshot(row: Commitment, targets: Iterable[Target]) -> dict[str, Any]:
    """The commitment and its targets' definitions as JSON: what `as_of` reads return."""
    snap = {f: _json(getattr(row, f)) for f in SNAPSHOT_FIELDS}
    snap["targets"] = [target_definition(t) for t in targets]
    return snap


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes between two snapshots, as JSON pointers (targets by id)."""
    changes = [
        {"path": f"/{f}", "before": before.get(f), "after": after.get(f)}
        for f in SNAPSHOT_FIELDS
        if before.get(f) != after.get(f)
    ]
    old = {t["id"]: t for t in before.get("targets", [])}
    new = {t["id"]: t for t in after.get("targets", [])}
    for tid, t in new.items():
        if tid not in old:
            changes.append({"path": f"/targets/{tid}", "before": None, "after": t})
            continue
        changes += [
            {"path": f"/targets/{tid}/{f}", "before": old[tid].get(f), "after": t.get(f)}
            for f in TARGET_FIELDS
            if old[tid].get(f) != t.get(f)
        ]
    changes += [
        {"path": f"/targets/{tid}", "before": t, "after": None}
        for tid, t in old.items()
        if tid not in new
    ]
    return changes


async def effective_on(
    session: AsyncSession, commitment_id: uuid.UUID, wanted: date | None
) -> date:
    """The date a new revision takes effect: `wanted` (checked), or today.

    Effective dates never decrease with the revision number, so `as_of` reads can take the
    latest revision in force on a date.
    """
    latest = await repository.latest_revision(session, commitment_id)
    floor = latest.effective_on if latest else None
    now = today()
    if wanted is None:
        return max(now, floor) if floor else now
    if wanted > now:
        raise invalid("body.effective_on", "effective_on may not be in the future.", "future_date")
    if floor and wanted < floor:
        raise invalid(
            "body.effective_on",
            f"effective_on may not be before the previous revision's date ({floor}).",
            "before_previous_revision",
        )
    return wanted


def record_created(
    session: AsyncSession,
    row: Commitment,
    targets: Iterable[Target],
    principal: Principal,
    reason: str | None,
) -> None:
    """Record revision 1 of a new commitment: everything it was created with."""
    snap = snapshot(row, targets)
    session.add(
        Revision(
            commitment_id=row.id,
            number=1,
            action="created",
            effective_on=row.made_on,
            client_id=principal.client_id,
            organisation=principal.organisation,
            reason=reason,
            changes=diff({}, snap),
            snapshot=snap,
        )
    )


async def revise(
    session: AsyncSession,
    row: Commitment,
    principal: Principal,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    reason: str | None,
    effective_on: date,
) -> None:
    """Record a revision of `row` (and bump its revision number and ETag)."""
    row.revision = (row.revision or 1) + 1
    session.add(
        Revision(
            commitment_id=row.id,
            number=row.revision,
            action=action,
            effective_on=effective_on,
            client_id=principal.client_id,
            organisation=principal.organisation,
            reason=reason,
            changes=diff(before, after),
            snapshot=after,
        )
    )
    await session.flush()

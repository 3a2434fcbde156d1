"""Targets: their definition rules, their stored progress, and changes to them.

Adding or changing a target is a revision of its commitment, so it needs a reason.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from commitments import events, repository, revisions
from commitments.clock import today
from commitments.models import Commitment, Event, Reading, Target
from commitments.progress import Point, TargetSpec, assess, judged_on, unit_problem
from commitments.revisions import TARGET_FIELDS, snapshot
from commitments.schemas import (
    CommitmentRead,
    Direction,
    ProgressStatus,
    TargetCreate,
    TargetProgress,
    TargetRead,
    TargetUpdate,
    Unit,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values, emit
from servicekit.problems import conflict, invalid, raise_field_errors
from servicekit.schemas import merge_patch

_REQUIRED = frozenset({"metric", "unit", "direction", "target_value", "due_on"})
_REVISION_META = ("reason", "effective_on")

Errors = list[tuple[str, str, str]]  # (field, detail, code)


def check_target(d: dict[str, Any]) -> Errors:
    """What is wrong with a target definition (values in its unit, dates in order)."""
    errors: Errors = []
    unit = Unit(d["unit"])
    for f in ("baseline_value", "target_value"):
        v = d.get(f)
        if v is not None and (why := unit_problem(unit, v)):
            errors.append(
                (f, f"{f} {v:g} does not fit the unit {unit.value}: {why}.", "unit_mismatch")
            )
    if (d.get("baseline_value") is None) != (d.get("baseline_on") is None):
        missing = "baseline_on" if d.get("baseline_on") is None else "baseline_value"
        errors.append(
            (missing, "give baseline_value and baseline_on together", "baseline_incomplete")
        )
    if d.get("baseline_on") and d.get("due_on") and d["baseline_on"] >= d["due_on"]:
        errors.append(
            ("due_on", "the due date must be after the baseline date", "due_before_baseline")
        )
    if unit is Unit.boolean and d.get("direction") == Direction.decrease:
        errors.append(
            (
                "direction",
                "a boolean target is reached by becoming true or false; use increase",
                "unit_mismatch",
            )
        )
    base, goal = d.get("baseline_value"), d.get("target_value")
    if base is not None and goal is not None and unit is not Unit.boolean:
        wrong = (
            goal < base
            if d.get("direction", Direction.increase) == Direction.increase
            else goal > base
        )
        if wrong:
            errors.append(
                (
                    "target_value",
                    "target_value is on the wrong side of the baseline for direction "
                    f"{Direction(d.get('direction', 'increase')).value}",
                    "direction_mismatch",
                )
            )
    return errors


def unit_locked(t: Target, changed: Collection[str]) -> bool:
    """Whether a change would move the unit of a target that already has readings (refused)."""
    return bool(t.reading_count) and "unit" in changed


def spec(t: Target | dict[str, Any]) -> TargetSpec:
    """What the progress rule needs of a target (a row, or a definition kept by a revision)."""
    d = t if isinstance(t, dict) else {f: getattr(t, f) for f in TARGET_FIELDS}

    def day(v: Any) -> date | None:
        return date.fromisoformat(v) if isinstance(v, str) else v

    due = day(d["due_on"])
    assert due is not None
    return TargetSpec(
        unit=Unit(d["unit"]),
        direction=Direction(d["direction"]),
        baseline_value=d.get("baseline_value"),
        baseline_on=day(d.get("baseline_on")),
        target_value=float(d["target_value"]),
        due_on=due,
    )


def progress(
    target: TargetSpec, readings: list[Reading], day: date | None = None
) -> TargetProgress:
    """A target's progress judged from readings (oldest first, none after `day`) as of `day`
    (without one: at the latest reading, the form that is stored)."""
    a = assess(target, [Point(r.value, r.as_of) for r in readings])
    return TargetProgress(
        status=judged_on(a.status, a.assessed_on, target.due_on, day) if day else a.status,
        judged_on=day,
        assessed_on=a.assessed_on,
        latest_value=a.latest_value,
        expected_value=a.expected_value,
        reading_count=a.reading_count,
    )


def target_read(t: Target) -> TargetRead:
    """A target with its stored progress."""
    return target_from(t)


def target_from(t: Any, prefix: str = "") -> TargetRead:
    """A target from anything with its columns as attributes (an ORM row, or a joined Core row
    whose target columns carry `prefix`)."""

    def get(name: str) -> Any:
        return getattr(t, prefix + name)

    day = today()
    stored = get("progress_status")
    return TargetRead(
        **{f: get(f) for f in ("id", "commitment_id", "created_at", "updated_at", *TARGET_FIELDS)},
        progress=TargetProgress(
            # Stored at the latest reading; judged here as of today (no reading is future-dated).
            status=judged_on(
                ProgressStatus(stored) if stored else None,
                get("latest_on"),
                get("due_on"),
                day,
            ),
            judged_on=day,
            assessed_on=get("latest_on"),
            latest_value=get("latest_value"),
            expected_value=get("expected_value"),
            reading_count=get("reading_count") or 0,
        ),
    )


async def recompute_progress(session: AsyncSession, t: Target) -> None:
    """Re-judge a target from its readings and store the result."""
    readings = (await repository.readings_of(session, [t.id]))[t.id]
    p = progress(spec(t), readings)
    values = {
        "progress_status": p.status.value if p.status else None,
        "latest_value": p.latest_value,
        "latest_on": p.assessed_on,
        "expected_value": p.expected_value,
        "reading_count": p.reading_count,
    }
    await repository.set_progress(session, t.id, **values)
    for k, v in values.items():
        # Mirror the plain UPDATE on the loaded object without marking it dirty (no ETag bump).
        set_committed_value(t, k, v)


async def check_references(session: AsyncSession, refs: list[str], prefix: str) -> None:
    """422 for a reference repeated among new targets, 409 for one already taken."""
    seen: set[str] = set()
    for i, ref in enumerate(refs):
        if ref in seen:
            raise invalid(
                f"{prefix}.{i}.reference", f"Target reference {ref!r} is repeated.", "duplicate"
            )
        seen.add(ref)
    taken = await repository.by_references(session, Target, Target.reference, refs)
    if taken:
        raise conflict(f"A target with reference {sorted(taken)[0]!r} already exists.")


async def add_target(
    session: AsyncSession, row: Commitment, body: TargetCreate, principal: Principal
) -> TargetRead:
    """Add a target to a commitment: a revision of the commitment, with its reason."""
    definition = body.model_dump(exclude=set(_REVISION_META))
    raise_field_errors(check_target(definition))
    await check_references(session, [body.reference], "body")
    effective_on = await revisions.effective_on(session, row.id, body.effective_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    t = Target(commitment_id=row.id, **definition, reading_count=0)
    session.add(t)
    await session.flush()
    await repository.refresh_target_counts(session, row.id)
    await revisions.revise(
        session,
        row,
        principal,
        "target_added",
        before,
        snapshot(row, [*targets, t]),
        reason=body.reason,
        effective_on=effective_on,
    )
    read = target_read(t)
    events.record(session, "target.created", t.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read


async def update_target(
    session: AsyncSession, t: Target, body: TargetUpdate, principal: Principal
) -> TargetRead:
    """Apply a merge patch to a target: a revision of its commitment, so a reason is required."""
    values: dict[str, Any] = merge_patch(body, required=_REQUIRED)
    reason = values.pop("reason", None)
    wanted_on = values.pop("effective_on", None)
    changed = {k: v for k, v in values.items() if getattr(t, k) != v}
    if not changed:
        return target_read(t)
    if revisions.target_changes_needing_reason(changed) and not reason:
        raise invalid(
            "body.reason",
            "Changing a target needs a reason; it is kept in the revision history.",
            "reason_required",
        )
    merged = {**{f: getattr(t, f) for f in TARGET_FIELDS}, **changed}
    raise_field_errors(check_target(merged))
    if unit_locked(t, changed):
        raise invalid(
            "body.unit",
            f"The target already has readings in {t.unit}; its unit cannot change.",
            "unit_mismatch",
        )
    first = await repository.earliest_reading_on(session, t.id)
    if first and merged.get("baseline_on") and merged["baseline_on"] > first:
        raise invalid(
            "body.baseline_on",
            f"A reading is dated {first}, before this baseline date.",
            "reading_before_baseline",
        )
    row = await session.get(Commitment, t.commitment_id)
    assert row is not None
    effective_on = await revisions.effective_on(session, row.id, wanted_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    apply_values(t, changed)
    await session.flush()
    await recompute_progress(session, t)
    await repository.refresh_target_counts(session, row.id)
    await revisions.revise(
        session,
        row,
        principal,
        "target_updated",
        before,
        snapshot(row, targets),
        reason=reason,
        effective_on=effective_on,
    )
    read = target_read(t)
    events.record(session, "target.updated", t.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read

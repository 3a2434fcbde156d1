"""Rules of the commitments service. Never commits: the request's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from commitments import repository
from commitments.lifecycle import check_transition
from commitments.models import (
    Commitment,
    Event,
    LineageLink,
    PolicyArea,
    Reading,
    Revision,
    Source,
    Target,
)
from commitments.progress import Point, TargetSpec, assess, unit_problem
from commitments.schemas import (
    CommitmentCreate,
    CommitmentDetail,
    CommitmentRead,
    CommitmentStatus,
    CommitmentUpdate,
    Direction,
    LineageKind,
    LineageLinkCreate,
    LineageLinkRead,
    PolicyAreaCreate,
    PolicyAreaRead,
    PolicyAreaUpdate,
    ReadingCreate,
    ReadingRead,
    SourceCreate,
    SourceRead,
    SourceUpdate,
    TargetCreate,
    TargetProgress,
    TargetRead,
    TargetUpdate,
    Unit,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values, emit, ensure_exists, ensure_unique
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, conflict, invalid, not_found
from servicekit.schemas import merge_patch

_SOURCE_REQUIRED = frozenset({"title", "publisher", "kind"})
_AREA_REQUIRED = frozenset({"name"})
_COMMITMENT_REQUIRED = frozenset(
    {"title", "text", "kind", "policy_area_id", "source_id", "status", "lead_bodies"}
)
_TARGET_REQUIRED = frozenset({"metric", "unit", "direction", "target_value", "due_on"})
# Changing these needs a reason (the "wording, due date or targets").
_REASONED = frozenset({"title", "text", "due_on"})
_REVISION_META = ("reason", "effective_on")
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

Errors = list[tuple[str, str, str]]  # (field, detail, code)


def today() -> date:
    """The current date in UTC: readings may not be dated after it."""
    return utcnow().date()


def validation_problem(errors: list[FieldError], detail: str | None = None) -> ProblemError:
    """One 422 listing every failed field."""
    n = len(errors)
    return ProblemError(
        422,
        "Your request is not valid",
        detail or f"{n} field{'s' if n != 1 else ''} failed validation.",
        type_="/problems/validation-error",
        errors=errors,
    )


def _raise(errors: Errors, prefix: str = "body") -> None:
    if errors:
        raise validation_problem(
            [FieldError(pointer=f"{prefix}.{f}", detail=d, code=c) for f, d, c in errors]
        )


def _event(session: AsyncSession, type_: str, resource_id: uuid.UUID, read: BaseModel) -> None:
    record_event(
        session, Event, type_, type_.split(".", 1)[0], resource_id, read.model_dump(mode="json")
    )


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


# --- sources and policy areas ------------------------------------------------------------------


def _json_values(body: SourceCreate | SourceUpdate) -> dict[str, object]:
    values = body.model_dump(exclude_unset=True)
    if values.get("url") is not None:
        values["url"] = str(values["url"])
    return values


async def create_source(session: AsyncSession, body: SourceCreate) -> SourceRead:
    """Record a new source document."""
    await ensure_unique(session, Source, "source", reference=body.reference)
    values = body.model_dump()
    values["url"] = str(body.url) if body.url else None
    row = Source(**values)
    session.add(row)
    await session.flush()
    return emit(session, Event, "source.created", row, SourceRead)


async def update_source(session: AsyncSession, row: Source, body: SourceUpdate) -> SourceRead:
    """Apply a merge patch to a source."""
    merge_patch(body, required=_SOURCE_REQUIRED)
    if apply_values(row, _json_values(body)):
        await session.flush()
        return emit(session, Event, "source.updated", row, SourceRead)
    return SourceRead.model_validate(row)


async def create_policy_area(session: AsyncSession, body: PolicyAreaCreate) -> PolicyAreaRead:
    """Record a new policy area."""
    await ensure_unique(session, PolicyArea, "policy area", slug=body.slug)
    row = PolicyArea(**body.model_dump())
    session.add(row)
    await session.flush()
    return emit(session, Event, "policy_area.created", row, PolicyAreaRead)


async def update_policy_area(
    session: AsyncSession, row: PolicyArea, body: PolicyAreaUpdate
) -> PolicyAreaRead:
    """Apply a merge patch to a policy area."""
    if apply_values(row, merge_patch(body, required=_AREA_REQUIRED)):
        await session.flush()
        return emit(session, Event, "policy_area.updated", row, PolicyAreaRead)
    return PolicyAreaRead.model_validate(row)


# --- snapshots, diffs and revisions ------------------------------------------------------------


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


async def _effective_on(
    session: AsyncSession, commitment_id: uuid.UUID, wanted: date | None
) -> date:
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


async def _revise(
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


# --- targets: validation and progress ----------------------------------------------------------


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


def _spec(t: Target | dict[str, Any]) -> TargetSpec:
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


def _progress(spec: TargetSpec, readings: list[Reading]) -> TargetProgress:
    a = assess(spec, [Point(r.value, r.as_of) for r in readings])
    return TargetProgress(
        status=a.status,
        assessed_on=a.assessed_on,
        latest_value=a.latest_value,
        expected_value=a.expected_value,
        reading_count=a.reading_count,
    )


def target_read(t: Target) -> TargetRead:
    """A target with its stored progress."""
    return _target_from(t)


def _target_from(t: Any, prefix: str = "") -> TargetRead:
    """A target from anything with its columns as attributes (an ORM row, or a joined Core row
    whose target columns carry `prefix`)."""

    def get(name: str) -> Any:
        return getattr(t, prefix + name)

    return TargetRead(
        **{f: get(f) for f in ("id", "commitment_id", "created_at", "updated_at", *TARGET_FIELDS)},
        progress=TargetProgress(
            status=get("progress_status"),
            assessed_on=get("latest_on"),
            latest_value=get("latest_value"),
            expected_value=get("expected_value"),
            reading_count=get("reading_count") or 0,
        ),
    )


async def recompute_progress(session: AsyncSession, t: Target) -> bool:
    """Re-judge a target from its readings and store the result; whether its status changed."""
    readings = (await repository.readings_of(session, [t.id]))[t.id]
    p = _progress(_spec(t), readings)
    old = t.progress_status
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
    return old != values["progress_status"]


# --- commitments -------------------------------------------------------------------------------


async def current_detail(session: AsyncSession, id: uuid.UUID) -> tuple[CommitmentDetail, int]:
    """The commitment now with its targets, and its version (for the ETag); 404 if unknown."""
    rows = await repository.commitment_with_targets(session, id)
    if not rows:
        raise not_found("commitment", id)
    c = rows[0]
    targets = [_target_from(r, prefix="t_") for r in rows if r.t_id is not None]
    detail = CommitmentDetail(
        **{f: getattr(c, f) for f in _COMMITMENT_READ_FIELDS}, targets=targets, as_of=None
    )
    return detail, c.version


_COMMITMENT_READ_FIELDS = tuple(CommitmentRead.model_fields)


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
        spec = _spec(t)
        targets.append(
            TargetRead(
                **{f: t[f] for f in TARGET_FIELDS},
                id=tid,
                commitment_id=row.id,
                created_at=rows[tid].created_at,
                updated_at=rows[tid].updated_at if rev.number == row.revision else rev.created_at,
                progress=_progress(spec, readings[tid]),
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


async def _check_target_references(session: AsyncSession, refs: list[str], prefix: str) -> None:
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
    _raise(errors)
    await _check_target_references(session, [t.reference for t in body.targets], "body.targets")
    values = body.model_dump(exclude={"targets", "reason"})
    row = Commitment(**values, revision=1, target_count=len(body.targets), off_track_count=0)
    session.add(row)
    await session.flush()
    await repository.replace_lead_bodies(session, row.id, row.lead_bodies)
    targets = [Target(commitment_id=row.id, **t.model_dump()) for t in body.targets]
    session.add_all(targets)
    await session.flush()
    snap = snapshot(row, targets)
    session.add(
        Revision(
            commitment_id=row.id,
            number=1,
            action="created",
            effective_on=row.made_on,
            client_id=principal.client_id,
            organisation=principal.organisation,
            reason=body.reason,
            changes=diff({}, snap),
            snapshot=snap,
        )
    )
    read = emit(session, Event, "commitment.created", row, CommitmentRead)
    for made in targets:
        _event(session, "target.created", made.id, target_read(made))
    return CommitmentDetail(**read.model_dump(), targets=[target_read(m) for m in targets])


async def update_commitment(
    session: AsyncSession, row: Commitment, body: CommitmentUpdate, principal: Principal
) -> CommitmentDetail:
    """Apply a merge patch to a commitment, checking the lifecycle and recording a revision."""
    values: dict[str, Any] = merge_patch(body, required=_COMMITMENT_REQUIRED)
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
    needs_reason = sorted(_REASONED & changed.keys())
    if needs_reason and not reason:
        raise invalid(
            "body.reason",
            f"Changing {', '.join(needs_reason)} needs a reason; it is kept in the revision "
            "history.",
            "reason_required",
        )
    effective_on = await _effective_on(session, row.id, wanted_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    apply_values(row, changed)
    if "lead_bodies" in changed:
        await repository.replace_lead_bodies(session, row.id, row.lead_bodies)
    action = "status_changed" if changed.keys() == {"status"} else "updated"
    await _revise(
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


# --- targets -----------------------------------------------------------------------------------


async def add_target(
    session: AsyncSession, row: Commitment, body: TargetCreate, principal: Principal
) -> TargetRead:
    """Add a target to a commitment: a revision of the commitment, with its reason."""
    definition = body.model_dump(exclude=set(_REVISION_META))
    _raise(check_target(definition))
    await _check_target_references(session, [body.reference], "body")
    effective_on = await _effective_on(session, row.id, body.effective_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    t = Target(commitment_id=row.id, **definition, reading_count=0)
    session.add(t)
    await session.flush()
    await repository.refresh_target_counts(session, row.id)
    await _revise(
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
    _event(session, "target.created", t.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read


async def update_target(
    session: AsyncSession, t: Target, body: TargetUpdate, principal: Principal
) -> TargetRead:
    """Apply a merge patch to a target: a revision of its commitment, so a reason is required."""
    values: dict[str, Any] = merge_patch(body, required=_TARGET_REQUIRED)
    reason = values.pop("reason", None)
    wanted_on = values.pop("effective_on", None)
    changed = {k: v for k, v in values.items() if getattr(t, k) != v}
    if not changed:
        return target_read(t)
    if not reason:
        raise invalid(
            "body.reason",
            "Changing a target needs a reason; it is kept in the revision history.",
            "reason_required",
        )
    merged = {**{f: getattr(t, f) for f in TARGET_FIELDS}, **changed}
    _raise(check_target(merged))
    if t.reading_count and "unit" in changed:
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
    effective_on = await _effective_on(session, row.id, wanted_on)
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    apply_values(t, changed)
    await session.flush()
    await recompute_progress(session, t)
    await repository.refresh_target_counts(session, row.id)
    await _revise(
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
    _event(session, "target.updated", t.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read


# --- readings ----------------------------------------------------------------------------------


def check_reading(t: Target, body: ReadingCreate) -> Errors:
    """What is wrong with a reading for this target."""
    errors: Errors = []
    unit = Unit(t.unit)
    if body.unit is not None and body.unit != unit:
        errors.append(
            (
                "unit",
                f"The target is measured in {unit.value}, not {body.unit.value}.",
                "unit_mismatch",
            )
        )
    elif why := unit_problem(unit, body.value):
        errors.append(
            ("value", f"{body.value:g} does not fit the unit {unit.value}: {why}.", "unit_mismatch")
        )
    if body.as_of > today():
        errors.append(("as_of", "A reading cannot be dated in the future.", "future_date"))
    if t.baseline_on and body.as_of < t.baseline_on:
        errors.append(
            (
                "as_of",
                f"A reading cannot be dated before the baseline ({t.baseline_on}).",
                "reading_before_baseline",
            )
        )
    return errors


async def add_reading(
    session: AsyncSession, t: Target, body: ReadingCreate, principal: Principal
) -> ReadingRead:
    """Record a progress figure and re-judge the target."""
    _raise(check_reading(t, body))
    r = Reading(
        target_id=t.id,
        value=body.value,
        as_of=body.as_of,
        source=body.source,
        evidence_url=str(body.evidence_url) if body.evidence_url else None,
        evidence_submission_id=body.evidence_submission_id,
        client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(r)
    await session.flush()
    await recompute_progress(session, t)
    await repository.refresh_target_counts(session, t.commitment_id)
    read = ReadingRead.model_validate(r)
    _event(session, "reading.created", r.id, read)
    _event(session, "target.progressed", t.id, target_read(t))
    return read


# --- lineage -----------------------------------------------------------------------------------


async def add_link(
    session: AsyncSession, row: Commitment, body: LineageLinkCreate, principal: Principal
) -> LineageLinkRead:
    """Record that a commitment was superseded by, split into or merged into another."""
    successor = await session.get(Commitment, body.successor_id)
    if successor is None:
        raise invalid(
            "body.successor_id", f"No commitment with id {body.successor_id}.", "unknown_reference"
        )
    if await repository.reaches(session, successor.id, row.id):
        raise invalid(
            "body.successor_id",
            f"{successor.reference} already descends from {row.reference} (or is it): the "
            "link would make a cycle.",
            "lineage_cycle",
        )
    existing = await repository.successor_links(session, row.id)
    if any(link.successor_id == successor.id for link in existing):
        raise conflict(f"{row.reference} is already linked to {successor.reference}.")
    if existing and (
        body.kind is not LineageKind.split_into
        or any(link.kind != LineageKind.split_into for link in existing)
    ):
        raise conflict(
            f"{row.reference} already has a successor ({existing[0].kind}); only a split may "
            "have several."
        )
    effective_on = await _effective_on(session, row.id, body.effective_on)
    check_transition(
        CommitmentStatus(row.status),
        CommitmentStatus.superseded,
        due_on=row.due_on,
        today=today(),
        reason=body.reason,
        lineage=True,
    )
    targets = await repository.targets_of(session, row.id)
    before = snapshot(row, targets)
    link = LineageLink(
        kind=body.kind.value,
        predecessor_id=row.id,
        successor_id=successor.id,
        reason=body.reason,
        client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(link)
    row.status = CommitmentStatus.superseded.value
    if body.kind is not LineageKind.split_into:
        row.superseded_by_id = successor.id
    await session.flush()
    await _revise(
        session,
        row,
        principal,
        body.kind.value,
        before,
        snapshot(row, targets),
        reason=body.reason,
        effective_on=effective_on,
    )
    read = LineageLinkRead.model_validate(link)
    _event(session, "lineage_link.created", link.id, read)
    emit(session, Event, "commitment.updated", row, CommitmentRead)
    return read


async def get_commitment(session: AsyncSession, ident: uuid.UUID) -> Commitment:
    """A commitment by id, or 404."""
    row = await session.get(Commitment, ident)
    if row is None:
        raise not_found("commitment", ident)
    return row

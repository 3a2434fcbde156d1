"""Progress readings: a figure for a target on a date, after which the target is re-judged."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import events, repository
from commitments.clock import today
from commitments.models import Reading, Target
from commitments.progress import unit_problem
from commitments.schemas import ReadingCreate, ReadingRead, Unit
from commitments.targets import Errors, recompute_progress, target_read
from servicekit.auth import Principal
from servicekit.problems import raise_field_errors


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
    raise_field_errors(check_reading(t, body))
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
    events.record(session, "reading.created", r.id, read)
    events.record(session, "target.progressed", t.id, target_read(t))
    return read

"""Delivery: a commitment's milestones (its completion is the share met), the responsible body's
self-assessment of its delivery confidence, and the sweep that reports commitments gone overdue.

Self-assessments live here rather than in ratings: they are the government's own account of its
commitment, recorded by the lead body against the commitment it owns, like its progress readings;
the ratings service holds only what the panel and the respondents say about an evaluation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import repository
from commitments.models import Commitment, Event, Milestone, OverdueNotice, SelfAssessment
from commitments.schemas import (
    CommitmentRead,
    MilestoneCreate,
    MilestoneRead,
    MilestoneUpdate,
    SelfAssessmentCreate,
    SelfAssessmentRead,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values, emit
from servicekit.problems import ProblemError, invalid
from servicekit.schemas import merge_patch


def _check_dates(due_on: date, met_on: date | None, today: date) -> None:
    if met_on is not None and met_on > today:
        raise invalid("body.met_on", f"met_on {met_on} is after today ({today}).", "future_date")
    del due_on  # a milestone may be met early or late: any met_on up to today stands


async def add_milestone(
    session: AsyncSession,
    commitment: Commitment,
    body: MilestoneCreate,
    principal: Principal,
    today: date,
) -> MilestoneRead:
    """Add a dated milestone to a commitment."""
    _check_dates(body.due_on, body.met_on, today)
    row = Milestone(
        commitment_id=commitment.id,
        **body.model_dump(),
        client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    return emit(session, Event, "milestone.created", row, MilestoneRead)


async def update_milestone(
    session: AsyncSession, row: Milestone, body: MilestoneUpdate, today: date
) -> MilestoneRead:
    """Apply a merge patch to a milestone (typically marking it met)."""
    values: dict[str, Any] = merge_patch(body, required=frozenset({"title", "due_on"}))
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return MilestoneRead.model_validate(row)
    _check_dates(changed.get("due_on", row.due_on), changed.get("met_on", row.met_on), today)
    apply_values(row, changed)
    await session.flush()
    return emit(session, Event, "milestone.updated", row, MilestoneRead)


async def record_self_assessment(
    session: AsyncSession,
    commitment: Commitment,
    body: SelfAssessmentCreate,
    principal: Principal,
    today: date,
) -> SelfAssessmentRead:
    """Record the responsible body's delivery confidence: only a lead body (or an admin) may."""
    if principal.organisation not in commitment.lead_bodies and not principal.has("admin"):
        leads = ", ".join(commitment.lead_bodies) or "none recorded"
        raise ProblemError(
            403,
            "Forbidden",
            f"Only the commitment's lead bodies ({leads}) assess their own delivery of it; "
            f"{principal.organisation!r} is not one of them.",
            type_="/problems/not-responsible-body",
        )
    if body.assessed_on > today:
        raise invalid(
            "body.assessed_on", f"assessed_on {body.assessed_on} is after today.", "future_date"
        )
    row = SelfAssessment(
        commitment_id=commitment.id,
        **body.model_dump(),
        client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    return emit(session, Event, "self_assessment.created", row, SelfAssessmentRead)


async def sweep_overdue(session: AsyncSession, today: date, batch: int = 500) -> int:
    """Emit `commitment.overdue` for each commitment newly overdue on `today`, once each."""
    emitted = 0
    while rows := await repository.overdue_unnotified(session, today, batch):
        for row in rows:
            assert row.due_on is not None
            session.add(OverdueNotice(commitment_id=row.id, due_on=row.due_on))
            emit(session, Event, "commitment.overdue", row, CommitmentRead)
            emitted += 1
        await session.flush()
    return emitted

"""The accountability columns of the report: per commitment, the government's position beside
the panel's rating, the responsible body's self-assessment beside both, and overdue; for the
evaluation, when its response fell due.

Kept apart from `report.py` (which joins ratings to commitments) so each can change alone; the
report calls `add_to` once it has its rows.
"""

from __future__ import annotations

import asyncio

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.backends.models import PanelResponse, ResponseDeadline, SelfAssessment
from gateway.compose.schemas import EvaluationReport, ReportPosition


def positions(responses: list[PanelResponse]) -> dict[str, ReportPosition]:
    """Each commitment's position: from the latest response that addresses it, by an item or
    as a response to its rating (a later received date wins; on a tie, the later recorded)."""
    found: dict[str, ReportPosition] = {}
    for r in sorted(responses, key=lambda r: r.received_on):
        if r.commitment_id is not None and r.position:
            found[str(r.commitment_id)] = ReportPosition(
                response_id=r.id,
                respondent=r.respondent,
                position=r.position,
                text=r.text,
                received_on=r.received_on,
            )
        for item in r.items:
            found[str(item.commitment_id)] = ReportPosition(
                response_id=r.id,
                respondent=r.respondent,
                position=item.position,
                text=item.text,
                received_on=r.received_on,
            )
    return found


async def add_to(
    report: EvaluationReport, backends: Backends, ident: str, headers: dict[str, str]
) -> None:
    """Fill in positions, self-assessments and the response deadline; a service that cannot
    answer leaves its columns empty and is named in `missing`."""
    ids = [str(c.id) for a in report.policy_areas for c in a.commitments]
    got = await asyncio.gather(
        backends.ratings.all_responses(ident, headers=headers),
        backends.ratings.response_deadline(ident, headers=headers),
        backends.commitments.latest_self_assessments(ids, headers=headers),
        return_exceptions=True,
    )
    for result in got:
        if isinstance(result, BaseException) and not isinstance(
            result, ServiceUnavailableError | ServiceError
        ):
            raise result
    responses, deadline, assessed = got
    by_commitment = positions(responses) if isinstance(responses, list) else {}
    if not isinstance(responses, list) or not isinstance(deadline, ResponseDeadline | None):
        report.missing.append("responses")
    else:
        report.response_deadline = deadline
    latest: dict[str, SelfAssessment] = assessed if isinstance(assessed, dict) else {}
    if not isinstance(assessed, dict) and "commitments" not in report.missing:
        report.missing.append("self_assessments")
    for area in report.policy_areas:
        for c in area.commitments:
            c.government_position = by_commitment.get(str(c.id))
            c.self_assessment = latest.get(str(c.id))

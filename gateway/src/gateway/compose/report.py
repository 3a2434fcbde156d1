"""The evaluation report: one read composed from the ratings and commitments services."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.backends.models import (
    Commitment,
    Evaluation,
    PolicyArea,
    Rating,
    RatingsSummary,
    ReportAgreement,
)
from gateway.compose import accountability
from gateway.compose.schemas import EvaluationReport, ReportCommitment, ReportPolicyArea
from servicekit.csvsafe import cell

NO_AREA = "(no policy area)"


def _raise_first(*results: object) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _rationales(rating: Rating | None) -> dict[str, str]:
    """The panel's reasons by dimension (the service's `rationales`, kept whole by `Rating`)."""
    found = (rating.model_extra or {}).get("rationales") if rating else None
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if v}


async def compose(backends: Backends, ident: str, headers: dict[str, str]) -> EvaluationReport:
    """Fetch and join; ratings failing fails the report, commitments failing only thins it."""
    got = await asyncio.gather(
        backends.ratings.evaluation(ident, headers=headers),
        backends.ratings.summary(ident, headers=headers),
        backends.ratings.agreement(ident, headers=headers),
        return_exceptions=True,
    )
    # Nothing to report without ratings: its 404 (or other answer) and outages go to the caller.
    _raise_first(*got[:2])
    evaluation, summary, agreed = got
    # Agreement is the chair's alone before publication (403 to anyone else): leave it out then.
    agreement = agreed if isinstance(agreed, ReportAgreement) else None
    if isinstance(agreed, BaseException) and not isinstance(
        agreed, ServiceError | ServiceUnavailableError
    ):
        raise agreed
    assert isinstance(evaluation, Evaluation)
    assert isinstance(summary, RatingsSummary)

    rated = {str(c.commitment_id): c for c in summary.commitments}
    order = [str(i) for i in evaluation.commitment_ids or rated]
    area_ids = list(
        dict.fromkeys(str(c.policy_area_id) for c in rated.values() if c.policy_area_id)
    )
    joined = await asyncio.gather(
        backends.commitments.commitments_by_id(order, headers=headers),
        backends.commitments.policy_areas_by_id(area_ids, headers=headers),
        return_exceptions=True,
    )
    commitments: dict[str, Commitment] = {}
    areas: dict[str, PolicyArea] = {}
    missing: list[str] = []
    for result in joined:
        if isinstance(result, ServiceUnavailableError | ServiceError):
            # Ratings alone still make a report; say what is missing rather than fail.
            missing = ["commitments"]
        elif isinstance(result, BaseException):
            raise result
    if not missing:
        found_commitments, found_areas = joined
        assert isinstance(found_commitments, dict)
        assert isinstance(found_areas, dict)
        commitments, areas = found_commitments, found_areas

    area_overall = {str(a.policy_area_id): a.overall for a in summary.policy_areas}
    grouped: dict[str | None, ReportPolicyArea] = {}
    for cid in order:
        entry = rated.get(cid)
        known = commitments.get(cid)
        area = (entry and entry.policy_area_id) or (known and known.policy_area_id)
        area_id = str(area) if area else None
        rating = entry.rating if entry else None
        item = ReportCommitment(
            id=uuid.UUID(cid),
            reference=known.reference if known else cid,
            title=known.title if known else cid,
            levels=rating.levels if rating else {},
            rationales=_rationales(rating),
            overall=rating.overall if rating else None,
            status=known.status if known else None,
            overdue=known.overdue if known else None,
        )
        if area_id not in grouped:
            named = areas.get(area_id) if area_id else None
            grouped[area_id] = ReportPolicyArea(
                id=uuid.UUID(area_id) if area_id else None,
                slug=named.slug if named else None,
                name=named.name if named else (area_id or NO_AREA),
                overall=area_overall.get(area_id) if area_id else None,
                commitments=[],
            )
        grouped[area_id].commitments.append(item)
    report = EvaluationReport(
        evaluation=evaluation,
        policy_areas=list(grouped.values()),
        overall=summary.overall,
        agreement=agreement,
        missing=missing,
    )
    await accountability.add_to(report, backends, ident, headers)
    return report


def to_csv(report: EvaluationReport) -> str:
    """One row per commitment in the evaluation's order, levels as codes; then, each after an
    empty row, the panel's agreement and the published version."""
    dimensions = [d.code for d in report.evaluation.dimensions]
    rows = {str(c.id): (a.name, c) for a in report.policy_areas for c in a.commitments}
    order = [str(i) for i in report.evaluation.commitment_ids or rows if str(i) in rows]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "policy_area",
            "commitment_reference",
            "commitment_title",
            *dimensions,
            "overall",
            *ACCOUNTABILITY_COLUMNS,
        ]
    )
    for ident in order:
        area_name, c = rows[ident]
        writer.writerow(
            [
                *map(cell, (area_name, c.reference, c.title)),
                *(c.levels.get(d, "") for d in dimensions),
                c.overall.level if c.overall else "",
                *map(cell, accountability_cells(c)),
            ]
        )
    _agreement_rows(writer, report)
    if report.evaluation.version is not None:
        # Which published version this is: a correction publishes the next one.
        writer.writerow([])
        writer.writerow(["version", report.evaluation.version])
    return out.getvalue()


# After the rating columns, so a reader of the older columns by position is undisturbed.
ACCOUNTABILITY_COLUMNS = (
    "status",
    "overdue",
    "government_position",
    "respondent",
    "self_assessment",
    "self_assessed_on",
)


def accountability_cells(c: ReportCommitment) -> list[str]:
    """The accountability columns of one row: delivery, the position, the self-assessment."""
    p, a = c.government_position, c.self_assessment
    return [
        c.status or "",
        "" if c.overdue is None else str(c.overdue).lower(),
        p.position if p else "",
        p.respondent if p else "",
        a.confidence if a else "",
        a.assessed_on.isoformat() if a else "",
    ]


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _agreement_rows(writer: Any, report: EvaluationReport) -> None:
    """After one empty row, the panel's agreement: a header, the whole evaluation, each
    dimension, and the sentence on how to read it (or that no scores were recorded)."""
    agreement = report.agreement
    if agreement is None:
        return
    writer.writerow([])
    writer.writerow(
        ["agreement", "dimension", "alpha_ordinal", "exact_agreement", "raters", "units"]
    )
    parts = [("(all dimensions)", agreement.overall), *agreement.dimensions.items()]
    for name, f in parts:
        writer.writerow(
            ["agreement", name, _figure(f.alpha), _figure(f.exact_agreement), f.raters, f.units]
        )
    writer.writerow(["how_to_read", agreement.how_to_read])


def _q(params: list[str]) -> float:
    for p in params:
        name, _, value = p.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def negotiate(accept: str | None) -> str | None:
    """`application/json` or `text/csv` per `Accept` (JSON on a tie); None if neither."""
    if not accept:
        return "application/json"
    best = {"application/json": 0.0, "text/csv": 0.0}
    for item in accept.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = _q(params)
        for offer in best:
            kind = offer.split("/")[0]
            if media in (offer, f"{kind}/*", "*/*"):
                best[offer] = max(best[offer], q)
    choice = max(best, key=lambda k: (best[k], k == "application/json"))
    return choice if best[choice] > 0 else None

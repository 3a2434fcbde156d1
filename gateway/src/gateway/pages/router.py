"""The public pages: home, evaluation, commitment scorecard, evidence. HTML only, no token.

Each page is built from the same composed reads the API serves (the report and the scorecard)
and the services' public lists, so a page never shows what the API would not. A backend that is
down costs only its part of the page, named in a banner.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from gateway.backends import ServiceError, ServiceUnavailableError
from gateway.backends.models import Reading, Target
from gateway.compose import pages as reads
from gateway.compose import report, scorecard
from gateway.compose.schemas import EvaluationReport
from gateway.dependencies import backends_of
from gateway.pages.chart import Point, Series, render
from gateway.pages.render import fmt, page
from gateway.pages.words import long_date, missing_words
from servicekit.jsonutil import dumps

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

EVALUATIONS_SHOWN = 200


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def not_found(request: Request, detail: str) -> HTMLResponse:
    """A proper HTML 404 page."""
    return page(request, "not_found.html", {"title": "Page not found", "detail": detail}, 404)


def unavailable(request: Request, what: str) -> HTMLResponse:
    """A 503 page when the part that a page is about cannot be reached."""
    return page(
        request,
        "unavailable.html",
        {"title": "Unavailable", "detail": f"The {what} could not be loaded."},
        503,
    )


@router.get("/", name="page_home", operation_id="page_home", summary="Home page")
async def home(request: Request) -> Response:
    """Evaluations, published first, with their overall ratings."""
    missing: list[str] = []
    rows = await reads.evaluations(backends_of(request), EVALUATIONS_SHOWN, missing)
    evaluations = [
        {**e.model_dump(mode="json"), "overall": o.model_dump(mode="json") if o else None}
        for e, o in rows
    ]
    return page(
        request,
        "home.html",
        {
            "title": "Evaluations",
            "section": "evaluations",
            "evaluations": evaluations,
            "evaluations_unavailable": bool(missing),
            "missing": missing,
            "api_path": "/v1/evaluations",
        },
    )


async def _report(request: Request, ident: str) -> EvaluationReport | Response:
    try:
        return await report.compose(backends_of(request), ident, {})
    except ServiceError as exc:
        if exc.status_code == 404:
            return not_found(request, "There is no evaluation at this address.")
        raise
    except ServiceUnavailableError:
        return unavailable(request, "evaluation")


@router.get(
    "/evaluations/{ident}",
    name="page_evaluation",
    operation_id="page_evaluation",
    summary="Evaluation page",
)
async def evaluation_page(request: Request, ident: str) -> Response:
    """The ratings table grouped by policy area, as the panel published it."""
    if _uuid(ident) is None:
        return not_found(request, "There is no evaluation at this address.")
    composed = await _report(request, ident)
    if isinstance(composed, Response):
        return composed
    missing = list(composed.missing)
    _, to_evaluation = await reads.responses(backends_of(request), ident)
    return page(
        request,
        "evaluation.html",
        {
            "title": composed.evaluation.title,
            "section": "evaluations",
            "report": composed.model_dump(mode="json"),
            "evaluation_responses": [r.model_dump(mode="json") for r in to_evaluation],
            "missing": missing_words(missing),
            "api_path": f"/v1/evaluations/{ident}/report",
        },
    )


@router.get(
    "/evaluations/{ident}/report.{fmt}",
    name="page_report_download",
    operation_id="page_report_download",
    summary="Report download",
)
async def report_download(request: Request, ident: str, fmt: str) -> Response:
    """The report as a file (CSV or JSON), for the download links."""
    if _uuid(ident) is None or fmt not in ("csv", "json"):
        return not_found(request, "There is no such download.")
    composed = await _report(request, ident)
    if isinstance(composed, Response):
        return composed
    name = f"scrutiny-evaluation-{ident}.{fmt}"
    if fmt == "csv":
        body: bytes = report.to_csv(composed).encode()
        media = "text/csv; charset=utf-8"
    else:
        body = dumps(composed.model_dump(mode="json"))
        media = "application/json"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _chart(target: Target, readings: list[Reading] | None) -> str:
    """The SVG for one target (its text equivalent is the readings table beside it)."""
    baseline = (
        Point(target.baseline_on, target.baseline_value)
        if target.baseline_on and target.baseline_value is not None
        else None
    )
    promise = f"{fmt(target.target_value, target.unit)} by {long_date(target.due_on)}"
    return render(
        Series(
            key=str(target.id),
            title=f"{target.metric}: readings against the trajectory to {promise}",
            unit=target.unit,
            baseline=baseline,
            target=Point(target.due_on, target.target_value),
            readings=[Point(r.as_of, r.value) for r in readings or []],
        )
    )


def _as_of(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


COMMITMENT_STATUSES = (
    "not_started",
    "in_progress",
    "met",
    "partially_met",
    "missed",
    "superseded",
    "withdrawn",
)


def _index_filters(
    source: str | None, area: str | None, status: str | None, overdue: str | None, q: str | None
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The index's filters as the form shows them, and as the API's query (values the API would
    refuse are dropped: an unknown id or status filters nothing rather than failing)."""
    shown = {
        "source": source or "",
        "area": area or "",
        "status": status if status in COMMITMENT_STATUSES else "",
        "overdue": "true" if overdue == "true" else "",
        "q": (q or "").strip(),
    }
    params: list[tuple[str, str]] = []
    if source and _uuid(source):
        params.append(("source_id", source))
    if area and _uuid(area):
        params.append(("policy_area_id", area))
    if shown["status"]:
        params.append(("status", shown["status"]))
    if shown["overdue"]:
        params.append(("overdue", "true"))
    if shown["q"]:
        params.append(("q", shown["q"]))
    return shown, params


@router.get(
    "/commitments",
    name="page_commitments",
    operation_id="page_commitments",
    summary="Commitments index page",
)
async def commitments_index(
    request: Request,
    source: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Every commitment, filtered by source, policy area, status and overdue, and searched."""
    backends = backends_of(request)
    missing: list[str] = []
    shown, params = _index_filters(source, area, status, overdue, q)
    (sources, areas), listed = await asyncio.gather(
        reads.sources_and_areas(backends, missing),
        reads.commitments_page(backends, params, page_token, missing),
    )
    query = urlencode([(k, v) for k, v in shown.items() if v])
    return page(
        request,
        "commitments.html",
        {
            "title": "Commitments",
            "section": "commitments",
            "items": [c.model_dump(mode="json") for c in listed.items],
            "next_page_token": listed.next_page_token,
            "state": listed.state,
            "page_token": page_token,
            "filters": shown,
            "query": query,
            "statuses": COMMITMENT_STATUSES,
            "sources": [x.model_dump(mode="json") for x in sorted(sources, key=lambda x: x.title)],
            "areas": [a.model_dump(mode="json") for a in sorted(areas, key=lambda a: a.name)],
            "source_names": {str(x.id): x.title for x in sources},
            "area_names": {str(a.id): a.name for a in areas},
            "missing": missing,
            "api_path": "/v1/commitments" + (f"?{urlencode(params)}" if params else ""),
        },
    )


@router.get(
    "/commitments/{ident}",
    name="page_scorecard",
    operation_id="page_scorecard",
    summary="Commitment scorecard page",
)
async def scorecard_page(
    request: Request, ident: str, as_of: Annotated[str | None, Query(max_length=10)] = None
) -> Response:
    """Wording, targets with charts, rating history, published evidence and revisions."""
    if _uuid(ident) is None:
        return not_found(request, "There is no commitment at this address.")
    backends = backends_of(request)
    try:
        composed = await scorecard.compose(
            backends, ident, {}, float(request.app.state.settings.compose_timeout_s)
        )
    except ServiceError as exc:
        if exc.status_code == 404:
            return not_found(request, "There is no commitment at this address.")
        raise
    missing: list[str] = list(composed.missing)
    commitment = composed.commitment
    targets = [(t.target, t.readings) for t in composed.targets]
    as_of_date = _as_of(as_of)
    as_of_state = "bad_date" if as_of and as_of_date is None else None
    if as_of_date and commitment is not None:
        then, as_of_state = await reads.commitment_as_of(backends, ident, as_of_date, missing)
        if then is not None:
            commitment = then.commitment
            # Readings are not versioned: the as-of view shows the targets as they were set.
            targets = [(t, []) for t in then.targets]
    revisions = await reads.revisions(backends, ident, missing)
    source = None
    source_id = (commitment.model_extra or {}).get("source_id") if commitment else None
    if source_id:
        # For the reference's explanation and the link to its source's commitments; optional.
        sources = await reads.optional(backends.commitments.sources(), [], "sources")
        source = next((x for x in sources or [] if str(x.id) == str(source_id)), None)
    return page(
        request,
        "scorecard.html",
        {
            "title": commitment.title if commitment else "Commitment",
            "section": "commitments",
            "commitment": commitment.model_dump(mode="json") if commitment else None,
            "targets": [
                {
                    "target": t.model_dump(mode="json"),
                    "readings": None if rs is None else [r.model_dump(mode="json") for r in rs],
                }
                for t, rs in targets
            ],
            "charts": [_chart(t, rs) for t, rs in targets],
            "ratings": [r.model_dump(mode="json") for r in composed.ratings],
            "positions": {
                str(p.evaluation_id): p.model_dump(mode="json") for p in composed.positions
            },
            "self_assessments": [a.model_dump(mode="json") for a in composed.self_assessments],
            "completion": (commitment.model_extra or {}).get("completion") if commitment else None,
            "evidence": [s.model_dump(mode="json") for s in composed.evidence],
            "revisions": [r.model_dump(mode="json") for r in revisions],
            "as_of": as_of_date.isoformat() if as_of_date else as_of,
            "as_of_state": as_of_state,
            "source": source.model_dump(mode="json") if source else None,
            "parts_missing": list(composed.missing),
            "missing": missing_words(missing),
            "api_path": f"/v1/commitments/{ident}/scorecard",
        },
    )


@router.get(
    "/evidence", name="page_evidence", operation_id="page_evidence", summary="Evidence list page"
)
async def evidence_page(
    request: Request,
    q: Annotated[str | None, Query(max_length=200)] = None,
    stance: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    commitment_id: Annotated[str | None, Query(max_length=40)] = None,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Published evidence with search and filters (the same public view as the API)."""
    missing: list[str] = []
    listed = await reads.published_evidence(
        backends_of(request),
        missing,
        q=q,
        stance=stance,
        kind=kind,
        commitment_id=commitment_id if commitment_id and _uuid(commitment_id) else None,
        page_token=page_token,
    )
    return page(
        request,
        "evidence_list.html",
        {
            "title": "Published evidence",
            "section": "evidence",
            "items": [s.model_dump(mode="json") for s in listed.items],
            "next_page_token": listed.next_page_token,
            "state": listed.state,
            "page_token": page_token,
            "api_path": "/v1/submissions?status=published",
            "filters": {
                "q": q or "",
                "stance": stance or "",
                "kind": kind or "",
                "commitment_id": commitment_id or "",
            },
            "missing": missing,
        },
    )


@router.get(
    "/evidence/{ident}",
    name="page_submission",
    operation_id="page_submission",
    summary="Evidence page",
)
async def submission_page(request: Request, ident: str) -> Response:
    """One published submission (redactions and anonymity exactly as the public API shows)."""
    if _uuid(ident) is None:
        return not_found(request, "There is no published evidence at this address.")
    try:
        item = await reads.published_submission(backends_of(request), ident)
    except ServiceError as exc:
        if exc.status_code == 404:
            return not_found(request, "There is no published evidence at this address.")
        raise
    except ServiceUnavailableError:
        return unavailable(request, "evidence")
    ids = [str(c) for c in getattr(item, "commitment_ids", None) or []]
    named = await reads.optional(
        backends_of(request).commitments.commitments_by_id(ids), [], "commitments"
    )
    shown = item.model_dump(mode="json")
    shown["commitment_titles"] = {k: c.title for k, c in (named or {}).items()}
    return page(
        request,
        "submission.html",
        {
            "title": item.title,
            "section": "evidence",
            "item": shown,
            "api_path": f"/v1/submissions/{ident}",
        },
    )

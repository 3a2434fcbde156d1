"""The public pages: home, evaluation, commitment scorecard, evidence. HTML only, no token.

Each page is built from the same composed reads the API serves (the report and the scorecard)
and the services' public lists, so a page never shows what the API would not. A backend that is
down costs only its part of the page, named in a banner.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from gateway import report, scorecard
from gateway.clients import Backends, ServiceError, ServiceUnavailableError
from gateway.pages.chart import Point, Series, render
from gateway.pages.render import page
from gateway.schemas import EvaluationReport
from servicekit.jsonutil import dumps

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

EVALUATIONS_SHOWN = 200
STATUS_ORDER = {"published": 0, "in_review": 1, "draft": 2, "withdrawn": 3}


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


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


async def _optional(coro: Any, missing: list[str], part: str) -> Any:
    """A secondary read: on failure the page goes on without it and names it as missing."""
    try:
        return await coro
    except (ServiceUnavailableError, ServiceError):
        missing.append(part)
        return None


@router.get("/", name="page_home", operation_id="page_home", summary="Home page")
async def home(request: Request) -> Response:
    """Evaluations, published first, with their overall ratings."""
    backends = _backends(request)
    missing: list[str] = []
    listed = await _optional(
        backends.ratings.get_json("/v1/evaluations", params={"page_size": EVALUATIONS_SHOWN}),
        missing,
        "evaluations (ratings service)",
    )
    evaluations: list[dict[str, Any]] = (listed or {}).get("items", [])
    summaries = await asyncio.gather(
        *(_optional(backends.ratings.summary(e["id"]), [], "summary") for e in evaluations)
    )
    for e, s in zip(evaluations, summaries, strict=True):
        e["overall"] = (s or {}).get("overall")
    evaluations.sort(
        key=lambda e: (STATUS_ORDER.get(e.get("status", ""), 9), str(e.get("published_on") or ""))
    )
    return page(
        request,
        "home.html",
        {
            "title": "Evaluations",
            "section": "evaluations",
            "evaluations": evaluations,
            "missing": missing,
        },
    )


async def _report(request: Request, ident: str) -> EvaluationReport | Response:
    try:
        return await report.compose(_backends(request), ident, {})
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
    responses_listed = await _optional(
        _backends(request).ratings.get_json(f"/v1/evaluations/{ident}/responses"),
        [],
        "responses",
    )
    by_rating: dict[str, list[dict[str, Any]]] = {}
    to_evaluation: list[dict[str, Any]] = []
    for r in (responses_listed or {}).get("items", []):
        if r.get("commitment_id"):
            by_rating.setdefault(str(r["commitment_id"]), []).append(r)
        else:
            to_evaluation.append(r)
    return page(
        request,
        "evaluation.html",
        {
            "title": composed.evaluation.get("title", "Evaluation"),
            "section": "evaluations",
            "report": composed.model_dump(mode="json"),
            "responses": by_rating,
            "evaluation_responses": to_evaluation,
            "missing": [f"{m} service" for m in missing],
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


def _chart(target: dict[str, Any], readings: list[dict[str, Any]] | None) -> str:
    """The SVG for one target (its text equivalent is the readings table beside it)."""
    baseline = (
        Point(date.fromisoformat(target["baseline_on"]), float(target["baseline_value"]))
        if target.get("baseline_on") and target.get("baseline_value") is not None
        else None
    )
    return render(
        Series(
            title=f"{target['metric']}: readings against the trajectory to the target",
            unit=str(target.get("unit", "")),
            baseline=baseline,
            target=Point(date.fromisoformat(target["due_on"]), float(target["target_value"])),
            readings=[
                Point(date.fromisoformat(r["as_of"]), float(r["value"])) for r in readings or []
            ],
        )
    )


def _as_of(value: str | None) -> str | None:
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


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
    backends = _backends(request)
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
    targets = [t.model_dump(mode="json") for t in composed.targets]
    as_of_date = _as_of(as_of)
    if as_of_date and commitment is not None:
        then = await _optional(
            backends.commitments.get_json(f"/v1/commitments/{ident}", params={"as_of": as_of_date}),
            missing,
            "wording as of that date",
        )
        if then is not None:
            commitment = then
            # Readings are not versioned: the as-of view shows the targets as they were set.
            targets = [{"target": t, "readings": []} for t in then.get("targets", [])]
    revisions = await _optional(
        backends.commitments.get_json(
            f"/v1/commitments/{ident}/revisions", params={"page_size": 200}
        ),
        missing,
        "history of changes",
    )
    return page(
        request,
        "scorecard.html",
        {
            "title": (commitment or {}).get("title", "Commitment"),
            "section": "evaluations",
            "commitment": commitment,
            "targets": targets,
            "charts": [_chart(t["target"], t.get("readings")) for t in targets],
            "ratings": [r.model_dump(mode="json") for r in composed.ratings],
            "evidence": composed.evidence,
            "revisions": (revisions or {}).get("items", []),
            "as_of": as_of_date,
            "missing": missing,
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
    params: dict[str, Any] = {"page_size": 25, "status": "published"}
    for key, value in (("q", q), ("stance", stance), ("kind", kind), ("page_token", page_token)):
        if value:
            params[key] = value
    if commitment_id and _uuid(commitment_id):
        params["commitment_id"] = commitment_id
    missing: list[str] = []
    try:
        listed = await _backends(request).evidence.get_json("/v1/submissions", params=params)
    except ServiceUnavailableError:
        listed, missing = {"items": [], "next_page_token": None}, ["evidence service"]
    except ServiceError:
        listed = {"items": [], "next_page_token": None}
    return page(
        request,
        "evidence_list.html",
        {
            "title": "Published evidence",
            "section": "evidence",
            "items": listed.get("items", []),
            "next_page_token": listed.get("next_page_token"),
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
        item = await _backends(request).evidence.get_json(f"/v1/submissions/{ident}")
    except ServiceError as exc:
        if exc.status_code == 404:
            return not_found(request, "There is no published evidence at this address.")
        raise
    except ServiceUnavailableError:
        return unavailable(request, "evidence")
    return page(
        request,
        "submission.html",
        {"title": item.get("title", "Evidence"), "section": "evidence", "item": item},
    )

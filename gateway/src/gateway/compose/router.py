"""Composed reads: the evaluation report and the commitment scorecard."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.compose import report, scorecard
from gateway.compose.schemas import EvaluationReport, Scorecard
from gateway.dependencies import BackendsDep, SettingsDep
from servicekit.auth import OptionalPrincipal
from servicekit.etag import content_etag, not_modified
from servicekit.jsonutil import dumps
from servicekit.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get(
    "/evaluations/{id}/report",
    operation_id="get_evaluation_report",
    summary="Get an evaluation report",
    response_model=EvaluationReport,
    responses={
        200: {"description": "The report (`Accept: text/csv` gives the CSV, as `report.csv`)."},
        304: {"description": "Not modified: the `If-None-Match` ETag is the current one."},
        **problem_responses(404, 406, 422, 502, 503, 504),
    },
)
async def get_evaluation_report(id: uuid.UUID, request: Request, backends: BackendsDep) -> Response:
    """An evaluation with each commitment's ratings grouped by policy area, the area and overall
    ratings, in evaluation order. If the commitments service is down the report still answers,
    with ids in place of titles and `missing: ["commitments"]`.

    Answers carry an `ETag`; send it back in `If-None-Match` to get `304 Not Modified` while
    the report is unchanged. A published evaluation's complete report, as anyone may read it,
    is cacheable (`Cache-Control: public, max-age=30`) and may be up to that old (send
    `Cache-Control: no-cache` to have it composed afresh); drafts and reports read with a token
    are `private, no-cache`."""
    media = report.negotiate(request.headers.get("accept"))
    if media is None:
        raise ProblemError(
            406,
            "Not Acceptable",
            "The report is available as application/json or text/csv.",
            type_="/problems/not-acceptable",
        )
    return await _report(id, request, backends, media)


@router.get(
    "/evaluations/{id}/report.csv",
    operation_id="get_evaluation_report_csv",
    summary="Get an evaluation report as CSV",
    response_class=Response,
    responses={
        200: {
            "description": "The report as CSV: one row per commitment, then the area and "
            "overall rows (the table the Expert Panel publishes).",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "policy_area,commitment_reference,commitment_title,"
                    "commitment_met,funding_and_resource,impact,appropriateness,overall\r\n",
                }
            },
        },
        304: {"description": "Not modified: the `If-None-Match` ETag is the current one."},
        **problem_responses(404, 422, 502, 503, 504),
    },
)
async def get_evaluation_report_csv(
    id: uuid.UUID, request: Request, backends: BackendsDep
) -> Response:
    """The evaluation report as CSV (`text/csv`), cached and revalidated as the JSON one is."""
    return await _report(id, request, backends, "text/csv")


async def _report(id: uuid.UUID, request: Request, backends: Backends, media: str) -> Response:
    # The caller's token goes along, so whatever the services let it see is what it gets.
    authorization = request.headers.get("authorization")
    cache: ReportCache = request.app.state.report_cache
    # `Cache-Control: no-cache` from the caller: compose afresh (RFC 9111 §5.2.1.4).
    fresh = "no-cache" in request.headers.get("cache-control", "")
    composed = None if authorization or fresh else cache.get(id)
    if composed is None:
        try:
            composed = await report.compose(
                backends, str(id), {"Authorization": authorization} if authorization else {}
            )
        except ServiceError as exc:
            return exc.to_response()
        except ServiceUnavailableError as exc:
            raise exc.problem from exc
        # Only what anyone may see, complete and no longer changing, is shared between callers.
        public = not authorization and not composed.missing and _published(composed)
        if public:
            cache.put(id, composed)
    else:
        public = True
    headers = {
        "Vary": "Accept, Authorization",
        "Cache-Control": f"public, max-age={int(cache.ttl_s)}"
        if public and cache.ttl_s
        else "private, no-cache",
    }
    if media == "text/csv":
        body = report.to_csv(composed).encode()
        media_type = "text/csv; charset=utf-8"
        headers["Content-Disposition"] = f'inline; filename="evaluation-{id}-report.csv"'
    else:
        body = dumps(composed.model_dump(mode="json"))
        media_type = "application/json"
    headers["ETag"] = content_etag(body)
    if not_modified(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _published(composed: EvaluationReport) -> bool:
    return composed.evaluation.status == "published"


class ReportCache:
    """Composed reports of published evaluations, kept `ttl_s` per replica (anonymous reads)."""

    def __init__(self, ttl_s: float, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[uuid.UUID, tuple[float, EvaluationReport]] = OrderedDict()

    def get(self, id: uuid.UUID) -> EvaluationReport | None:
        """The cached report, if still fresh."""
        hit = self._entries.get(id)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return None
        return hit[1]

    def put(self, id: uuid.UUID, composed: EvaluationReport) -> None:
        """Keep a report (the least recently stored goes first when full)."""
        if self.ttl_s <= 0:
            return
        self._entries[id] = (time.monotonic(), composed)
        self._entries.move_to_end(id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


@router.get(
    "/commitments/{id}/scorecard",
    operation_id="get_commitment_scorecard",
    summary="Get a commitment's scorecard",
    tags=["reports"],
    response_model=Scorecard,
    responses=problem_responses(401, 404, 422),
)
async def get_commitment_scorecard(
    id: uuid.UUID,
    request: Request,
    backends: BackendsDep,
    settings: SettingsDep,
    _caller: OptionalPrincipal,
) -> Response:
    """A commitment, its targets with their progress and readings, its rating in every
    evaluation, and the published evidence about it, fetched from all three services at once.
    With a service down, slow or failing it still answers 200 with the other parts and names
    the ones it could not fetch in `missing`; a commitment the commitments service does not
    know is a 404."""
    headers = {"Authorization": a} if (a := request.headers.get("authorization")) else {}
    try:
        card = await scorecard.compose(backends, str(id), headers, settings.compose_timeout_s)
    except ServiceError as exc:
        return exc.to_response()
    return Response(dumps(card.model_dump(mode="json")), media_type="application/json")

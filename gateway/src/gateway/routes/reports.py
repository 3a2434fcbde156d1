"""Composed reads: the evaluation report and the commitment scorecard."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway import report, scorecard
from gateway.clients import ServiceError, ServiceUnavailableError
from gateway.dependencies import BackendsDep, SettingsDep
from gateway.schemas import EvaluationReport, Scorecard
from servicekit.auth import OptionalPrincipal
from servicekit.jsonutil import dumps
from servicekit.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get(
    "/evaluations/{id}/report",
    operation_id="get_evaluation_report",
    summary="Get an evaluation report",
    response_model=EvaluationReport,
    responses={
        200: {
            "description": "The report as JSON, or as CSV with `Accept: text/csv`.",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "policy_area,commitment_reference,commitment_title,"
                    "commitment_met,funding_and_resource,impact,appropriateness,overall\r\n",
                }
            },
        },
        **problem_responses(404, 406, 422, 502, 503, 504),
    },
)
async def get_evaluation_report(id: uuid.UUID, request: Request, backends: BackendsDep) -> Response:
    """An evaluation with each commitment's ratings grouped by policy area, the area and overall
    ratings, in evaluation order. If the commitments service is down the report still answers,
    with ids in place of titles and `missing: ["commitments"]`."""
    media = report.negotiate(request.headers.get("accept"))
    if media is None:
        raise ProblemError(
            406,
            "Not Acceptable",
            "The report is available as application/json or text/csv.",
            type_="/problems/not-acceptable",
        )
    # The caller's token goes along, so whatever the services let it see is what it gets.
    headers = {"Authorization": a} if (a := request.headers.get("authorization")) else {}
    try:
        composed = await report.compose(backends, str(id), headers)
    except ServiceError as exc:
        return exc.to_response()
    except ServiceUnavailableError as exc:
        raise exc.problem from exc
    if media == "text/csv":
        return Response(
            report.to_csv(composed),
            media_type="text/csv; charset=utf-8",
            headers={
                "Vary": "Accept",
                "Content-Disposition": f'inline; filename="evaluation-{id}-report.csv"',
            },
        )
    return Response(
        dumps(composed.model_dump(mode="json")),
        media_type="application/json",
        headers={"Vary": "Accept"},
    )


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

"""Composed reads: the evaluation report."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway import report
from gateway.clients import ServiceError, ServiceUnavailableError
from gateway.dependencies import BackendsDep
from gateway.schemas import EvaluationReport
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

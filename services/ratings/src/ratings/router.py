"""HTTP routes of the ratings service.

Reads are public whatever the evaluation's status for now; limiting unpublished evaluations and
draft ratings to the panel comes with the publication workflow.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from ratings import repository, service
from ratings.dependencies import Session, Writer
from ratings.models import Evaluation
from ratings.schemas import (
    EvaluationCreate,
    EvaluationRead,
    EvaluationStatus,
    EvaluationSummary,
    RatingPut,
    RatingRead,
)
from servicekit.crud import get_or_404
from servicekit.etag import require_if_match, set_etag
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, conflict, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
PUT_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)


# --- evaluations -------------------------------------------------------------------------------


@router.post(
    "/evaluations",
    operation_id="create_evaluation",
    summary="Create an evaluation",
    tags=["evaluations"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_evaluation(
    _writer: Writer, body: EvaluationCreate, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Start a draft evaluation of known commitments on a scale, across dimensions."""
    read = await service.create_evaluation(session, body)
    response.headers["Location"] = str(request.url_for("get_evaluation", id=read.id).path)
    set_etag(response, read.id, 1)
    return read


@router.get(
    "/evaluations",
    operation_id="list_evaluations",
    summary="List evaluations",
    tags=["evaluations"],
    responses=problem_responses(422),
)
async def list_evaluations(
    session: Session,
    page: PageQuery,
    status: Annotated[list[EvaluationStatus], Query()] = [],  # noqa: B006
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[EvaluationRead]:
    """Evaluations, oldest first; filter by `status` or by a `commitment_id` in scope."""
    rows, token = await repository.list_evaluations(
        session, page, status=status, commitment_id=commitment_id
    )
    scopes = await repository.scopes(session, [r.id for r in rows])
    return Page(
        items=[service.evaluation_read(r, scopes[r.id]) for r in rows], next_page_token=token
    )


@router.get(
    "/evaluations/{id}",
    operation_id="get_evaluation",
    summary="Get an evaluation",
    tags=["evaluations"],
    responses=problem_responses(404),
)
async def get_evaluation(id: uuid.UUID, session: Session, response: Response) -> EvaluationRead:
    """One evaluation, with its scale, dimensions, rule and the commitments in scope."""
    row = await get_or_404(session, Evaluation, id, "evaluation")
    scopes = await repository.scopes(session, [row.id])
    set_etag(response, row.id, row.version)
    return service.evaluation_read(row, scopes[row.id])


@router.get(
    "/evaluations/{id}/summary",
    operation_id="get_evaluation_summary",
    summary="Summarise an evaluation",
    tags=["evaluations"],
    responses=problem_responses(404),
)
async def get_evaluation_summary(id: uuid.UUID, session: Session) -> EvaluationSummary:
    """Every commitment's rating, rolled up by the evaluation's rule to policy areas and overall."""
    row = await get_or_404(session, Evaluation, id, "evaluation")
    return await service.summary(session, row)


# --- ratings -----------------------------------------------------------------------------------


@router.get(
    "/evaluations/{id}/ratings",
    operation_id="list_ratings",
    summary="List an evaluation's ratings",
    tags=["ratings"],
    responses=problem_responses(404, 422),
)
async def list_ratings(
    id: uuid.UUID,
    session: Session,
    page: PageQuery,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[RatingRead]:
    """The ratings given so far, in the evaluation's order of commitments."""
    await get_or_404(session, Evaluation, id, "evaluation")
    rows, token = await repository.list_ratings(session, id, page, commitment_id=commitment_id)
    return Page(items=[service.rating_read(r) for r in rows], next_page_token=token)


@router.get(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="get_rating",
    summary="Get a commitment's rating",
    tags=["ratings"],
    responses=problem_responses(404),
)
async def get_rating(
    id: uuid.UUID, commitment_id: uuid.UUID, session: Session, response: Response
) -> RatingRead:
    """The rating of one commitment in an evaluation, with its overall and how it was reached."""
    evaluation = await get_or_404(session, Evaluation, id, "evaluation")
    await service.ensure_in_scope(session, evaluation, commitment_id)
    row = await repository.get_rating(session, id, commitment_id)
    if row is None:
        raise ProblemError(
            404,
            "Not found",
            f"Commitment {commitment_id} has not been rated in evaluation {id} yet.",
            type_="/problems/not-found",
        )
    set_etag(response, row.id, row.version)
    return service.rating_read(row)


@router.put(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="put_rating",
    summary="Rate a commitment",
    tags=["ratings"],
    responses={
        201: {"model": RatingRead, "description": "The rating was created."},
        **PUT_ERRORS,
    },
)
async def put_rating(
    _writer: Writer,
    id: uuid.UUID,
    commitment_id: uuid.UUID,
    body: RatingPut,
    session: Session,
    request: Request,
    response: Response,
) -> RatingRead:
    """Create (201) or replace (200, needs `If-Match`) the one rating of a commitment."""
    evaluation = await get_or_404(session, Evaluation, id, "evaluation")
    await service.ensure_in_scope(session, evaluation, commitment_id)
    existing = await repository.get_rating(session, id, commitment_id)
    if existing is not None:
        require_if_match(request, existing.id, existing.version)
    elif request.headers.get("if-match"):
        # RFC 9110: If-Match fails when there is no current representation to match.
        raise ProblemError(
            412,
            "Precondition Failed",
            f"If-Match was sent but commitment {commitment_id} has no rating in this evaluation.",
            type_="/problems/stale-etag",
        )
    try:
        read = await service.put_rating(session, evaluation, commitment_id, body, existing)
    except IntegrityError:
        # Two first ratings raced; the other one won. Nothing of ours was kept.
        raise conflict(
            f"A rating of commitment {commitment_id} was created concurrently; "
            "fetch it and replace it with If-Match."
        ) from None
    if existing is None:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = str(
            request.url_for("get_rating", id=id, commitment_id=commitment_id).path
        )
    set_etag(response, read.id, existing.version if existing else 1)
    return read

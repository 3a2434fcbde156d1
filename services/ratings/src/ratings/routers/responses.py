"""Routes that record and read responses to a published evaluation."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository, responses
from ratings.dependencies import Reader, Respondent
from ratings.models import Evaluation
from ratings.schemas import (
    EvaluationResponseCreate,
    EvaluationResponseRead,
    ResponseDeadlineRead,
    ResponsePosition,
)
from ratings.visibility import visible_evaluation
from servicekit.dependencies import CreateOnce, ReadSession
from servicekit.etag import set_etag
from servicekit.idempotency import created_response_doc
from servicekit.ids import utcnow
from servicekit.pagination import Page, PageQuery
from servicekit.problems import not_found, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/evaluations/{id}/responses",
    operation_id="create_response",
    summary="Record a response",
    tags=["responses"],
    status_code=status.HTTP_201_CREATED,
    response_model=EvaluationResponseRead,
    responses={
        **created_response_doc(),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def create_response(
    respondent: Respondent,
    id: uuid.UUID,
    body: EvaluationResponseCreate,
    once: CreateOnce,
) -> Response:
    """Record a response to a published evaluation: a position on the whole, on one rating
    (`commitment_id`), or per commitment (`items`); the respondent is the caller's organisation."""

    async def create(session: AsyncSession) -> EvaluationResponseRead:
        evaluation = await session.get(Evaluation, id)
        if evaluation is None:
            raise not_found("evaluation", id)
        return await responses.create_response(session, evaluation, body, respondent)

    return await once(
        body,
        client_id=respondent.client_id,
        create_read=create,
        location_route="get_response",
        location_params={"id": id},
        id_param="response_id",
    )


@router.get(
    "/evaluations/{id}/responses",
    operation_id="list_responses",
    summary="List responses to an evaluation",
    tags=["responses"],
    responses=problem_responses(401, 404, 422),
)
async def list_responses(
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    principal: Reader,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    position: Annotated[list[ResponsePosition], Query()] = [],  # noqa: B006
) -> Page[EvaluationResponseRead]:
    """Responses to an evaluation, oldest first; filter by `commitment_id` (by rating or item)
    or `position`."""
    await visible_evaluation(session, id, principal)
    rows, token = await repository.list_responses(
        session, id, page, commitment_id=commitment_id, position=position
    )
    return Page(items=await responses.reads(session, rows), next_page_token=token)


@router.get(
    "/evaluations/{id}/responses/{response_id}",
    operation_id="get_response",
    summary="Get a response",
    tags=["responses"],
    responses=problem_responses(401, 404),
)
async def get_response(
    id: uuid.UUID,
    response_id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
) -> EvaluationResponseRead:
    """One response to an evaluation."""
    await visible_evaluation(session, id, principal)
    row = await responses.get_response(session, id, response_id)
    # Responses are never changed, so every one is at its first version.
    set_etag(response, row.id, 1)
    return (await responses.reads(session, [row]))[0]


@router.get(
    "/response-deadlines",
    operation_id="list_response_deadlines",
    summary="List response deadlines",
    tags=["responses"],
    responses=problem_responses(422),
)
async def list_response_deadlines(
    request: Request,
    session: ReadSession,
    page: PageQuery,
    evaluation_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    overdue: Annotated[
        bool | None,
        Query(description="true: due date passed with no response; false: answered or not due."),
    ] = None,
    response_due_before: Annotated[
        date | None, Query(description="Response due strictly before this date.")
    ] = None,
) -> Page[ResponseDeadlineRead]:
    """When each published evaluation's response falls due, and whether it is overdue."""
    items, token = await responses.list_deadlines(
        session,
        page,
        months=request.app.state.settings.response_due_months,
        today=utcnow().date(),
        evaluation_id=evaluation_id,
        overdue=overdue,
        response_due_before=response_due_before,
    )
    return Page(items=items, next_page_token=token)

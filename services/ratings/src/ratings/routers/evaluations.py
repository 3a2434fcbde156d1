"""Routes that create, list, read and change evaluations (their transitions: workflow.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import corrections, evaluations, repository
from ratings.dependencies import Reader, Writer
from ratings.panel import SEATERS, panel_reads, require_role
from ratings.routers.common import PATCH_ERRORS, VersionQuery
from ratings.schemas import EvaluationCreate, EvaluationRead, EvaluationStatus, EvaluationUpdate
from ratings.visibility import visible_evaluation
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/evaluations",
    operation_id="create_evaluation",
    summary="Create an evaluation",
    tags=["evaluations"],
    status_code=status.HTTP_201_CREATED,
    response_model=EvaluationRead,
    responses={**created_response_doc(), **problem_responses(400, 401, 403, 409, 413, 415, 422)},
)
async def create_evaluation(
    writer: Writer,
    body: EvaluationCreate,
    once: CreateOnce,
) -> Response:
    """Start a draft evaluation (or a re-evaluation of a published one) of known commitments."""

    async def create(session: AsyncSession) -> EvaluationRead:
        return await evaluations.create_evaluation(session, body, writer)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_evaluation",
    )


@router.get(
    "/evaluations",
    operation_id="list_evaluations",
    summary="List evaluations",
    tags=["evaluations"],
    responses=problem_responses(401, 422),
)
async def list_evaluations(
    session: ReadSession,
    page: PageQuery,
    principal: Reader,
    status: Annotated[list[EvaluationStatus], Query()] = [],  # noqa: B006
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[EvaluationRead]:
    """Evaluations, oldest first; filter by `status` or by a `commitment_id` in scope.

    Anonymous readers see published (and withdrawn after publication) evaluations only; a
    client also sees the drafts of panels it acts on and of evaluations it created.
    """
    rows, token = await repository.list_evaluations(
        session,
        page,
        status=status,
        commitment_id=commitment_id,
        viewer_client_id=principal.client_id if principal else None,
    )
    ids = [r.id for r in rows]
    scopes = await repository.scopes(session, ids)
    panels = await panel_reads(session, ids)
    corrections = await evaluations.corrections_of(session, ids)
    return Page(
        items=[
            evaluations.evaluation_read(r, scopes[r.id], panels[r.id], corrections[r.id])
            for r in rows
        ],
        next_page_token=token,
    )


@router.get(
    "/evaluations/{id}",
    operation_id="get_evaluation",
    summary="Get an evaluation",
    tags=["evaluations"],
    responses=problem_responses(401, 404),
)
async def get_evaluation(
    id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
    version: VersionQuery = None,
) -> EvaluationRead:
    """One evaluation, with its scale, dimensions, rule, scope, panel and publication record;
    `version` reads an earlier published version as it was."""
    row = await visible_evaluation(session, id, principal)
    if version is not None and (old := await corrections.at_version(session, row, version)):
        return corrections.evaluation_at(old)
    set_etag(response, row.id, row.version)
    return await evaluations.read_evaluation(session, row)


@router.patch(
    "/evaluations/{id}",
    operation_id="update_evaluation",
    summary="Update an evaluation",
    tags=["evaluations"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_evaluation(
    writer: Writer,
    id: uuid.UUID,
    body: EvaluationUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationRead:
    """Change a draft evaluation's title, body, chair, members or date (merge patch, If-Match);
    its panel's chair or secretariat only."""
    row = await evaluations.locked_evaluation(session, id, exclusive=True)
    await require_role(session, row, writer, SEATERS, "change the evaluation")
    require_if_match(request, row.id, row.version)
    read = await evaluations.update_evaluation(session, row, body)
    set_etag(response, row.id, row.version)
    return read

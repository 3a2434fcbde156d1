"""Routes of targets: a commitment's measurable parts, with their progress."""

from __future__ import annotations

import uuid

from fastapi import Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import repository, targets
from commitments.dependencies import Writer
from commitments.models import Commitment, Target
from commitments.routers.common import CHILD_CREATE_ERRORS, PATCH_ERRORS
from commitments.schemas import TARGET_RULE, TargetCreate, TargetRead, TargetUpdate
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/commitments/{id}/targets",
    operation_id="create_target",
    summary="Add a target to a commitment",
    tags=["targets"],
    status_code=status.HTTP_201_CREATED,
    response_model=TargetRead,
    responses={**created_response_doc(), **CHILD_CREATE_ERRORS},
)
async def create_target(
    writer: Writer,
    id: uuid.UUID,
    body: TargetCreate,
    once: CreateOnce,
) -> Response:
    """Add a measurable target; it is a change to the commitment, recorded with its reason."""

    async def create(session: AsyncSession) -> TargetRead:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await targets.add_target(session, row, body, writer)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_target",
    )


@router.get(
    "/commitments/{id}/targets",
    operation_id="list_commitment_targets",
    summary="List a commitment's targets",
    tags=["targets"],
    responses=problem_responses(404, 422),
    description="A commitment's targets with their progress, oldest first.\n\n" + TARGET_RULE,
)
async def list_commitment_targets(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[TargetRead]:
    """A commitment's targets with their progress, oldest first."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_targets(session, page, id)
    return Page(items=[targets.target_read(t) for t in rows], next_page_token=token)


@router.get(
    "/targets/{id}",
    operation_id="get_target",
    summary="Get a target",
    tags=["targets"],
    responses=problem_responses(404),
    description="One target and its progress.\n\n" + TARGET_RULE,
)
async def get_target(id: uuid.UUID, session: ReadSession, response: Response) -> TargetRead:
    """One target and its progress."""
    t = await get_or_404(session, Target, id, "target")
    set_etag(response, t.id, t.version)
    return targets.target_read(t)


@router.patch(
    "/targets/{id}",
    operation_id="update_target",
    summary="Update a target",
    tags=["targets"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_target(
    writer: Writer,
    id: uuid.UUID,
    body: TargetUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> TargetRead:
    """Change a target (merge patch, `If-Match`, a `reason`): a revision of its commitment."""
    t = await get_or_404(session, Target, id, "target")
    require_if_match(request, t.id, t.version)
    read = await targets.update_target(session, t, body, writer)
    set_etag(response, t.id, t.version)
    return read

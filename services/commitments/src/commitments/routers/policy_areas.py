"""Routes of policy areas: how commitments are grouped."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import policy_areas, repository
from commitments.dependencies import Writer
from commitments.models import PolicyArea
from commitments.routers.common import CREATE_ERRORS, PATCH_ERRORS
from commitments.schemas import PolicyAreaCreate, PolicyAreaRead, PolicyAreaUpdate
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

router = json_router(prefix="/v1")


@router.post(
    "/policy-areas",
    operation_id="create_policy_area",
    summary="Create a policy area",
    tags=["policy areas"],
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyAreaRead,
    responses={**created_response_doc(), **CREATE_ERRORS},
)
async def create_policy_area(
    writer: Writer,
    body: PolicyAreaCreate,
    once: CreateOnce,
) -> Response:
    """Record a policy area commitments are grouped under."""

    async def create(session: AsyncSession) -> PolicyAreaRead:
        return await policy_areas.create_policy_area(session, body)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_policy_area",
    )


@router.get(
    "/policy-areas",
    operation_id="list_policy_areas",
    summary="List policy areas",
    tags=["policy areas"],
    responses=problem_responses(422),
)
async def list_policy_areas(
    session: ReadSession,
    page: PageQuery,
    slug: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    id: Annotated[list[uuid.UUID], Query(max_length=200)] = [],  # noqa: B006
) -> Page[PolicyAreaRead]:
    """Policy areas, oldest first; filter by `slug` or `id` (repeat for any-of)."""
    rows, token = await repository.list_policy_areas(session, page, slug=slug, ids=id)
    return Page(items=[PolicyAreaRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/policy-areas/{id}",
    operation_id="get_policy_area",
    summary="Get a policy area",
    tags=["policy areas"],
    responses=problem_responses(404),
)
async def get_policy_area(
    id: uuid.UUID, session: ReadSession, response: Response
) -> PolicyAreaRead:
    """One policy area."""
    row = await get_or_404(session, PolicyArea, id, "policy area")
    set_etag(response, row.id, row.version)
    return PolicyAreaRead.model_validate(row)


@router.patch(
    "/policy-areas/{id}",
    operation_id="update_policy_area",
    summary="Update a policy area",
    tags=["policy areas"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_policy_area(
    _writer: Writer,
    id: uuid.UUID,
    body: PolicyAreaUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> PolicyAreaRead:
    """Change a policy area with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, PolicyArea, id, "policy area")
    require_if_match(request, row.id, row.version)
    read = await policy_areas.update_policy_area(session, row, body)
    set_etag(response, row.id, row.version)
    return read

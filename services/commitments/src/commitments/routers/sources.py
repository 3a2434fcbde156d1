"""Routes of sources: the documents commitments come from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import repository, sources
from commitments.dependencies import Writer
from commitments.models import Source
from commitments.routers.common import CREATE_ERRORS, PATCH_ERRORS
from commitments.schemas import SourceCreate, SourceKind, SourceRead, SourceUpdate
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
    "/sources",
    operation_id="create_source",
    summary="Create a source",
    tags=["sources"],
    status_code=status.HTTP_201_CREATED,
    response_model=SourceRead,
    responses={**created_response_doc(), **CREATE_ERRORS},
)
async def create_source(
    writer: Writer,
    body: SourceCreate,
    once: CreateOnce,
) -> Response:
    """Record a document commitments come from (a plan, strategy, review, report...)."""

    async def create(session: AsyncSession) -> SourceRead:
        return await sources.create_source(session, body)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_source",
    )


@router.get(
    "/sources",
    operation_id="list_sources",
    summary="List sources",
    tags=["sources"],
    responses=problem_responses(422),
)
async def list_sources(
    session: ReadSession,
    page: PageQuery,
    reference: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    kind: Annotated[list[SourceKind], Query()] = [],  # noqa: B006
) -> Page[SourceRead]:
    """Sources, oldest first; filter by `reference` or `kind` (repeat for any-of)."""
    rows, token = await repository.list_sources(session, page, reference=reference, kind=kind)
    return Page(items=[SourceRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/sources/{id}",
    operation_id="get_source",
    summary="Get a source",
    tags=["sources"],
    responses=problem_responses(404),
)
async def get_source(id: uuid.UUID, session: ReadSession, response: Response) -> SourceRead:
    """One source document."""
    row = await get_or_404(session, Source, id, "source")
    set_etag(response, row.id, row.version)
    return SourceRead.model_validate(row)


@router.patch(
    "/sources/{id}",
    operation_id="update_source",
    summary="Update a source",
    tags=["sources"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_source(
    _writer: Writer,
    id: uuid.UUID,
    body: SourceUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> SourceRead:
    """Change a source with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, Source, id, "source")
    require_if_match(request, row.id, row.version)
    read = await sources.update_source(session, row, body)
    set_etag(response, row.id, row.version)
    return read

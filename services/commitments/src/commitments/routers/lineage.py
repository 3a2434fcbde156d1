"""Routes of lineage links: what a commitment became, and what it came from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import lineage, repository
from commitments.dependencies import Writer
from commitments.models import Commitment, LineageLink
from commitments.routers.common import CHILD_CREATE_ERRORS
from commitments.schemas import LineageEnd, LineageLinkCreate, LineageLinkRead
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce, ReadSession
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/commitments/{id}/lineage-links",
    operation_id="create_lineage_link",
    summary="Record a commitment's successor",
    tags=["lineage"],
    status_code=status.HTTP_201_CREATED,
    response_model=LineageLinkRead,
    responses={**created_response_doc(etag=False), **CHILD_CREATE_ERRORS},
)
async def create_lineage_link(
    writer: Writer,
    id: uuid.UUID,
    body: LineageLinkCreate,
    once: CreateOnce,
) -> Response:
    """Record that this commitment was superseded by, split into or merged into another.

    The commitment becomes `superseded` (for `superseded_by` and `merged_into` its
    `superseded_by_id` names the successor). A split is recorded as one link per part. Links
    that would make a cycle are refused.
    """

    async def create(session: AsyncSession) -> LineageLinkRead:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await lineage.add_link(session, row, body, writer)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_lineage_link",
        # Links are never changed, so they carry no ETag.
        etag=False,
    )


@router.get(
    "/commitments/{id}/lineage-links",
    operation_id="list_commitment_lineage_links",
    summary="List a commitment's lineage",
    tags=["lineage"],
    responses=problem_responses(404, 422),
)
async def list_commitment_lineage_links(
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    end: Annotated[
        list[LineageEnd],
        Query(
            description="`successors` (links from this commitment), `predecessors` (links to "
            "it); both by default."
        ),
    ] = [],  # noqa: B006
) -> Page[LineageLinkRead]:
    """Links with this commitment at either end: what it became and what it came from."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_links(
        session,
        page,
        id,
        successors=not end or "successors" in end,
        predecessors=not end or "predecessors" in end,
    )
    return Page(items=[LineageLinkRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/lineage-links/{id}",
    operation_id="get_lineage_link",
    summary="Get a lineage link",
    tags=["lineage"],
    responses=problem_responses(404),
)
async def get_lineage_link(id: uuid.UUID, session: ReadSession) -> LineageLinkRead:
    """One lineage link."""
    return LineageLinkRead.model_validate(
        await get_or_404(session, LineageLink, id, "lineage link")
    )

"""HTTP routes of the commitments service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status

from commitments import repository, service
from commitments.dependencies import Session, Writer
from commitments.models import Commitment, PolicyArea, Source
from commitments.schemas import (
    CommitmentCreate,
    CommitmentKind,
    CommitmentRead,
    CommitmentStatus,
    CommitmentUpdate,
    PolicyAreaCreate,
    PolicyAreaRead,
    PolicyAreaUpdate,
    SourceCreate,
    SourceKind,
    SourceRead,
    SourceUpdate,
)
from servicekit.crud import get_or_404
from servicekit.etag import require_if_match, set_etag
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
PATCH_ERRORS = problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428)
MERGE_PATCH = {"requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}}


def _created(
    response: Response, request: Request, name: str, ident: uuid.UUID, version: int
) -> None:
    response.headers["Location"] = str(request.url_for(name, id=ident).path)
    set_etag(response, ident, version)


# --- sources -----------------------------------------------------------------------------------


@router.post(
    "/sources",
    operation_id="create_source",
    summary="Create a source",
    tags=["sources"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_source(
    _writer: Writer, body: SourceCreate, session: Session, request: Request, response: Response
) -> SourceRead:
    """Record a document commitments come from (a plan, strategy, review, report...)."""
    read = await service.create_source(session, body)
    _created(response, request, "get_source", read.id, 1)
    return read


@router.get(
    "/sources",
    operation_id="list_sources",
    summary="List sources",
    tags=["sources"],
    responses=problem_responses(422),
)
async def list_sources(
    session: Session,
    page: PageQuery,
    reference: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
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
async def get_source(id: uuid.UUID, session: Session, response: Response) -> SourceRead:
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
    openapi_extra=MERGE_PATCH,
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
    read = await service.update_source(session, row, body)
    set_etag(response, row.id, row.version)
    return read


# --- policy areas ------------------------------------------------------------------------------


@router.post(
    "/policy-areas",
    operation_id="create_policy_area",
    summary="Create a policy area",
    tags=["policy areas"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_policy_area(
    _writer: Writer, body: PolicyAreaCreate, session: Session, request: Request, response: Response
) -> PolicyAreaRead:
    """Record a policy area commitments are grouped under."""
    read = await service.create_policy_area(session, body)
    _created(response, request, "get_policy_area", read.id, 1)
    return read


@router.get(
    "/policy-areas",
    operation_id="list_policy_areas",
    summary="List policy areas",
    tags=["policy areas"],
    responses=problem_responses(422),
)
async def list_policy_areas(
    session: Session,
    page: PageQuery,
    slug: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
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
async def get_policy_area(id: uuid.UUID, session: Session, response: Response) -> PolicyAreaRead:
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
    openapi_extra=MERGE_PATCH,
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
    read = await service.update_policy_area(session, row, body)
    set_etag(response, row.id, row.version)
    return read


# --- commitments -------------------------------------------------------------------------------


@router.post(
    "/commitments",
    operation_id="create_commitment",
    summary="Create a commitment",
    tags=["commitments"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_commitment(
    _writer: Writer, body: CommitmentCreate, session: Session, request: Request, response: Response
) -> CommitmentRead:
    """Record a commitment in the words it was published in."""
    read = await service.create_commitment(session, body)
    _created(response, request, "get_commitment", read.id, 1)
    return read


@router.get(
    "/commitments",
    operation_id="list_commitments",
    summary="List commitments",
    tags=["commitments"],
    responses=problem_responses(422),
)
async def list_commitments(
    session: Session,
    page: PageQuery,
    policy_area_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    source_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    status: Annotated[list[CommitmentStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[CommitmentKind], Query()] = [],  # noqa: B006
    reference: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    id: Annotated[list[uuid.UUID], Query(max_length=1000)] = [],  # noqa: B006
) -> Page[CommitmentRead]:
    """Commitments, oldest first. Every filter may be repeated for any-of; filters combine with AND."""
    rows, token = await repository.list_commitments(
        session,
        page,
        reference=reference,
        policy_area_id=policy_area_id,
        source_id=source_id,
        status=status,
        kind=kind,
        ids=id,
    )
    return Page(items=[CommitmentRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/commitments/{id}",
    operation_id="get_commitment",
    summary="Get a commitment",
    tags=["commitments"],
    responses=problem_responses(404),
)
async def get_commitment(id: uuid.UUID, session: Session, response: Response) -> CommitmentRead:
    """One commitment."""
    row = await get_or_404(session, Commitment, id, "commitment")
    set_etag(response, row.id, row.version)
    return CommitmentRead.model_validate(row)


@router.patch(
    "/commitments/{id}",
    operation_id="update_commitment",
    summary="Update a commitment",
    tags=["commitments"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_commitment(
    _writer: Writer,
    id: uuid.UUID,
    body: CommitmentUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> CommitmentRead:
    """Change a commitment with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, Commitment, id, "commitment")
    require_if_match(request, row.id, row.version)
    read = await service.update_commitment(session, row, body)
    set_etag(response, row.id, row.version)
    return read

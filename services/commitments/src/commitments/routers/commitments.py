"""Routes of commitments: create, list, read (now or as of a date), change, and their history."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import commitments, lifecycle, repository
from commitments.clock import today
from commitments.dependencies import Writer
from commitments.models import Commitment
from commitments.routers.common import CREATE_ERRORS, PATCH_ERRORS
from commitments.schemas import (
    CommitmentCreate,
    CommitmentDetail,
    CommitmentKind,
    CommitmentRead,
    CommitmentSort,
    CommitmentStatus,
    CommitmentUpdate,
    RevisionRead,
)
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import PAGE_SIZE_MAX, Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

router = json_router(prefix="/v1")


@router.post(
    "/commitments",
    operation_id="create_commitment",
    summary="Create a commitment",
    tags=["commitments"],
    status_code=status.HTTP_201_CREATED,
    response_model=CommitmentDetail,
    responses={**created_response_doc(), **CREATE_ERRORS},
)
async def create_commitment(
    writer: Writer,
    body: CommitmentCreate,
    once: CreateOnce,
) -> Response:
    """Record a commitment in the words it was published in, optionally with its targets."""

    async def create(session: AsyncSession) -> CommitmentDetail:
        return await commitments.create_commitment(session, body, writer)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_commitment",
    )


@router.get(
    "/commitments",
    operation_id="list_commitments",
    summary="List commitments",
    tags=["commitments"],
    responses=problem_responses(422),
)
async def list_commitments(
    session: ReadSession,
    page: PageQuery,
    policy_area_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    source_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    status: Annotated[list[CommitmentStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[CommitmentKind], Query()] = [],  # noqa: B006
    reference: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    # A page's worth: 200 ids stay well inside the 16 KiB request-line bound (431 past it).
    id: Annotated[list[uuid.UUID], Query(max_length=PAGE_SIZE_MAX)] = [],  # noqa: B006
    lead_body: Annotated[
        list[FilterText], Query(max_length=20, description="A lead body, exactly as recorded.")
    ] = [],  # noqa: B006
    due_before: Annotated[date | None, Query(description="Due strictly before this date.")] = None,
    due_after: Annotated[date | None, Query(description="Due strictly after this date.")] = None,
    has_targets: Annotated[
        bool | None, Query(description="With (true) or without (false) measurable targets.")
    ] = None,
    off_track: Annotated[
        bool | None,
        Query(description="true: at least one target is `off_track`; false: none is."),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="true: due date passed (today, UTC) and not met; false: not overdue."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full text over reference, title and text: every word must match "
            "(English stemming; punctuation ignored).",
        ),
    ] = None,
    sort: Annotated[
        CommitmentSort,
        Query(
            description="`created_at` (default, oldest first), `due_on` / `-due_on` (commitments "
            "without a due date last either way), `reference` / `-reference`. A page token "
            "belongs to the sort it came from."
        ),
    ] = CommitmentSort.created_at,
) -> Page[CommitmentRead]:
    """Commitments; every filter may be repeated for any-of, and filters combine with AND."""
    rows, token = await repository.list_commitments(
        session,
        page,
        reference=reference,
        policy_area_id=policy_area_id,
        source_id=source_id,
        status=status,
        kind=kind,
        ids=id,
        lead_body=lead_body,
        due_before=due_before,
        due_after=due_after,
        has_targets=has_targets,
        off_track=off_track,
        overdue=None if overdue is None else (overdue, today()),
        q=q,
        sort=sort,
    )
    return Page(items=[CommitmentRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/commitments/{id}",
    operation_id="get_commitment",
    summary="Get a commitment",
    tags=["commitments"],
    responses=problem_responses(404, 422),
)
async def get_commitment(
    id: uuid.UUID,
    session: ReadSession,
    response: Response,
    as_of: Annotated[
        date | None,
        Query(
            description="Return the commitment and its targets as they stood on this date "
            "(wording from the revision in force then; progress from readings dated up to it)."
        ),
    ] = None,
) -> CommitmentDetail:
    """One commitment with its targets and their progress, now or as it stood on `as_of`."""
    if as_of is not None:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await commitments.detail_as_of(session, row, as_of)
    detail, version = await commitments.current_detail(session, id)
    set_etag(response, id, version)
    return await commitments.with_delivery(session, detail)


@router.patch(
    "/commitments/{id}",
    operation_id="update_commitment",
    summary="Update a commitment",
    tags=["commitments"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
    description="Change a commitment with a JSON merge patch; send `If-Match` with its ETag. "
    "Every change is a revision; wording (`title`, `text`) and `due_on` changes need a `reason`."
    "\n\nStatus transitions:\n\n```\n" + (lifecycle.__doc__ or "") + "```",
)
async def update_commitment(
    writer: Writer,
    id: uuid.UUID,
    body: CommitmentUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> CommitmentDetail:
    """Change a commitment with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, Commitment, id, "commitment")
    require_if_match(request, row.id, row.version)
    read = await commitments.update_commitment(session, row, body, writer)
    set_etag(response, row.id, row.version)
    return read


@router.get(
    "/commitments/{id}/revisions",
    operation_id="list_commitment_revisions",
    summary="List a commitment's revisions",
    tags=["commitments"],
    responses=problem_responses(404, 422),
)
async def list_commitment_revisions(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[RevisionRead]:
    """Every recorded change, oldest first: who, when, why, and a field-level diff."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_revisions(session, page, id)
    return Page(items=[RevisionRead.model_validate(r) for r in rows], next_page_token=token)

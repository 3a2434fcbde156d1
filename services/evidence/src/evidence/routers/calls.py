"""Routes of calls for evidence: open one, list them, read one, change one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import calls, repository
from evidence.dependencies import EvidenceSettings, ModeratorPrincipal
from evidence.schemas import CallForEvidenceCreate, CallForEvidenceRead, CallForEvidenceUpdate
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.ids import utcnow
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

PATCH_ERRORS = problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428)


@router.post(
    "/calls-for-evidence",
    operation_id="create_call_for_evidence",
    summary="Open a call for evidence",
    tags=["calls for evidence"],
    status_code=status.HTTP_201_CREATED,
    response_model=CallForEvidenceRead,
    responses={**created_response_doc(), **problem_responses(400, 401, 403, 409, 413, 415, 422)},
)
async def create_call_for_evidence(
    moderator: ModeratorPrincipal,
    body: CallForEvidenceCreate,
    settings: EvidenceSettings,
    once: CreateOnce,
) -> Response:
    """Invite evidence on some commitments between two times, within limits."""

    async def create(session: AsyncSession) -> CallForEvidenceRead:
        return await calls.create_call(session, body, ceiling=settings.max_attachment_bytes_ceiling)

    return await once(
        body,
        client_id=moderator.client_id,
        create_read=create,
        location_route="get_call_for_evidence",
    )


@router.get(
    "/calls-for-evidence",
    operation_id="list_calls_for_evidence",
    summary="List calls for evidence",
    tags=["calls for evidence"],
    responses=problem_responses(422),
)
async def list_calls_for_evidence(
    session: ReadSession,
    page: PageQuery,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    open_now: Annotated[
        bool, Query(description="Only calls open at the time of the request.")
    ] = False,
) -> Page[CallForEvidenceRead]:
    """Calls for evidence, oldest first; filter by `commitment_id` (repeat for any-of)."""
    rows, token = await repository.list_calls(
        session, page, commitment_id=commitment_id, open_at=utcnow() if open_now else None
    )
    return Page(items=[calls.call_read(r) for r in rows], next_page_token=token)


@router.get(
    "/calls-for-evidence/{id}",
    operation_id="get_call_for_evidence",
    summary="Get a call for evidence",
    tags=["calls for evidence"],
    responses=problem_responses(404),
)
async def get_call_for_evidence(
    id: uuid.UUID, session: ReadSession, response: Response
) -> CallForEvidenceRead:
    """One call for evidence, with its limits and whether it is open."""
    row = await calls.get_call(session, id)
    set_etag(response, row.id, row.version)
    return calls.call_read(row)


@router.patch(
    "/calls-for-evidence/{id}",
    operation_id="update_call_for_evidence",
    summary="Update a call for evidence",
    tags=["calls for evidence"],
    responses={**PATCH_ERRORS, **problem_responses(409)},
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_call_for_evidence(
    _moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: CallForEvidenceUpdate,
    session: Session,
    settings: EvidenceSettings,
    request: Request,
    response: Response,
) -> CallForEvidenceRead:
    """Change a call with a JSON merge patch; send `If-Match` with its ETag."""
    row = await calls.get_call(session, id)
    require_if_match(request, row.id, row.version)
    read = await calls.update_call(
        session, row, body, ceiling=settings.max_attachment_bytes_ceiling
    )
    set_etag(response, row.id, row.version)
    return read

"""HTTP routes of the evidence service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository, service
from evidence.dependencies import CurrentViewer, Idempotent, Maker, Session, SubmitterPrincipal
from evidence.schemas import (
    Stance,
    SubmissionCreate,
    SubmissionKind,
    SubmissionRead,
    SubmissionStatus,
)
from servicekit.etag import etag_for, set_etag
from servicekit.idempotency import (
    IdempotencyKeyHeader,
    StoredResponse,
    created_response_doc,
    fingerprint,
)
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/submissions",
    operation_id="create_submission",
    summary="Submit evidence",
    tags=["submissions"],
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionRead,
    responses={
        **created_response_doc("Received; the body is your receipt."),
        **problem_responses(400, 401, 403, 409, 413, 415, 422),
    },
)
async def create_submission(
    submitter: SubmitterPrincipal,
    body: SubmissionCreate,
    request: Request,
    maker: Maker,
    idempotency: Idempotent,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Submit evidence against one or more commitments; send `Idempotency-Key` to retry safely."""

    async def create(session: AsyncSession) -> StoredResponse:
        read = await service.create_submission(session, body, submitter)
        location = str(request.url_for("get_submission", id=read.id).path)
        return StoredResponse.json(
            201,
            read.model_dump(mode="json"),
            {"Location": location, "ETag": etag_for(read.id, 1)},
        )

    return await idempotency.run(
        maker,
        client_id=submitter.client_id,
        key=idempotency_key,
        fingerprint=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        create=create,
    )


@router.get(
    "/submissions",
    operation_id="list_submissions",
    summary="List submissions",
    tags=["submissions"],
    responses=problem_responses(401, 422),
)
async def list_submissions(
    session: Session,
    page: PageQuery,
    viewer: CurrentViewer,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    status: Annotated[list[SubmissionStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[SubmissionKind], Query()] = [],  # noqa: B006
    stance: Annotated[list[Stance], Query()] = [],  # noqa: B006
) -> Page[SubmissionRead]:
    """Submissions you may see, oldest first; filters repeat for any-of and combine with AND.

    Anyone sees published evidence; with `evidence:submit` also your own, with
    `evidence:moderate` everything.
    """
    rows, token = await repository.list_submissions(
        session,
        page,
        visible=viewer.filter(),
        commitment_id=commitment_id,
        status=status,
        kind=kind,
        stance=stance,
    )
    return Page(items=[service.to_read(r, viewer) for r in rows], next_page_token=token)


@router.get(
    "/submissions/{id}",
    operation_id="get_submission",
    summary="Get a submission",
    tags=["submissions"],
    responses=problem_responses(401, 404),
)
async def get_submission(
    id: uuid.UUID, session: Session, viewer: CurrentViewer, response: Response
) -> SubmissionRead:
    """One submission, if you may see it (otherwise 404, whether or not it exists)."""
    row = await service.get_visible(session, id, viewer)
    set_etag(response, row.id, row.version)
    return service.to_read(row, viewer)

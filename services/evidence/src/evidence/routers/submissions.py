"""Routes of submissions: submit evidence, list and search it, read it, withdraw it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response, status
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import moderation, repository, submissions
from evidence.dependencies import CurrentViewer, SubmitterPrincipal
from evidence.schemas import (
    DecisionRead,
    Stance,
    SubmissionCreate,
    SubmissionKind,
    SubmissionRead,
    SubmissionStatus,
    WithdrawalCreate,
)
from evidence.visibility import get_visible, to_read
from servicekit.dependencies import CreateOnce, ReadSession
from servicekit.etag import set_etag
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

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
    once: CreateOnce,
) -> Response:
    """Submit evidence against one or more commitments; send `Idempotency-Key` to retry safely.

    Evidence answering a call (`call_id`) must arrive while the call is open (409 otherwise,
    unless it accepts late evidence), keep to its word limit and cite only commitments in its
    scope (422); stand-alone evidence keeps to the default limit of 3,000 words. With `admin`,
    `received_at` records evidence under the past date it was received (403 for anyone else).
    """

    async def create(session: AsyncSession) -> SubmissionRead:
        return await submissions.create_submission(session, body, submitter)

    return await once(
        body,
        client_id=submitter.client_id,
        create_read=create,
        location_route="get_submission",
    )


@router.get(
    "/submissions",
    operation_id="list_submissions",
    summary="List and search submissions",
    tags=["submissions"],
    responses=problem_responses(401, 422),
)
async def list_submissions(
    session: ReadSession,
    page: PageQuery,
    viewer: CurrentViewer,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    call_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    submitter: Annotated[
        list[FilterText],
        Query(max_length=100, description="A submitter's client id or organisation name."),
    ] = [],  # noqa: B006
    status: Annotated[list[SubmissionStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[SubmissionKind], Query()] = [],  # noqa: B006
    stance: Annotated[list[Stance], Query()] = [],  # noqa: B006
    received_after: Annotated[
        AwareDatetime | None, Query(description="Received at or after this time.")
    ] = None,
    received_before: Annotated[
        AwareDatetime | None, Query(description="Received before this time.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full text: every word must occur (stemmed) in the title, summary or body.",
        ),
    ] = None,
) -> Page[SubmissionRead]:
    """Submissions you may see, oldest first; filters repeat for any-of and combine with AND.

    Anyone sees published evidence; with `evidence:submit` also your own, with
    `evidence:moderate` everything. `q` searches the text you may read: the published (redacted)
    text, or for moderators the original.
    """
    rows, token = await repository.list_submissions(
        session,
        page,
        visible=viewer.filter(),
        viewer_client_id=viewer.client_id,
        moderator=viewer.moderator,
        commitment_id=commitment_id,
        call_id=call_id,
        submitter=submitter,
        status=status,
        kind=kind,
        stance=stance,
        received_after=received_after,
        received_before=received_before,
        q=q,
    )
    return Page(items=[to_read(r, viewer) for r in rows], next_page_token=token)


@router.get(
    "/submissions/{id}",
    operation_id="get_submission",
    summary="Get a submission",
    tags=["submissions"],
    responses=problem_responses(401, 404),
)
async def get_submission(
    id: uuid.UUID, session: ReadSession, viewer: CurrentViewer, response: Response
) -> SubmissionRead:
    """One submission, if you may see it (otherwise 404, whether or not it exists)."""
    row = await get_visible(session, id, viewer)
    set_etag(response, row.id, row.version)
    return to_read(row, viewer)


@router.post(
    "/submissions/{id}/withdrawal",
    operation_id="withdraw_submission",
    summary="Withdraw your submission",
    tags=["submissions"],
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionRead,
    responses={
        **created_response_doc("Withdrawn; the body is the withdrawal decision.", etag=False),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def withdraw_submission(
    submitter: SubmitterPrincipal,
    id: uuid.UUID,
    body: WithdrawalCreate,
    once: CreateOnce,
) -> Response:
    """Take your evidence back while it is received or accepted (409 once published)."""

    async def create(session: AsyncSession) -> DecisionRead:
        return await moderation.withdraw(session, id, body.reason, submitter)

    return await once(
        body,
        client_id=submitter.client_id,
        create_read=create,
        location_route="get_decision",
        location_params={"id": id},
        id_param="decision_id",
        etag=False,
    )

"""Routes of delivery: a commitment's milestones and the responsible body's self-assessments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import delivery, repository
from commitments.clock import today
from commitments.dependencies import Assessor, Writer
from commitments.models import Commitment, Milestone, SelfAssessment
from commitments.routers.common import CHILD_CREATE_ERRORS, PATCH_ERRORS
from commitments.schemas import (
    MilestoneCreate,
    MilestoneRead,
    MilestoneUpdate,
    SelfAssessmentCreate,
    SelfAssessmentRead,
)
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
    "/commitments/{id}/milestones",
    operation_id="create_milestone",
    summary="Add a milestone to a commitment",
    tags=["delivery"],
    status_code=status.HTTP_201_CREATED,
    response_model=MilestoneRead,
    responses={**created_response_doc(), **CHILD_CREATE_ERRORS},
)
async def create_milestone(
    writer: Writer, id: uuid.UUID, body: MilestoneCreate, once: CreateOnce
) -> Response:
    """Add a dated milestone; the commitment's completion is the share of milestones met."""

    async def create(session: AsyncSession) -> MilestoneRead:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await delivery.add_milestone(session, row, body, writer, today())

    return await once(
        body, client_id=writer.client_id, create_read=create, location_route="get_milestone"
    )


@router.get(
    "/commitments/{id}/milestones",
    operation_id="list_commitment_milestones",
    summary="List a commitment's milestones",
    tags=["delivery"],
    responses=problem_responses(404, 422),
)
async def list_commitment_milestones(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[MilestoneRead]:
    """A commitment's milestones, oldest first, each met or not (and overdue when late)."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_milestones(session, page, id)
    return Page(items=[MilestoneRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/milestones/{id}",
    operation_id="get_milestone",
    summary="Get a milestone",
    tags=["delivery"],
    responses=problem_responses(404),
)
async def get_milestone(id: uuid.UUID, session: ReadSession, response: Response) -> MilestoneRead:
    """One milestone."""
    row = await get_or_404(session, Milestone, id, "milestone")
    set_etag(response, row.id, row.version)
    return MilestoneRead.model_validate(row)


@router.patch(
    "/milestones/{id}",
    operation_id="update_milestone",
    summary="Update a milestone",
    tags=["delivery"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
)
async def update_milestone(
    writer: Writer,  # noqa: ARG001 - the scope check is the dependency itself
    id: uuid.UUID,
    body: MilestoneUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> MilestoneRead:
    """Change a milestone (merge patch, `If-Match`), e.g. set `met_on` when it is met."""
    row = await get_or_404(session, Milestone, id, "milestone")
    require_if_match(request, row.id, row.version)
    read = await delivery.update_milestone(session, row, body, today())
    set_etag(response, row.id, row.version)
    return read


@router.post(
    "/commitments/{id}/self-assessments",
    operation_id="create_self_assessment",
    summary="Record a self-assessment of delivery confidence",
    tags=["delivery"],
    status_code=status.HTTP_201_CREATED,
    response_model=SelfAssessmentRead,
    responses={**created_response_doc(), **CHILD_CREATE_ERRORS},
)
async def create_self_assessment(
    assessor: Assessor, id: uuid.UUID, body: SelfAssessmentCreate, once: CreateOnce
) -> Response:
    """The responsible body's own delivery confidence (green to red), by a lead body only."""

    async def create(session: AsyncSession) -> SelfAssessmentRead:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await delivery.record_self_assessment(session, row, body, assessor, today())

    return await once(
        body,
        client_id=assessor.client_id,
        create_read=create,
        location_route="get_self_assessment",
    )


@router.get(
    "/commitments/{id}/self-assessments",
    operation_id="list_commitment_self_assessments",
    summary="List a commitment's self-assessments",
    tags=["delivery"],
    responses=problem_responses(404, 422),
)
async def list_commitment_self_assessments(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[SelfAssessmentRead]:
    """Every self-assessment of the commitment, oldest first: its history."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_self_assessments(session, page, [id])
    return Page(items=[SelfAssessmentRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/self-assessments",
    operation_id="list_self_assessments",
    summary="List self-assessments",
    tags=["delivery"],
    responses=problem_responses(422),
)
async def list_self_assessments(
    session: ReadSession,
    page: PageQuery,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=1000)] = [],  # noqa: B006
) -> Page[SelfAssessmentRead]:
    """Self-assessments, oldest first; `commitment_id` (repeatable) names whose."""
    rows, token = await repository.list_self_assessments(session, page, commitment_id)
    return Page(items=[SelfAssessmentRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/self-assessments/{id}",
    operation_id="get_self_assessment",
    summary="Get a self-assessment",
    tags=["delivery"],
    responses=problem_responses(404),
)
async def get_self_assessment(
    id: uuid.UUID, session: ReadSession, response: Response
) -> SelfAssessmentRead:
    """One self-assessment (never changed: a new one is recorded instead)."""
    row = await get_or_404(session, SelfAssessment, id, "self-assessment")
    set_etag(response, row.id, 1)
    return SelfAssessmentRead.model_validate(row)

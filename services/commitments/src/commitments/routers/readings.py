"""Routes of progress readings: figures recorded against a target."""

from __future__ import annotations

import uuid

from fastapi import Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import readings, repository
from commitments.dependencies import Writer
from commitments.models import Reading, Target
from commitments.routers.common import CHILD_CREATE_ERRORS
from commitments.schemas import ReadingCreate, ReadingRead
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce, ReadSession
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/targets/{id}/readings",
    operation_id="create_reading",
    summary="Record a progress reading",
    tags=["targets"],
    status_code=status.HTTP_201_CREATED,
    response_model=ReadingRead,
    responses={
        **created_response_doc("Recorded; the target's progress is re-judged."),
        **CHILD_CREATE_ERRORS,
    },
)
async def create_reading(
    writer: Writer,
    id: uuid.UUID,
    body: ReadingCreate,
    once: CreateOnce,
) -> Response:
    """Record a progress figure for a target; send `Idempotency-Key` to retry safely."""

    async def create(session: AsyncSession) -> ReadingRead:
        t = await get_or_404(session, Target, id, "target")
        return await readings.add_reading(session, t, body, writer)

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_reading",
    )


@router.get(
    "/targets/{id}/readings",
    operation_id="list_target_readings",
    summary="List a target's readings",
    tags=["targets"],
    responses=problem_responses(404, 422),
)
async def list_target_readings(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[ReadingRead]:
    """A target's progress readings, in the order they were recorded."""
    await get_or_404(session, Target, id, "target")
    rows, token = await repository.list_readings(session, page, id)
    return Page(items=[ReadingRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/readings/{id}",
    operation_id="get_reading",
    summary="Get a progress reading",
    tags=["targets"],
    responses=problem_responses(404),
)
async def get_reading(id: uuid.UUID, session: ReadSession) -> ReadingRead:
    """One progress reading."""
    return ReadingRead.model_validate(await get_or_404(session, Reading, id, "reading"))

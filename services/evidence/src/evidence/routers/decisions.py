"""Routes of moderation decisions: take a step (accept, reject, publish, withhold), read them."""

from __future__ import annotations

import uuid

from fastapi import Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import moderation, repository
from evidence.dependencies import CurrentViewer, EvidenceSettings, ModeratorPrincipal
from evidence.schemas import DecisionCreate, DecisionRead
from servicekit.dependencies import CreateOnce, ReadSession
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import not_found, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/submissions/{id}/decisions",
    operation_id="create_decision",
    summary="Moderate a submission",
    tags=["moderation"],
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionRead,
    responses={
        **created_response_doc(etag=False),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def create_decision(
    moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: DecisionCreate,
    settings: EvidenceSettings,
    once: CreateOnce,
) -> Response:
    """Accept, reject, publish or withhold, with a reason; steps out of order are 409.

    received → accepted | rejected; accepted → published | withheld | rejected;
    withheld → published | rejected; published → withheld. Publishing assigns the publication
    reference (`<prefix><NNNN>`) once; `do_not_publish` evidence is never published.
    """

    async def create(session: AsyncSession) -> DecisionRead:
        return await moderation.decide(
            session,
            id,
            body.action,
            body.reason,
            moderator,
            standalone_prefix=settings.standalone_reference_prefix,
        )

    return await once(
        body,
        client_id=moderator.client_id,
        create_read=create,
        location_route="get_decision",
        location_params={"id": id},
        id_param="decision_id",
        # A decision is never changed, so it carries no ETag.
        etag=False,
    )


@router.get(
    "/submissions/{id}/decisions",
    operation_id="list_decisions",
    summary="A submission's decisions",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_decisions(
    id: uuid.UUID, session: ReadSession, viewer: CurrentViewer, page: PageQuery
) -> Page[DecisionRead]:
    """Every step of a submission's history, oldest first (its submitter and moderators)."""
    await moderation.visible_history(session, id, viewer)
    rows, token = await repository.list_decisions(session, id, page)
    return Page(items=[moderation.decision_read(r) for r in rows], next_page_token=token)


@router.get(
    "/submissions/{id}/decisions/{decision_id}",
    operation_id="get_decision",
    summary="Get a decision",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def get_decision(
    id: uuid.UUID, decision_id: uuid.UUID, session: ReadSession, viewer: CurrentViewer
) -> DecisionRead:
    """One step of a submission's history (its submitter and moderators)."""
    await moderation.visible_history(session, id, viewer)
    row = await repository.get_decision(session, id, decision_id)
    if row is None:
        raise not_found("decision", decision_id)
    return moderation.decision_read(row)

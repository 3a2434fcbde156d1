"""Routes of redactions: hide a passage, list and read what is hidden, show it again."""

from __future__ import annotations

import uuid

from fastapi import Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import redaction, repository
from evidence.dependencies import CurrentViewer, ModeratorPrincipal
from evidence.schemas import RedactionCreate, RedactionRead
from evidence.visibility import get_visible, redaction_read
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page
from servicekit.problems import not_found, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.post(
    "/submissions/{id}/redactions",
    operation_id="create_redaction",
    summary="Redact a passage",
    tags=["moderation"],
    status_code=status.HTTP_201_CREATED,
    response_model=RedactionRead,
    responses={
        **created_response_doc(etag=False),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def create_redaction(
    moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: RedactionCreate,
    once: CreateOnce,
) -> Response:
    """Hide every occurrence of a passage of the title, summary or body, with a reason."""

    async def create(session: AsyncSession) -> RedactionRead:
        return await redaction.add_redaction(session, id, body, moderator)

    return await once(
        body,
        client_id=moderator.client_id,
        create_read=create,
        location_route="get_redaction",
        location_params={"id": id},
        id_param="redaction_id",
        # Undone by deleting it, never changed: no ETag.
        etag=False,
    )


@router.get(
    "/submissions/{id}/redactions",
    operation_id="list_redactions",
    summary="A submission's redactions",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def list_redactions(
    _moderator: ModeratorPrincipal, id: uuid.UUID, session: ReadSession, viewer: CurrentViewer
) -> Page[RedactionRead]:
    """The passages hidden from everyone but moderators, and why (moderators only; one page)."""
    row = await get_visible(session, id, viewer)
    return Page(items=[redaction_read(r) for r in row.redactions], next_page_token=None)


@router.get(
    "/submissions/{id}/redactions/{redaction_id}",
    operation_id="get_redaction",
    summary="Get a redaction",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def get_redaction(
    _moderator: ModeratorPrincipal, id: uuid.UUID, redaction_id: uuid.UUID, session: ReadSession
) -> RedactionRead:
    """One hidden passage and why (moderators only)."""
    row = await repository.get_redaction(session, id, redaction_id)
    if row is None:
        raise not_found("redaction", redaction_id)
    return redaction_read(row)


@router.delete(
    "/submissions/{id}/redactions/{redaction_id}",
    operation_id="delete_redaction",
    summary="Undo a redaction",
    tags=["moderation"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_redaction(
    _moderator: ModeratorPrincipal, id: uuid.UUID, redaction_id: uuid.UUID, session: Session
) -> Response:
    """Show a redacted passage again."""
    await redaction.remove_redaction(session, id, redaction_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

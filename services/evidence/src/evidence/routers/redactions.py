"""Routes of redactions: hide a passage, list and read what is hidden, show it again."""

from __future__ import annotations

import uuid

from fastapi import Request, Response, status

from evidence import redaction, repository
from evidence.dependencies import CurrentViewer, ModeratorPrincipal
from evidence.schemas import RedactionCreate, RedactionRead
from evidence.visibility import get_visible, redaction_read
from servicekit.dependencies import ReadSession, Session
from servicekit.etag import location_of
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
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_redaction(
    moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: RedactionCreate,
    session: Session,
    request: Request,
    response: Response,
) -> RedactionRead:
    """Hide every occurrence of a passage of the title, summary or body, with a reason."""
    read = await redaction.add_redaction(session, id, body, moderator)
    response.headers["Location"] = location_of(
        request, "get_redaction", id=id, redaction_id=read.id
    )
    return read


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

"""The route of a commitment's rating history across evaluations."""

from __future__ import annotations

import uuid

from ratings import history
from ratings.dependencies import Reader
from ratings.schemas import RatingHistoryItem
from servicekit.dependencies import ReadSession
from servicekit.pagination import Page, PageQuery
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")


@router.get(
    "/commitments/{commitment_id}/ratings",
    operation_id="list_commitment_ratings",
    summary="A commitment's rating history",
    tags=["ratings"],
    responses=problem_responses(401, 404, 422),
)
async def list_commitment_ratings(
    commitment_id: uuid.UUID, session: ReadSession, page: PageQuery, principal: Reader
) -> Page[RatingHistoryItem]:
    """A commitment's ratings across evaluations, oldest first, each with the change since the
    one before it (per dimension and overall: up, down or same, with the score delta).

    Published evaluations only; with `ratings:write` or `ratings:publish` also those still in
    draft or review. Withdrawn evaluations never count.
    """
    items, token = await history.history(session, commitment_id, principal, page)
    return Page(items=items, next_page_token=token)

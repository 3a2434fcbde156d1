"""Routes that move an evaluation along: submit for review, return to draft, publish, withdraw.

Evaluation transitions are explicit `POST` routes (Stripe-style verbs under the evaluation:
`/submit-for-review`, `/return-to-draft`, `/publish`, `/withdraw`) rather than a status field in
`PATCH`, because they need different scopes (`ratings:write` to move a draft along,
`ratings:publish` to publish or withdraw), have preconditions and side effects of their own
(publishing checks and freezes every rating and records who published), and take their own inputs
(`published_on`, a withdrawal `reason`). Only the panel's chair moves an evaluation (see
`ratings/panel.py`); anyone else gets 404 on a draft. Each accepts an optional `If-Match` (412
when stale). The table of moves is in `ratings/lifecycle.py`; a rating's `draft ↔ agreed` is
its `status` field (`routers/ratings.py`), since agreeing is an edit of the rating (by the
chair).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import workflow
from ratings.dependencies import Publisher, Writer
from ratings.evaluations import locked_evaluation
from ratings.models import Evaluation
from ratings.panel import CHAIR, require_role
from ratings.schemas import EvaluationPublish, EvaluationRead, EvaluationWithdraw
from servicekit.auth import Principal
from servicekit.dependencies import Session
from servicekit.etag import require_if_match, set_etag
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

TRANSITION_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)


async def _move(
    session: AsyncSession,
    id: uuid.UUID,
    request: Request,
    response: Response,
    step: Callable[[Evaluation], Awaitable[EvaluationRead]],
    principal: Principal,
    action: str,
) -> EvaluationRead:
    """Lock the evaluation, check the caller chairs its panel, check `If-Match` when sent (412 if
    stale; not required), take the step, and answer with the new ETag."""
    row = await locked_evaluation(session, id, exclusive=True)
    await require_role(session, row, principal, CHAIR, action)
    if request.headers.get("if-match"):
        require_if_match(request, row.id, row.version)
    read = await step(row)
    set_etag(response, row.id, row.version)
    return read


@router.post(
    "/evaluations/{id}/submit-for-review",
    operation_id="submit_evaluation_for_review",
    summary="Submit an evaluation for review",
    tags=["evaluations"],
    responses=TRANSITION_ERRORS,
)
async def submit_evaluation_for_review(
    writer: Writer, id: uuid.UUID, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Move a draft evaluation to `in_review`, where its ratings are agreed (the chair only)."""
    return await _move(
        session,
        id,
        request,
        response,
        lambda row: workflow.submit_for_review(session, row),
        writer,
        "submit the evaluation for review",
    )


@router.post(
    "/evaluations/{id}/return-to-draft",
    operation_id="return_evaluation_to_draft",
    summary="Return an evaluation to draft",
    tags=["evaluations"],
    responses=TRANSITION_ERRORS,
)
async def return_evaluation_to_draft(
    writer: Writer, id: uuid.UUID, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Send an evaluation in review back to `draft` (the chair only)."""
    return await _move(
        session,
        id,
        request,
        response,
        lambda row: workflow.return_to_draft(session, row),
        writer,
        "return the evaluation to draft",
    )


@router.post(
    "/evaluations/{id}/publish",
    operation_id="publish_evaluation",
    summary="Publish an evaluation",
    tags=["evaluations"],
    responses=TRANSITION_ERRORS,
)
async def publish_evaluation(
    publisher: Publisher,
    id: uuid.UUID,
    session: Session,
    request: Request,
    response: Response,
    body: EvaluationPublish | None = None,
) -> EvaluationRead:
    """Publish an evaluation in review whose every commitment is rated and agreed (the chair).

    Records who published it and when, sets `published_on` (today unless given or already set),
    makes it and its ratings public, and freezes them: any later change is 409.
    """
    return await _move(
        session,
        id,
        request,
        response,
        lambda row: workflow.publish(session, row, body or EvaluationPublish(), publisher),
        publisher,
        "publish the evaluation",
    )


@router.post(
    "/evaluations/{id}/withdraw",
    operation_id="withdraw_evaluation",
    summary="Withdraw an evaluation",
    tags=["evaluations"],
    responses=TRANSITION_ERRORS,
)
async def withdraw_evaluation(
    publisher: Publisher,
    id: uuid.UUID,
    body: EvaluationWithdraw,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationRead:
    """Withdraw an evaluation, giving the reason (the chair); a published one stays readable."""
    return await _move(
        session,
        id,
        request,
        response,
        lambda row: workflow.withdraw(session, row, body, publisher),
        publisher,
        "withdraw the evaluation",
    )

"""Routes of the checks around publication: the rated body's factual-accuracy comments and the
panel's decisions on them before publication, and corrections after it."""

from __future__ import annotations

import uuid

from fastapi import Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import corrections, factual_accuracy, repository
from ratings.dependencies import Publisher, Reader, Respondent, Writer
from ratings.evaluations import emit_evaluation, locked_evaluation
from ratings.models import FactualAccuracyComment
from ratings.panel import CHAIR, require_role
from ratings.schemas import (
    CorrectionCreate,
    EvaluationRead,
    FactualAccuracyCheckCreate,
    FactualAccuracyCommentCreate,
    FactualAccuracyCommentRead,
    FactualAccuracyDecisionCreate,
)
from ratings.visibility import visible_evaluation
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

STEP_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)


@router.post(
    "/evaluations/{id}/factual-accuracy-check",
    operation_id="send_for_factual_accuracy",
    summary="Send for a factual-accuracy check",
    tags=["evaluations"],
    responses=STEP_ERRORS,
)
async def send_for_factual_accuracy(
    writer: Writer,
    id: uuid.UUID,
    body: FactualAccuracyCheckCreate,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationRead:
    """Send an evaluation in review to the rated body's client, which may then comment on its
    draft ratings for a window of working days (default 10); the chair only."""
    row = await locked_evaluation(session, id, exclusive=True)
    await require_role(session, row, writer, CHAIR, "send the evaluation for a factual check")
    if request.headers.get("if-match"):
        require_if_match(request, row.id, row.version)
    factual_accuracy.send(row, body, request.app.state.settings.factual_accuracy_working_days)
    await session.flush()
    scope = await repository.scope(session, row.id)
    read = await emit_evaluation(session, "evaluation.sent_for_factual_accuracy", row, scope)
    set_etag(response, row.id, row.version)
    return read


@router.post(
    "/evaluations/{id}/factual-accuracy-comments",
    operation_id="create_factual_accuracy_comment",
    summary="Comment on a draft rating's facts",
    tags=["evaluations"],
    status_code=status.HTTP_201_CREATED,
    response_model=FactualAccuracyCommentRead,
    responses={
        **created_response_doc(),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def create_factual_accuracy_comment(
    respondent: Respondent, id: uuid.UUID, body: FactualAccuracyCommentCreate, once: CreateOnce
) -> Response:
    """The rated body's comment on the factual accuracy of one draft rating, while its window is
    open; only the client the evaluation was sent to."""

    async def create(session: AsyncSession) -> FactualAccuracyCommentRead:
        evaluation = await locked_evaluation(session, id, exclusive=False)
        await visible_evaluation(session, id, respondent)
        return await factual_accuracy.comment(session, evaluation, body, respondent)

    return await once(
        body,
        client_id=respondent.client_id,
        create_read=create,
        location_route="get_factual_accuracy_comment",
        location_params={"id": id},
        id_param="comment_id",
    )


@router.get(
    "/evaluations/{id}/factual-accuracy-comments",
    operation_id="list_factual_accuracy_comments",
    summary="List factual-accuracy comments",
    tags=["evaluations"],
    responses=problem_responses(401, 404, 422),
)
async def list_factual_accuracy_comments(
    id: uuid.UUID, session: ReadSession, principal: Reader, page: PageQuery
) -> Page[FactualAccuracyCommentRead]:
    """The rated body's comments and the panel's decisions, oldest first (public once published)."""
    evaluation = await visible_evaluation(session, id, principal)
    rows, token = await repository.fa_comments_page(session, evaluation.id, page)
    return Page(items=[factual_accuracy.comment_read(r) for r in rows], next_page_token=token)


@router.get(
    "/evaluations/{id}/factual-accuracy-comments/{comment_id}",
    operation_id="get_factual_accuracy_comment",
    summary="Get a factual-accuracy comment",
    tags=["evaluations"],
    responses=problem_responses(401, 404),
)
async def get_factual_accuracy_comment(
    id: uuid.UUID,
    comment_id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
) -> FactualAccuracyCommentRead:
    """One factual-accuracy comment, with the panel's decision once made."""
    evaluation = await visible_evaluation(session, id, principal)
    row = await _comment(session, evaluation.id, comment_id)
    set_etag(response, row.id, row.version)
    return factual_accuracy.comment_read(row)


async def _comment(
    session: AsyncSession, evaluation_id: uuid.UUID, comment_id: uuid.UUID
) -> FactualAccuracyComment:
    row = await repository.fa_comment(session, evaluation_id, comment_id)
    if row is None:
        raise ProblemError(
            404,
            "Not found",
            f"No factual-accuracy comment {comment_id} on evaluation {evaluation_id}.",
            type_="/problems/not-found",
        )
    return row


@router.post(
    "/evaluations/{id}/factual-accuracy-comments/{comment_id}/decision",
    operation_id="decide_factual_accuracy_comment",
    summary="Decide a factual-accuracy comment",
    tags=["evaluations"],
    responses=STEP_ERRORS,
)
async def decide_factual_accuracy_comment(
    writer: Writer,
    id: uuid.UUID,
    comment_id: uuid.UUID,
    body: FactualAccuracyDecisionCreate,
    session: Session,
    response: Response,
) -> FactualAccuracyCommentRead:
    """The panel's decision on a comment (accepted, rating_changed, declined), with its reason;
    the chair only. `rating_changed` needs the rating changed after the comment."""
    evaluation = await locked_evaluation(session, id, exclusive=False)
    await require_role(session, evaluation, writer, CHAIR, "decide factual-accuracy comments")
    row = await _comment(session, evaluation.id, comment_id)
    read = await factual_accuracy.decide(session, evaluation, row, body, writer)
    set_etag(response, row.id, row.version)
    return read


@router.post(
    "/evaluations/{id}/corrections",
    operation_id="correct_evaluation",
    summary="Correct a published evaluation",
    tags=["evaluations"],
    responses=STEP_ERRORS,
)
async def correct_evaluation(
    publisher: Publisher,
    id: uuid.UUID,
    body: CorrectionCreate,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationRead:
    """Publish the next version of a published evaluation with its correction notice (what
    changed and why); the version before stays readable with `?version=`. The chair only."""
    row = await locked_evaluation(session, id, exclusive=True)
    await require_role(session, row, publisher, CHAIR, "correct the evaluation")
    if request.headers.get("if-match"):
        require_if_match(request, row.id, row.version)
    read = await corrections.correct(session, row, body, publisher)
    set_etag(response, row.id, row.version)
    return read

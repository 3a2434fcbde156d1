"""HTTP routes of the ratings service.

Workflow routes. Evaluation transitions are explicit `POST` routes (Stripe-style verbs under the
evaluation: `/submit-for-review`, `/return-to-draft`, `/publish`, `/withdraw`) rather than a
status field in `PATCH`, because they need different scopes (`ratings:write` to move a draft
along, `ratings:publish` to publish or withdraw), have preconditions and side effects of their own
(publishing checks and freezes every rating and records who published), and take their own
inputs (`published_on`, a withdrawal `reason`). Each accepts an optional `If-Match` (412 when
stale). A rating's `draft ↔ agreed` is its `status` field, set by `PUT` or `PATCH` with
`ratings:write`, since agreeing is an edit of the rating by the same people who draft it.

Concurrency. `PATCH` (evaluations and ratings) and `PUT` on an existing rating need `If-Match`
(428 without, 412 when stale). A `PUT` that would change nothing is answered 200 without it:
nothing can be lost, and that is what makes a retried `PUT` safe.

Idempotency. `PUT /v1/evaluations/{id}/ratings/{commitment_id}` addresses the one rating of a
commitment by its natural key, so a retried first `PUT` cannot create a second rating: it finds
the rating already in the state it asks for and gets 200 with the same body and ETag, and a retry
that would change someone else's newer edit gets 428/412 instead of overwriting it. That gives
everything `Idempotency-Key` gives a `POST` (no duplicate, no silent different-body replay), so the
header is not needed and is ignored here (DESIGN.md lists rating drafts among the retried creates;
this is why they need no key).

Visibility. Evaluations that were never published, and their ratings, summary and history entries,
are visible only to callers with `ratings:write` or `ratings:publish`; anyone else gets 404.
Published evaluations (including withdrawn ones, which keep their withdrawal notice) are public.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from ratings import repository, service
from ratings.dependencies import Publisher, Reader, ReadSession, Respondent, Session, Writer
from ratings.models import Evaluation, EvaluationResponse, Rating
from ratings.schemas import (
    EvaluationCreate,
    EvaluationPublish,
    EvaluationRead,
    EvaluationResponseCreate,
    EvaluationResponseRead,
    EvaluationStatus,
    EvaluationSummary,
    EvaluationUpdate,
    EvaluationWithdraw,
    RatingHistoryItem,
    RatingPut,
    RatingRead,
    RatingUpdate,
    ResponsePosition,
)
from servicekit.etag import etag_for, require_if_match, set_etag
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, conflict, not_found, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
PUT_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)
PATCH_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)
TRANSITION_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422)
MERGE_PATCH: dict[str, Any] = {
    "requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}
}


def _check_if_match(request: Request, row: Evaluation) -> None:
    """Transitions take `If-Match` when sent (412 if stale) but do not require it."""
    if request.headers.get("if-match"):
        require_if_match(request, row.id, row.version)


async def _locked(session: Session, id: uuid.UUID, *, exclusive: bool) -> Evaluation:
    row = await repository.lock_evaluation(session, id, exclusive=exclusive)
    if row is None:
        raise not_found("evaluation", id)
    return row


def _needs_if_match(request: Request) -> Callable[[Rating], None]:
    def check(row: Rating) -> None:
        require_if_match(request, row.id, row.version)

    return check


async def _scope(session: Session, row: Evaluation) -> list[uuid.UUID]:
    return (await repository.scopes(session, [row.id]))[row.id]


# --- evaluations -------------------------------------------------------------------------------


@router.post(
    "/evaluations",
    operation_id="create_evaluation",
    summary="Create an evaluation",
    tags=["evaluations"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_evaluation(
    _writer: Writer, body: EvaluationCreate, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Start a draft evaluation (or a re-evaluation of a published one) of known commitments."""
    read = await service.create_evaluation(session, body)
    response.headers["Location"] = str(request.url_for("get_evaluation", id=read.id).path)
    set_etag(response, read.id, 1)
    return read


@router.get(
    "/evaluations",
    operation_id="list_evaluations",
    summary="List evaluations",
    tags=["evaluations"],
    responses=problem_responses(401, 422),
)
async def list_evaluations(
    session: ReadSession,
    page: PageQuery,
    principal: Reader,
    status: Annotated[list[EvaluationStatus], Query()] = [],  # noqa: B006
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[EvaluationRead]:
    """Evaluations, oldest first; filter by `status` or by a `commitment_id` in scope.

    Anonymous readers see published (and withdrawn after publication) evaluations only.
    """
    rows, token = await repository.list_evaluations(
        session,
        page,
        status=status,
        commitment_id=commitment_id,
        published_only=not service.can_see_drafts(principal),
    )
    scopes = await repository.scopes(session, [r.id for r in rows])
    return Page(
        items=[service.evaluation_read(r, scopes[r.id]) for r in rows], next_page_token=token
    )


@router.get(
    "/evaluations/{id}",
    operation_id="get_evaluation",
    summary="Get an evaluation",
    tags=["evaluations"],
    responses=problem_responses(401, 404),
)
async def get_evaluation(
    id: uuid.UUID, session: ReadSession, principal: Reader, response: Response
) -> EvaluationRead:
    """One evaluation, with its scale, dimensions, rule, scope and publication record."""
    row = await service.visible_evaluation(session, id, principal)
    set_etag(response, row.id, row.version)
    return service.evaluation_read(row, await _scope(session, row))


@router.patch(
    "/evaluations/{id}",
    operation_id="update_evaluation",
    summary="Update an evaluation",
    tags=["evaluations"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_evaluation(
    _writer: Writer,
    id: uuid.UUID,
    body: EvaluationUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationRead:
    """Change a draft evaluation's title, body, chair, members or date (merge patch, If-Match)."""
    row = await _locked(session, id, exclusive=True)
    require_if_match(request, row.id, row.version)
    read = await service.update_evaluation(session, row, body)
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
    _writer: Writer, id: uuid.UUID, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Move a draft evaluation to `in_review`, where its ratings are agreed before publication."""
    row = await _locked(session, id, exclusive=True)
    _check_if_match(request, row)
    read = await service.submit_for_review(session, row)
    set_etag(response, row.id, row.version)
    return read


@router.post(
    "/evaluations/{id}/return-to-draft",
    operation_id="return_evaluation_to_draft",
    summary="Return an evaluation to draft",
    tags=["evaluations"],
    responses=TRANSITION_ERRORS,
)
async def return_evaluation_to_draft(
    _writer: Writer, id: uuid.UUID, session: Session, request: Request, response: Response
) -> EvaluationRead:
    """Send an evaluation in review back to `draft`."""
    row = await _locked(session, id, exclusive=True)
    _check_if_match(request, row)
    read = await service.return_to_draft(session, row)
    set_etag(response, row.id, row.version)
    return read


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
    """Publish an evaluation in review whose every commitment is rated and agreed.

    Records who published it and when, sets `published_on` (today unless given or already set),
    makes it and its ratings public, and freezes them: any later change is 409.
    """
    row = await _locked(session, id, exclusive=True)
    _check_if_match(request, row)
    read = await service.publish(session, row, body or EvaluationPublish(), publisher)
    set_etag(response, row.id, row.version)
    return read


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
    """Withdraw an evaluation, giving the reason; a published one stays readable, marked so."""
    row = await _locked(session, id, exclusive=True)
    _check_if_match(request, row)
    read = await service.withdraw(session, row, body, publisher)
    set_etag(response, row.id, row.version)
    return read


@router.get(
    "/evaluations/{id}/summary",
    operation_id="get_evaluation_summary",
    summary="Summarise an evaluation",
    tags=["evaluations"],
    responses=problem_responses(401, 404),
)
async def get_evaluation_summary(
    id: uuid.UUID, session: ReadSession, principal: Reader
) -> EvaluationSummary:
    """Every commitment's rating, rolled up by the evaluation's rule to policy areas and overall."""
    row = await service.visible_evaluation(session, id, principal)
    return await service.summary(session, row)


# --- ratings -----------------------------------------------------------------------------------


@router.get(
    "/evaluations/{id}/ratings",
    operation_id="list_ratings",
    summary="List an evaluation's ratings",
    tags=["ratings"],
    responses=problem_responses(401, 404, 422),
)
async def list_ratings(
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    principal: Reader,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[RatingRead]:
    """The ratings given so far, in the evaluation's order of commitments."""
    evaluation = await service.visible_evaluation(session, id, principal)
    rows, token = await repository.list_ratings(session, id, page, commitment_id=commitment_id)
    return Page(items=await service.read_ratings(session, evaluation, rows), next_page_token=token)


@router.get(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="get_rating",
    summary="Get a commitment's rating",
    tags=["ratings"],
    responses=problem_responses(401, 404),
)
async def get_rating(
    id: uuid.UUID,
    commitment_id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
) -> RatingRead:
    """The rating of one commitment in an evaluation, with its overall and how it was reached."""
    evaluation = await service.visible_evaluation(session, id, principal)
    await service.ensure_in_scope(session, evaluation, commitment_id)
    row = await _rating_or_404(session, id, commitment_id)
    set_etag(response, row.id, row.version)
    return (await service.read_ratings(session, evaluation, [row]))[0]


async def _rating_or_404(session: Session, id: uuid.UUID, commitment_id: uuid.UUID) -> Rating:
    row = await repository.get_rating(session, id, commitment_id)
    if row is None:
        raise ProblemError(
            404,
            "Not found",
            f"Commitment {commitment_id} has not been rated in evaluation {id} yet.",
            type_="/problems/not-found",
        )
    return row


@router.put(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="put_rating",
    summary="Rate a commitment",
    tags=["ratings"],
    responses={
        201: {"model": RatingRead, "description": "The rating was created."},
        **PUT_ERRORS,
    },
)
async def put_rating(
    writer: Writer,
    id: uuid.UUID,
    commitment_id: uuid.UUID,
    body: RatingPut,
    session: Session,
    request: Request,
    response: Response,
) -> RatingRead:
    """Create (201) or replace (200, needs `If-Match` unless nothing changes) a rating.

    A draft may leave dimensions unrated; `"status": "agreed"` needs them all. Safe to retry: a
    repeated PUT finds the rating as it asks and answers 200 with it, so no `Idempotency-Key` is
    needed (one sent is ignored). Evaluations that are published or withdrawn answer 409.
    """
    evaluation = await _locked(session, id, exclusive=False)
    service.ensure_editable(evaluation)
    await service.ensure_in_scope(session, evaluation, commitment_id)
    existing = await repository.get_rating(session, id, commitment_id)
    sent_if_match = bool(request.headers.get("if-match"))
    if existing is not None and sent_if_match:
        require_if_match(request, existing.id, existing.version)
    elif existing is None and sent_if_match:
        # RFC 9110: If-Match fails when there is no current representation to match.
        raise ProblemError(
            412,
            "Precondition Failed",
            f"If-Match was sent but commitment {commitment_id} has no rating in this evaluation.",
            type_="/problems/stale-etag",
        )
    try:
        read = await service.write_rating(
            session,
            evaluation,
            commitment_id,
            service.content_from_put(body),
            body.status,
            existing,
            writer,
            # Without If-Match only a PUT that changes nothing (a retry) goes through.
            precondition=None if sent_if_match else _needs_if_match(request),
        )
    except IntegrityError:
        # Two first ratings raced; the other one won. Nothing of ours was kept.
        raise conflict(
            f"A rating of commitment {commitment_id} was created concurrently; "
            "fetch it and replace it with If-Match."
        ) from None
    if existing is None:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = str(
            request.url_for("get_rating", id=id, commitment_id=commitment_id).path
        )
    set_etag(response, read.id, existing.version if existing else 1)
    return read


@router.patch(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="update_rating",
    summary="Update or agree a rating",
    tags=["ratings"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_rating(
    writer: Writer,
    id: uuid.UUID,
    commitment_id: uuid.UUID,
    body: RatingUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> RatingRead:
    """Change a rating with a JSON merge patch (If-Match); `{"status": "agreed"}` agrees it."""
    evaluation = await _locked(session, id, exclusive=False)
    service.ensure_editable(evaluation)
    await service.ensure_in_scope(session, evaluation, commitment_id)
    row = await _rating_or_404(session, id, commitment_id)
    require_if_match(request, row.id, row.version)
    read = await service.write_rating(
        session,
        evaluation,
        commitment_id,
        service.content_from_patch(row, body),
        body.status,
        row,
        writer,
    )
    set_etag(response, row.id, row.version)
    return read


# --- history -----------------------------------------------------------------------------------


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
    items, token = await service.history(session, commitment_id, principal, page)
    return Page(items=items, next_page_token=token)


# --- responses ---------------------------------------------------------------------------------


@router.post(
    "/evaluations/{id}/responses",
    operation_id="create_response",
    summary="Record a response",
    tags=["responses"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_response(
    respondent: Respondent,
    id: uuid.UUID,
    body: EvaluationResponseCreate,
    session: Session,
    request: Request,
    response: Response,
) -> EvaluationResponseRead:
    """Record a response (accepts, partially accepts, disputes) to a published evaluation, or
    to one of its ratings with `commitment_id`; 409 if the evaluation is not published."""
    evaluation = await session.get(Evaluation, id)
    if evaluation is None:
        raise not_found("evaluation", id)
    read = await service.create_response(session, evaluation, body, respondent)
    response.headers["Location"] = str(
        request.url_for("get_response", id=id, response_id=read.id).path
    )
    set_etag(response, read.id, 1)
    return read


@router.get(
    "/evaluations/{id}/responses",
    operation_id="list_responses",
    summary="List responses to an evaluation",
    tags=["responses"],
    responses=problem_responses(401, 404, 422),
)
async def list_responses(
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    principal: Reader,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    position: Annotated[list[ResponsePosition], Query()] = [],  # noqa: B006
) -> Page[EvaluationResponseRead]:
    """Responses to an evaluation, oldest first; filter by `commitment_id` or `position`."""
    await service.visible_evaluation(session, id, principal)
    rows, token = await repository.list_responses(
        session, id, page, commitment_id=commitment_id, position=position
    )
    return Page(items=[service.response_read(r) for r in rows], next_page_token=token)


@router.get(
    "/evaluations/{id}/responses/{response_id}",
    operation_id="get_response",
    summary="Get a response",
    tags=["responses"],
    responses=problem_responses(401, 404),
)
async def get_response(
    id: uuid.UUID,
    response_id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
) -> EvaluationResponseRead:
    """One response to an evaluation."""
    await service.visible_evaluation(session, id, principal)
    row = await session.get(EvaluationResponse, response_id)
    if row is None or row.evaluation_id != id:
        raise not_found("response", response_id)
    response.headers["ETag"] = etag_for(row.id, 1)
    return service.response_read(row)

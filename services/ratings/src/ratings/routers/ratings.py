"""Routes that read and write an evaluation's ratings, and its summary (the roll-up of them).

Concurrency. `PATCH` and `PUT` on an existing rating need `If-Match` (428 without, 412 when
stale). A `PUT` that would change nothing is answered 200 without it: nothing can be lost, and
that is what makes a retried `PUT` safe.

Idempotency. `PUT /v1/evaluations/{id}/ratings/{commitment_id}` addresses the one rating of a
commitment by its natural key, so a retried first `PUT` cannot create a second rating: it finds
the rating already in the state it asks for and gets 200 with the same body and ETag, and a retry
that would change someone else's newer edit gets 428/412 instead of overwriting it. That gives
everything `Idempotency-Key` gives a `POST` (no duplicate, no silent different-body replay), so the
header is not needed and is ignored here (DESIGN.md lists rating drafts among the retried creates;
this is why they need no key).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import corrections, ratings, repository, summary
from ratings.dependencies import Reader, Writer
from ratings.evaluations import locked_evaluation
from ratings.lifecycle import ensure_editable
from ratings.models import Evaluation, Rating
from ratings.panel import CHAIR, DRAFTERS, require_role
from ratings.routers.common import PATCH_ERRORS, VersionQuery
from ratings.schemas import (
    EditableRatingStatus,
    EvaluationSummary,
    RatingPut,
    RatingRead,
    RatingStatus,
    RatingUpdate,
)
from ratings.scores import score_view, withheld_problem
from ratings.visibility import visible_evaluation
from servicekit.auth import Principal
from servicekit.dependencies import ReadSession, Session
from servicekit.etag import location_of, require_if_match, set_created, set_etag
from servicekit.mediatypes import MERGE_PATCH_BODY
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, conflict, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

PUT_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428)


def _needs_if_match(request: Request) -> Callable[[Rating], None]:
    def check(row: Rating) -> None:
        require_if_match(request, row.id, row.version)

    return check


async def _check_writer(
    session: AsyncSession, evaluation: Evaluation, writer: Principal, commitment_id: uuid.UUID
) -> None:
    """Only the panel drafts its ratings, and not a member recused from this commitment."""
    await require_role(
        session, evaluation, writer, DRAFTERS, "write its ratings", commitment_id=commitment_id
    )


async def _check_not_withheld(
    session: AsyncSession, evaluation: Evaluation, writer: Principal, commitment_id: uuid.UUID
) -> None:
    """A plain member changes a draft rating only once it may read it (after scoring): a write's
    answer is the whole rating, and a retry-safe PUT tells whether it matched."""
    view = await score_view(session, evaluation, writer, [commitment_id])
    if view.withheld(commitment_id):
        raise withheld_problem(commitment_id)


async def _check_agreement(
    session: AsyncSession,
    evaluation: Evaluation,
    writer: Principal,
    commitment_id: uuid.UUID,
    requested: EditableRatingStatus | None,
    existing: Rating | None,
) -> None:
    """Agreeing a rating, or touching an agreed one (which undoes the agreement), is the chair's."""
    agreed = existing is not None and existing.status == RatingStatus.agreed
    if requested is EditableRatingStatus.agreed or agreed:
        await require_role(
            session, evaluation, writer, CHAIR, "agree ratings", commitment_id=commitment_id
        )


@router.get(
    "/evaluations/{id}/summary",
    operation_id="get_evaluation_summary",
    summary="Summarise an evaluation",
    tags=["evaluations"],
    responses=problem_responses(401, 404),
)
async def get_evaluation_summary(
    id: uuid.UUID, session: ReadSession, principal: Reader, version: VersionQuery = None
) -> EvaluationSummary:
    """Every commitment's rating, rolled up by the evaluation's rule to policy areas and overall
    (`version`: as an earlier published version had them)."""
    row = await visible_evaluation(session, id, principal)
    if version is not None and (old := await corrections.at_version(session, row, version)):
        return corrections.summary_at(old)
    return await summary.summary(session, row, await score_view(session, row, principal))


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
    version: VersionQuery = None,
) -> Page[RatingRead]:
    """The ratings given so far, in the evaluation's order of commitments (`version`: as an
    earlier published version had them, on one page); before publication a plain member's list
    leaves out the commitments it has not scored yet."""
    evaluation = await visible_evaluation(session, id, principal)
    if version is not None and (old := await corrections.at_version(session, evaluation, version)):
        wanted = set(commitment_id)
        items = [r for r in corrections.ratings_at(old) if not wanted or r.commitment_id in wanted]
        return Page(items=items, next_page_token=None)
    rows, token = await repository.list_ratings(session, id, page, commitment_id=commitment_id)
    view = await score_view(session, evaluation, principal, [r.commitment_id for r in rows])
    # A page may come back short: a plain member's unscored commitments are left out.
    rows = [r for r in rows if not view.withheld(r.commitment_id)]
    return Page(
        items=await ratings.read_ratings(session, evaluation, rows, view), next_page_token=token
    )


@router.get(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="get_rating",
    summary="Get a commitment's rating",
    tags=["ratings"],
    responses=problem_responses(401, 403, 404),
)
async def get_rating(
    id: uuid.UUID,
    commitment_id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    response: Response,
) -> RatingRead:
    """The rating of one commitment in an evaluation, with its overall and how it was reached;
    before publication 403 to a plain member who has not scored the commitment yet."""
    evaluation = await visible_evaluation(session, id, principal)
    await ratings.ensure_in_scope(session, evaluation, commitment_id)
    view = await score_view(session, evaluation, principal, [commitment_id])
    # Before the lookup, so a plain member cannot tell even whether a draft exists yet.
    if view.withheld(commitment_id):
        raise withheld_problem(commitment_id)
    row = await ratings.existing_rating(session, id, commitment_id)
    set_etag(response, row.id, row.version)
    return (await ratings.read_ratings(session, evaluation, [row], view))[0]


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
    evaluation = await locked_evaluation(session, id, exclusive=False)
    await _check_writer(session, evaluation, writer, commitment_id)
    ensure_editable(evaluation)
    await ratings.ensure_in_scope(session, evaluation, commitment_id)
    existing = await repository.get_rating(session, id, commitment_id)
    await _check_agreement(session, evaluation, writer, commitment_id, body.status, existing)
    if existing is not None:
        await _check_not_withheld(session, evaluation, writer, commitment_id)
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
        read = await ratings.write_rating(
            session,
            evaluation,
            commitment_id,
            ratings.content_from_put(body),
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
        location = location_of(request, "get_rating", id=id, commitment_id=commitment_id)
        set_created(response, location, read.id)
    else:
        set_etag(response, read.id, existing.version)
    return read


@router.patch(
    "/evaluations/{id}/ratings/{commitment_id}",
    operation_id="update_rating",
    summary="Update or agree a rating",
    tags=["ratings"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH_BODY,
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
    """Change a rating with a JSON merge patch (If-Match); `{"status": "agreed"}` agrees it.

    The panel's members draft; only its chair agrees a rating or changes an agreed one."""
    evaluation = await locked_evaluation(session, id, exclusive=False)
    await _check_writer(session, evaluation, writer, commitment_id)
    ensure_editable(evaluation)
    await ratings.ensure_in_scope(session, evaluation, commitment_id)
    row = await ratings.existing_rating(session, id, commitment_id)
    await _check_agreement(session, evaluation, writer, commitment_id, body.status, row)
    await _check_not_withheld(session, evaluation, writer, commitment_id)
    require_if_match(request, row.id, row.version)
    read = await ratings.write_rating(
        session,
        evaluation,
        commitment_id,
        ratings.content_from_patch(row, body),
        body.status,
        row,
        writer,
    )
    set_etag(response, row.id, row.version)
    return read

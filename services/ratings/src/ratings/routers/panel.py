"""Routes of an evaluation's panel: its members, their declared interests, their individual
scores, and the agreement between them (who may do what: `ratings/panel.py`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import agreement, panel, ratings, repository, scores
from ratings.dependencies import Reader, Writer
from ratings.evaluations import locked_evaluation
from ratings.lifecycle import ensure_editable
from ratings.models import Evaluation, Event, PanelMember
from ratings.schemas import (
    EvaluationAgreement,
    InterestCreate,
    InterestRead,
    PanelMemberCreate,
    PanelMemberRead,
    PanelRole,
    ScorePut,
    ScoreRead,
)
from ratings.visibility import is_public, visible_evaluation
from servicekit.dependencies import CreateOnce, ReadSession, Session
from servicekit.etag import location_of, set_created, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.outbox import record_event
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, conflict, invalid, not_found, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

CREATE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422)


async def _member(
    session: AsyncSession, evaluation: Evaluation, member_id: uuid.UUID
) -> PanelMember:
    row = await repository.get_member(session, evaluation.id, member_id)
    if row is None:
        raise ProblemError(
            404,
            "Not found",
            f"No member {member_id} on the panel of evaluation {evaluation.id}.",
            type_="/problems/not-found",
        )
    return row


@router.post(
    "/evaluations/{id}/panel-members",
    operation_id="add_panel_member",
    summary="Seat a panel member",
    tags=["panel"],
    status_code=status.HTTP_201_CREATED,
    response_model=PanelMemberRead,
    responses={**created_response_doc(), **CREATE_ERRORS},
)
async def add_panel_member(
    writer: Writer, id: uuid.UUID, body: PanelMemberCreate, once: CreateOnce
) -> Response:
    """Seat a person on a draft evaluation's panel (its chair or secretariat; until it has a
    chair, the client that created the evaluation)."""

    async def create(session: AsyncSession) -> PanelMemberRead:
        evaluation = await locked_evaluation(session, id, exclusive=True)
        await panel.require_seater(session, evaluation, writer)
        ensure_editable(evaluation)
        seated = await repository.panels(session, [evaluation.id])
        if len(seated) >= panel.MAX_PANEL:
            raise invalid("body", f"a panel has at most {panel.MAX_PANEL} members", "too_many")
        has_chair = any(m.role == PanelRole.chair for m in seated)
        panel.check_panel([body], has_chair=has_chair, at="body")
        (row,) = panel.seat_members(session, evaluation.id, [body])
        await session.flush()
        read = panel.member_read(row, [])
        record_event(
            session,
            Event,
            "panel_member.seated",
            "panel_member",
            row.id,
            {"evaluation_id": str(evaluation.id), **read.model_dump(mode="json")},
            public=is_public(evaluation),
        )
        return read

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_panel_member",
        location_params={"id": id},
        id_param="member_id",
        etag=False,
    )


@router.get(
    "/evaluations/{id}/panel-members",
    operation_id="list_panel_members",
    summary="List an evaluation's panel",
    tags=["panel"],
    responses=problem_responses(401, 404, 422),
)
async def list_panel_members(
    id: uuid.UUID, session: ReadSession, principal: Reader, page: PageQuery
) -> Page[PanelMemberRead]:
    """The panel's members in the order they were seated, each with their declared interests."""
    evaluation = await visible_evaluation(session, id, principal)
    rows, token = await repository.panel_page(session, evaluation.id, page)
    members = (await panel.panel_reads(session, [evaluation.id], rows))[evaluation.id]
    return Page(items=members, next_page_token=token)


@router.get(
    "/evaluations/{id}/panel-members/{member_id}",
    operation_id="get_panel_member",
    summary="Get a panel member",
    tags=["panel"],
    responses=problem_responses(401, 404),
)
async def get_panel_member(
    id: uuid.UUID, member_id: uuid.UUID, session: ReadSession, principal: Reader
) -> PanelMemberRead:
    """One member of the panel, with their declared interests."""
    evaluation = await visible_evaluation(session, id, principal)
    member = await _member(session, evaluation, member_id)
    found = (await panel.panel_reads(session, [evaluation.id]))[evaluation.id]
    return next(m for m in found if m.id == member.id)


@router.delete(
    "/evaluations/{id}/panel-members/{member_id}",
    operation_id="remove_panel_member",
    summary="Remove a panel member",
    tags=["panel"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def remove_panel_member(
    writer: Writer, id: uuid.UUID, member_id: uuid.UUID, session: Session
) -> Response:
    """Take a person off a draft evaluation's panel, with their declared interests (its chair or
    secretariat); 409 for the chair (a panel keeps its one chair) and for a member who has
    already scored (their scores stay on the record, so they stay on the panel)."""
    evaluation = await locked_evaluation(session, id, exclusive=True)
    await panel.require_seater(session, evaluation, writer)
    ensure_editable(evaluation)
    member = await _member(session, evaluation, member_id)
    if member.role == PanelRole.chair:
        raise ProblemError(
            409,
            "Conflict",
            f"Panel member {member.id} is the panel's only chair, and a panel keeps its chair: "
            "its ratings are agreed and published by the chair alone.",
            type_="/problems/last-chair",
        )
    if await repository.has_scored(session, member.id):
        raise ProblemError(
            409,
            "Conflict",
            f"Panel member {member.id} has already recorded individual scores; they stay on the "
            "record with the agreement measured from them, so the member stays on the panel.",
            type_="/problems/member-has-scored",
        )
    read = (await panel.panel_reads(session, [evaluation.id]))[evaluation.id]
    gone = next(m for m in read if m.id == member.id)
    await repository.remove_member(session, member)
    record_event(
        session,
        Event,
        "panel_member.removed",
        "panel_member",
        member.id,
        {"evaluation_id": str(evaluation.id), **gone.model_dump(mode="json")},
        public=is_public(evaluation),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/evaluations/{id}/panel-members/{member_id}/interests",
    operation_id="declare_interest",
    summary="Declare an interest",
    tags=["panel"],
    status_code=status.HTTP_201_CREATED,
    response_model=InterestRead,
    responses={**created_response_doc(), **CREATE_ERRORS},
)
async def declare_interest(
    writer: Writer, id: uuid.UUID, member_id: uuid.UUID, body: InterestCreate, once: CreateOnce
) -> Response:
    """Record a member's declared interest (by the member's own client, the chair or the
    secretariat); an interest in a commitment recuses the member from scoring or agreeing it."""

    async def create(session: AsyncSession) -> InterestRead:
        evaluation = await locked_evaluation(session, id, exclusive=False)
        seat = await panel.seat_of(session, evaluation, writer)
        member = await repository.get_member(session, evaluation.id, member_id)
        if member is None or member.id not in {m.id for m in seat.members}:
            await panel.require_seater(session, evaluation, writer)
        member = await _member(session, evaluation, member_id)
        ensure_editable(evaluation)
        row = await panel.declare_interest(session, evaluation, member, body)
        read = panel.interest_read(row)
        record_event(
            session,
            Event,
            "interest.declared",
            "interest",
            row.id,
            {"evaluation_id": str(evaluation.id), **read.model_dump(mode="json")},
            public=is_public(evaluation),
        )
        return read

    return await once(
        body,
        client_id=writer.client_id,
        create_read=create,
        location_route="get_panel_member",
        location_params={"id": id},
        id_param="member_id",
        etag=False,
    )


@router.put(
    "/evaluations/{id}/panel-members/{member_id}/scores/{commitment_id}",
    operation_id="put_score",
    summary="Record a member's own score",
    tags=["panel"],
    responses={
        201: {"model": ScoreRead, "description": "The score was recorded."},
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def put_score(
    writer: Writer,
    id: uuid.UUID,
    member_id: uuid.UUID,
    commitment_id: uuid.UUID,
    body: ScorePut,
    session: Session,
    request: Request,
    response: Response,
) -> ScoreRead:
    """Record (201) or replace (200) one member's own levels for a commitment, by the client that
    acts for them; 409 if they declared an interest in it or the panel already agreed it."""
    evaluation = await locked_evaluation(session, id, exclusive=False)
    await panel.require_role(session, evaluation, writer, panel.SCORERS, "score commitments")
    member = await _member(session, evaluation, member_id)
    await ratings.ensure_in_scope(session, evaluation, commitment_id)
    await scores.check_scorer(session, member, commitment_id, writer)
    try:
        read, row, created = await scores.put_score(
            session, evaluation, member, commitment_id, body
        )
    except IntegrityError:
        raise conflict("The same score was recorded concurrently; send it again.") from None
    if created:
        response.status_code = status.HTTP_201_CREATED
        location = location_of(request, "list_scores", id=id)
        set_created(response, f"{location}?commitment_id={commitment_id}", row.id)
    else:
        set_etag(response, row.id, row.version)
    return read


@router.get(
    "/evaluations/{id}/scores",
    operation_id="list_scores",
    summary="List individual scores",
    tags=["panel"],
    responses=problem_responses(401, 404, 422),
)
async def list_scores(
    id: uuid.UUID,
    session: ReadSession,
    principal: Reader,
    page: PageQuery,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
) -> Page[ScoreRead]:
    """Members' individual scores: everyone's once published; before that a member sees the
    others' scores of a commitment only after scoring it (the chair sees all)."""
    evaluation = await visible_evaluation(session, id, principal)
    wanted = commitment_id or None
    view = await scores.score_view(session, evaluation, principal, wanted)
    rows, token = await repository.scores_page(
        session, evaluation.id, page, commitment_ids=wanted, visible=view.visible_condition()
    )
    return Page(items=[scores.score_read(s) for s in rows], next_page_token=token)


@router.get(
    "/evaluations/{id}/agreement",
    operation_id="get_evaluation_agreement",
    summary="Agreement between panel members",
    tags=["panel"],
    responses=problem_responses(401, 403, 404),
)
async def get_evaluation_agreement(
    id: uuid.UUID, session: ReadSession, principal: Reader
) -> EvaluationAgreement:
    """Krippendorff's alpha (ordinal) and exact agreement of the individual scores, per
    evaluation and per dimension; before publication, the chair's only (scores are blind)."""
    evaluation = await visible_evaluation(session, id, principal)
    view = await scores.score_view(session, evaluation, principal)
    if not view.sees_all:
        if principal is None:
            raise not_found("evaluation", id)
        raise ProblemError(
            403,
            "Forbidden",
            "Before publication only the panel's chair sees agreement: the scores behind it are "
            "blind until each member has scored.",
            type_="/problems/panel-role",
        )
    return agreement.agreement(evaluation, view.scores)

"""Responses: a body's published response to an evaluation or to one of its ratings."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.models import Evaluation, EvaluationResponse, Event
from ratings.schemas import (
    ActingClient,
    EvaluationResponseCreate,
    EvaluationResponseRead,
    EvaluationStatus,
    ResponsePosition,
)
from servicekit.auth import Principal
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, not_found, validation_problem


def response_read(row: EvaluationResponse) -> EvaluationResponseRead:
    """The public representation of a response."""
    return EvaluationResponseRead(
        id=row.id,
        evaluation_id=row.evaluation_id,
        commitment_id=row.commitment_id,
        respondent=row.respondent,
        position=ResponsePosition(row.position),
        text=row.text,
        received_on=row.received_on,
        recorded_by=ActingClient(
            client_id=row.recorded_by_client_id, organisation=row.recorded_by_organisation
        ),
        created_at=row.created_at,
    )


async def get_response(
    session: AsyncSession, evaluation_id: uuid.UUID, response_id: uuid.UUID
) -> EvaluationResponse:
    """One response to this evaluation; 404 if absent or a response to another one."""
    row = await session.get(EvaluationResponse, response_id)
    if row is None or row.evaluation_id != evaluation_id:
        raise not_found("response", response_id)
    return row


async def create_response(
    session: AsyncSession,
    evaluation: Evaluation,
    body: EvaluationResponseCreate,
    principal: Principal,
) -> EvaluationResponseRead:
    """Record a response to a published evaluation or to one of its ratings."""
    if evaluation.status != EvaluationStatus.published:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; only a published evaluation "
            "can be responded to.",
            type_="/problems/not-published",
        )
    errors: list[FieldError] = []
    if body.commitment_id is not None and not await repository.in_scope(
        session, evaluation.id, body.commitment_id
    ):
        errors.append(
            FieldError(
                pointer="body.commitment_id",
                detail=f"commitment {body.commitment_id} is not rated in evaluation "
                f"{evaluation.id}",
                code="not_in_scope",
            )
        )
    respondent = body.respondent or principal.organisation
    if not respondent:
        errors.append(
            FieldError(
                pointer="body.respondent",
                detail="required: your token names no organisation to respond for",
                code="missing",
            )
        )
    if errors:
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)
    row = EvaluationResponse(
        evaluation_id=evaluation.id,
        commitment_id=body.commitment_id,
        respondent=respondent,
        position=body.position.value,
        text=body.text,
        received_on=body.received_on,
        recorded_by_client_id=principal.client_id,
        recorded_by_organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    read = response_read(row)
    record_event(
        session, Event, "response.created", "response", row.id, read.model_dump(mode="json")
    )
    return read

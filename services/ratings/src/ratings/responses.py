"""Responses: a body's response to a published evaluation, to one rating, or commitment by
commitment; and when a response falls due (derived from the publication date, never stored)."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.models import (
    Evaluation,
    EvaluationResponse,
    Event,
    ResponseItem,
    ResponseOverdueNotice,
)
from ratings.schemas import (
    ActingClient,
    CommitmentPosition,
    EvaluationResponseCreate,
    EvaluationResponseRead,
    EvaluationStatus,
    ResponseDeadlineRead,
    ResponseItemRead,
    ResponsePosition,
)
from servicekit.auth import Principal
from servicekit.outbox import record_event
from servicekit.pagination import PageParams
from servicekit.problems import FieldError, ProblemError, not_found, validation_problem


def add_months(day: date, months: int) -> date:
    """`day` moved on by calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def published_before(due_before: date, months: int) -> date:
    """The earliest publication date whose response falls due on or after `due_before`.

    `add_months` never decreases, so "due before D" is exactly "published before this date":
    the due-date filter becomes a range on the stored publication date.
    """
    day = add_months(due_before, -months) - timedelta(days=4)
    while add_months(day, months) < due_before:
        day += timedelta(days=1)
    return day


def response_read(row: EvaluationResponse, items: list[ResponseItem]) -> EvaluationResponseRead:
    """The public representation of a response."""
    return EvaluationResponseRead(
        id=row.id,
        evaluation_id=row.evaluation_id,
        commitment_id=row.commitment_id,
        respondent=row.respondent,
        position=ResponsePosition(row.position) if row.position else None,
        text=row.text,
        received_on=row.received_on,
        items=[
            ResponseItemRead(
                commitment_id=i.commitment_id, position=CommitmentPosition(i.position), text=i.text
            )
            for i in items
        ],
        recorded_by=ActingClient(
            client_id=row.recorded_by_client_id, organisation=row.recorded_by_organisation
        ),
        on_behalf_of=row.respondent != row.recorded_by_organisation,
        created_at=row.created_at,
    )


async def reads(
    session: AsyncSession, rows: list[EvaluationResponse]
) -> list[EvaluationResponseRead]:
    """Responses with their items, read in one query."""
    items = await repository.items_of(session, [r.id for r in rows])
    return [response_read(r, items[r.id]) for r in rows]


async def get_response(
    session: AsyncSession, evaluation_id: uuid.UUID, response_id: uuid.UUID
) -> EvaluationResponse:
    """One response to this evaluation; 404 if absent or a response to another one."""
    row = await session.get(EvaluationResponse, response_id)
    if row is None or row.evaluation_id != evaluation_id:
        raise not_found("response", response_id)
    return row


def respondent_of(body: EvaluationResponseCreate, principal: Principal) -> str:
    """Who the response is from: the caller's organisation; another one only for an admin."""
    own = principal.organisation
    if body.respondent is None or body.respondent == own:
        if not own:
            raise validation_problem(
                [
                    FieldError(
                        pointer="body.respondent",
                        detail="your token names no organisation to respond for",
                        code="missing",
                    )
                ]
            )
        return own
    if not principal.has("admin"):
        raise ProblemError(
            403,
            "Forbidden",
            f"A response is from the organisation that signs in ({own!r}); only an "
            f"administrator may record one on behalf of {body.respondent!r}.",
            type_="/problems/not-your-organisation",
        )
    return body.respondent


async def _scope_errors(
    session: AsyncSession, evaluation: Evaluation, body: EvaluationResponseCreate
) -> list[FieldError]:
    errors: list[FieldError] = []
    wanted = [("body.commitment_id", body.commitment_id)] if body.commitment_id else []
    wanted += [(f"body.items.{n}.commitment_id", i.commitment_id) for n, i in enumerate(body.items)]
    seen: set[uuid.UUID] = set()
    for pointer, cid in wanted:
        if pointer.startswith("body.items") and cid in seen:
            errors.append(
                FieldError(
                    pointer=pointer, detail=f"commitment {cid} is addressed twice", code="duplicate"
                )
            )
        seen.add(cid)
        if not await repository.in_scope(session, evaluation.id, cid):
            errors.append(
                FieldError(
                    pointer=pointer,
                    detail=f"commitment {cid} is not rated in evaluation {evaluation.id}",
                    code="not_in_scope",
                )
            )
    if body.position is None and not body.items:
        errors.append(
            FieldError(
                pointer="body.position",
                detail="give a position on the evaluation, or items addressing its commitments",
                code="missing",
            )
        )
    return errors


async def create_response(
    session: AsyncSession,
    evaluation: Evaluation,
    body: EvaluationResponseCreate,
    principal: Principal,
) -> EvaluationResponseRead:
    """Record a response to a published evaluation, to one of its ratings, or item by item."""
    if evaluation.status != EvaluationStatus.published:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; only a published evaluation "
            "can be responded to.",
            type_="/problems/not-published",
        )
    respondent = respondent_of(body, principal)
    errors = await _scope_errors(session, evaluation, body)
    if errors:
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)
    row = EvaluationResponse(
        evaluation_id=evaluation.id,
        commitment_id=body.commitment_id,
        respondent=respondent,
        position=body.position.value if body.position else None,
        text=body.text,
        received_on=body.received_on,
        recorded_by_client_id=principal.client_id,
        recorded_by_organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    items = [
        ResponseItem(
            response_id=row.id,
            commitment_id=i.commitment_id,
            ordinal=n,
            position=i.position.value,
            text=i.text,
        )
        for n, i in enumerate(body.items)
    ]
    session.add_all(items)
    await session.flush()
    read = response_read(row, items)
    record_event(
        session, Event, "response.created", "response", row.id, read.model_dump(mode="json")
    )
    return read


# --- deadlines ---------------------------------------------------------------------------------


async def deadlines(
    session: AsyncSession, rows: list[Evaluation], months: int, today: date
) -> list[ResponseDeadlineRead]:
    """Each published evaluation's response deadline, judged on `today`."""
    facts = await repository.response_facts(session, [e.id for e in rows])
    found = []
    for e in rows:
        assert e.published_on is not None
        first, count, in_scope, addressed = facts[e.id]
        due = add_months(e.published_on, months)
        found.append(
            ResponseDeadlineRead(
                evaluation_id=e.id,
                title=e.title,
                published_on=e.published_on,
                due_on=due,
                responded_on=first,
                response_count=count,
                overdue=first is None and due < today,
                commitments_in_scope=in_scope,
                commitments_addressed=addressed,
            )
        )
    return found


async def list_deadlines(
    session: AsyncSession,
    page: PageParams,
    *,
    months: int,
    today: date,
    evaluation_id: list[uuid.UUID],
    overdue: bool | None,
    response_due_before: date | None,
) -> tuple[list[ResponseDeadlineRead], str | None]:
    """A page of response deadlines; `overdue` and `response_due_before` filter in SQL."""
    rows, token = await repository.list_deadlines(
        session,
        page,
        evaluation_id=evaluation_id,
        published_before=(
            published_before(response_due_before, months) if response_due_before else None
        ),
        overdue_before=published_before(today, months),
        overdue=overdue,
    )
    return await deadlines(session, rows, months, today), token


async def sweep_overdue(session: AsyncSession, months: int, today: date) -> int:
    """Emit `response.overdue` for each evaluation whose response has gone overdue, once."""
    emitted = 0
    token: str | None = None
    while True:
        page, token = await list_deadlines(
            session,
            PageParams(page_size=200, page_token=token),
            months=months,
            today=today,
            evaluation_id=[],
            overdue=True,
            response_due_before=None,
        )
        done = await repository.notified_overdue(session, [d.evaluation_id for d in page])
        for d in page:
            if d.evaluation_id in done:
                continue
            session.add(ResponseOverdueNotice(evaluation_id=d.evaluation_id, due_on=d.due_on))
            payload = {"id": str(d.evaluation_id), **d.model_dump(mode="json")}
            record_event(session, Event, "response.overdue", "response", d.evaluation_id, payload)
            emitted += 1
        if token is None:
            return emitted

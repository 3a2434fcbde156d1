"""The factual-accuracy check before publication (CQC's practice).

The chair sends an evaluation in review to the rated body's client for a window of working days
(Monday to Friday, leaving out England and Wales bank holidays, from the `holidays` package).
That client comments on individual draft ratings while the window is open; the panel (its
chair) decides each comment, always with a reason: `accepted` (the point is taken, the rating
stands or was already right), `rating_changed` (the rating was changed after the comment, which
the service checks), or `declined`. Publication is refused while any comment is undecided, or
while the window is still open unless the chair gives a reason to waive it. Comments and
decisions are published with the ratings.
"""

from __future__ import annotations

import datetime as dt

import holidays
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.lifecycle import ensure_editable
from ratings.models import Evaluation, Event, FactualAccuracyComment, Rating
from ratings.schemas import (
    EvaluationStatus,
    FactualAccuracyCheckCreate,
    FactualAccuracyCommentCreate,
    FactualAccuracyCommentRead,
    FactualAccuracyDecision,
    FactualAccuracyDecisionCreate,
)
from ratings.visibility import is_public
from servicekit.auth import Principal
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, conflict

# England and Wales keep one list of bank holidays (GOV.UK's "england-and-wales"); the package
# fills in each year (substitute days included) the first time a date in it is looked up.
BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not an England and Wales bank holiday."""
    return day.weekday() < 5 and day not in BANK_HOLIDAYS


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start`."""
    day = start
    while days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def today() -> dt.date:
    """Today in UTC, the service's calendar."""
    return utcnow().astimezone(dt.UTC).date()


def window_open(evaluation: Evaluation, on: dt.date | None = None) -> bool:
    """Whether the rated body may still comment (to the end of the window's last day)."""
    closes = evaluation.fa_closes_on
    return closes is not None and (on or today()) <= closes


def send(evaluation: Evaluation, body: FactualAccuracyCheckCreate, default_days: int) -> None:
    """Open the window for the rated body (in review only; once per evaluation)."""
    if evaluation.status != EvaluationStatus.in_review:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; the factual-accuracy check is "
            "sent while it is in review.",
            type_="/problems/invalid-transition",
        )
    if evaluation.fa_sent_at is not None:
        raise conflict(
            f"Evaluation {evaluation.id} was already sent to {evaluation.fa_organisation} for a "
            "factual-accuracy check."
        )
    evaluation.fa_client_id = body.client_id
    evaluation.fa_organisation = body.organisation
    evaluation.fa_sent_at = utcnow()
    evaluation.fa_closes_on = add_working_days(today(), body.working_days or default_days)


def comment_read(row: FactualAccuracyComment) -> FactualAccuracyCommentRead:
    """A comment as read."""
    return FactualAccuracyCommentRead.model_validate(row)


def _emit(session: AsyncSession, type_: str, row: FactualAccuracyComment, ev: Evaluation) -> None:
    payload = comment_read(row).model_dump(mode="json")
    record_event(
        session, Event, type_, "factual_accuracy_comment", row.id, payload, public=is_public(ev)
    )


async def comment(
    session: AsyncSession,
    evaluation: Evaluation,
    body: FactualAccuracyCommentCreate,
    principal: Principal,
) -> FactualAccuracyCommentRead:
    """Record the rated body's comment on a draft rating while its window is open."""
    if evaluation.fa_client_id != principal.client_id:
        raise ProblemError(
            403,
            "Forbidden",
            f"Only the client evaluation {evaluation.id} was sent to for its factual-accuracy "
            "check may comment on it.",
            type_="/problems/not-the-rated-body",
        )
    ensure_editable(evaluation)
    if not window_open(evaluation):
        raise conflict(
            f"The factual-accuracy window of evaluation {evaluation.id} closed on "
            f"{evaluation.fa_closes_on}."
        )
    if await repository.get_rating(session, evaluation.id, body.commitment_id) is None:
        raise ProblemError(
            422,
            "Unprocessable Content",
            f"Commitment {body.commitment_id} has no rating in this evaluation to comment on.",
            type_="/problems/validation",
            errors=[
                FieldError(
                    pointer="body.commitment_id",
                    detail="no rating of this commitment",
                    code="unrated",
                )
            ],
        )
    row = FactualAccuracyComment(
        evaluation_id=evaluation.id,
        commitment_id=body.commitment_id,
        text=body.text,
        submitted_by_client_id=principal.client_id,
        organisation=principal.organisation,
    )
    session.add(row)
    await session.flush()
    _emit(session, "factual_accuracy_comment.submitted", row, evaluation)
    return comment_read(row)


async def decide(
    session: AsyncSession,
    evaluation: Evaluation,
    row: FactualAccuracyComment,
    body: FactualAccuracyDecisionCreate,
    principal: Principal,
) -> FactualAccuracyCommentRead:
    """Record the panel's decision on a comment; `rating_changed` needs the rating changed since."""
    ensure_editable(evaluation)
    if row.decision is not None:
        raise conflict(f"Comment {row.id} was already decided ({row.decision}).")
    if body.decision is FactualAccuracyDecision.rating_changed:
        rating: Rating | None = await repository.get_rating(
            session, evaluation.id, row.commitment_id
        )
        if rating is None or rating.updated_at <= row.created_at:
            raise conflict(
                f"The rating of commitment {row.commitment_id} has not changed since comment "
                f"{row.id}; change it first, or decide `accepted` or `declined`."
            )
    row.decision = body.decision.value
    row.decision_reason = body.reason
    row.decided_at = utcnow()
    row.decided_by_client_id = principal.client_id
    await session.flush()
    _emit(session, "factual_accuracy_comment.decided", row, evaluation)
    return comment_read(row)


async def blockers(
    session: AsyncSession, evaluation: Evaluation, waiver: str | None
) -> list[FieldError]:
    """What stops publication in the factual-accuracy check: undecided comments, an open window."""
    errors = [
        FieldError(
            pointer=f"factual_accuracy_comments.{c.id}",
            detail=f"the comment on commitment {c.commitment_id} is undecided",
            code="undecided",
        )
        for c in await repository.fa_comments(session, evaluation.id)
        if c.decision is None
    ]
    if window_open(evaluation) and waiver is None:
        errors.append(
            FieldError(
                pointer="body.waive_factual_accuracy_window",
                detail=f"the factual-accuracy window is open until {evaluation.fa_closes_on}; "
                "wait, or waive it with a reason",
                code="window_open",
            )
        )
    return errors

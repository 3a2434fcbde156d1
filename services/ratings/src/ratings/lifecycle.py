"""Evaluation and rating status lifecycles: the one place the transition rules live.

An evaluation (each move is its own `POST` route, see `routers/workflow.py`):

    from \\ to   draft            in_review          published  withdrawn
    draft       -                submit_for_review  no         withdraw
    in_review   return_to_draft  -                  publish    withdraw
    published   no               no                 -          withdraw
    withdrawn   no               no                 no         -

    withdraw    needs a `reason`; a published evaluation stays readable, marked withdrawn
    publish     needs every commitment in scope rated and agreed, every citation still citable
    no          refused (409 /problems/invalid-transition); withdrawn is final: to revise a
                published evaluation, start a re-evaluation of it (`previous_evaluation_id`)

A rating (its `status` field, set by `PUT` or `PATCH` with `ratings:write`):

    from \\ to   draft    agreed   published
    (none)      write    agree    no
    draft       -        agree    P
    agreed      E        -        P
    published   no       no       -

    agree       needs a level for every dimension
    E           any change to an agreed rating's content returns it to draft, unless the same
                request agrees it again (or asks for `draft` outright)
    P           only by publishing its evaluation, which publishes every rating at once

A rating changes only while its evaluation is a draft or in review (`ensure_editable`); from
publication on, the evaluation, its scope and its ratings are frozen and any change is 409.
"""

from __future__ import annotations

from dataclasses import dataclass

from ratings.models import Evaluation
from ratings.schemas import EditableRatingStatus, EvaluationStatus, RatingStatus
from servicekit.problems import ProblemError, conflict

EDITABLE = frozenset({EvaluationStatus.draft, EvaluationStatus.in_review})


@dataclass(frozen=True)
class Transition:
    """One move of an evaluation's status, with the words its 409 uses."""

    action: str
    sources: frozenset[EvaluationStatus]
    target: EvaluationStatus
    needs: str


SUBMIT_FOR_REVIEW = Transition(
    "submitting for review",
    frozenset({EvaluationStatus.draft}),
    EvaluationStatus.in_review,
    "to be a draft",
)
RETURN_TO_DRAFT = Transition(
    "returning to draft",
    frozenset({EvaluationStatus.in_review}),
    EvaluationStatus.draft,
    "to be in review",
)
PUBLISH = Transition(
    "publishing",
    frozenset({EvaluationStatus.in_review}),
    EvaluationStatus.published,
    "to be in review",
)
WITHDRAW = Transition(
    "withdrawing",
    frozenset(EvaluationStatus) - {EvaluationStatus.withdrawn},
    EvaluationStatus.withdrawn,
    "not to be withdrawn already",
)


def check(evaluation: Evaluation, transition: Transition) -> None:
    """409 (/problems/invalid-transition) unless the evaluation's status allows the move."""
    if evaluation.status not in transition.sources:
        raise ProblemError(
            409,
            "Conflict",
            f"Evaluation {evaluation.id} is {evaluation.status}; {transition.action} needs it "
            f"{transition.needs}.",
            type_="/problems/invalid-transition",
        )


def move(evaluation: Evaluation, transition: Transition) -> None:
    """Check the move, then make it (the caller records the event)."""
    check(evaluation, transition)
    evaluation.status = transition.target.value


def ensure_editable(evaluation: Evaluation) -> None:
    """409 once an evaluation is published or withdrawn: it and its ratings are frozen."""
    if evaluation.status not in EDITABLE:
        raise conflict(
            f"Evaluation {evaluation.id} is {evaluation.status}; it and its ratings can no longer "
            "be changed. Start a re-evaluation (previous_evaluation_id) to revise it."
        )


def rating_status_after(
    current: str | None, requested: EditableRatingStatus | None, *, changed: bool
) -> str:
    """A rating's status after a write: what was asked, else draft if its content changed."""
    if requested is not None:
        return requested.value
    if current is None or changed:
        return RatingStatus.draft.value
    return current
